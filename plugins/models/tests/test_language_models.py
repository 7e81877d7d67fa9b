"""The bundled language models, tokenizer and MiniLM: offline, finite, and as their cards say."""

from __future__ import annotations

import json
import random
import shutil
import time

import pytest
import torch

from playground.models import LanguageModel, ModelRegistry, ModelUnavailable
from plugins.models import language, paths
from plugins.models.heldout import evaluate, heldout_ids

BUNDLED_LMS = {"tiny-llama": paths.DENSE_DIR, "tiny-mixtral": paths.MOE_DIR}


@pytest.fixture(scope="module")
def registry():
    from playground.host import Host, discovered_entry_points

    return Host(ModelRegistry()).load(discovered_entry_points(["models"])).registry


@pytest.fixture(scope="module", params=list(BUNDLED_LMS))
def lm(request, registry) -> tuple[str, LanguageModel]:
    return request.param, registry.get(request.param, "cpu")


def test_bundled_models_load_in_eval_mode_and_give_finite_logits(lm):
    _, (model, tokenizer) = lm
    assert not model.training
    ids = tokenizer("The queen of Paris", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    assert logits.shape == (1, ids.shape[1], tokenizer.vocab_size)
    assert torch.isfinite(logits).all()


def test_attentions_and_router_logits_are_available(lm):
    name, (model, tokenizer) = lm
    ids = tokenizer("A spider has eight legs.", return_tensors="pt")["input_ids"]
    extra = {"output_router_logits": True} if name == "tiny-mixtral" else {}
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True, **extra)
    config = model.config
    assert len(out.attentions) == config.num_hidden_layers
    heads = out.attentions[0][0]  # (H, T, T), causal: nothing above the diagonal
    assert heads.shape == (config.num_attention_heads, ids.shape[1], ids.shape[1])
    assert torch.allclose(heads.sum(-1), torch.ones(()), atol=1e-5)
    assert heads.triu(1).abs().max() == 0
    if name == "tiny-mixtral":
        assert len(out.router_logits) == config.num_hidden_layers
        assert out.router_logits[0].shape == (ids.shape[1], config.num_local_experts)


def test_held_out_perplexity_matches_the_model_card_within_one_percent(lm):
    name, (model, _) = lm
    card = json.loads((BUNDLED_LMS[name] / "eval.json").read_text())
    measured = evaluate(model, heldout_ids())
    assert measured["tokens"] == card["tokens"]
    assert measured["perplexity"] == pytest.approx(card["perplexity"], rel=0.01)
    assert measured["entropy_nats"] == pytest.approx(card["entropy_nats"], rel=0.01)
    assert 1.5 < measured["perplexity"] < 50  # learned something, memorised nothing


def test_the_moe_matches_the_dense_model_in_active_parameters_and_budget(registry):
    dense = registry.get("tiny-llama", "cpu").model
    moe = registry.get("tiny-mixtral", "cpu").model
    d_total, d_active = language.parameter_counts(dense)
    m_total, m_active = language.parameter_counts(moe)
    assert m_total > 2 * d_total
    router = sum(p.numel() for n, p in moe.named_parameters() if n.endswith("mlp.gate.weight"))
    assert m_active - router == d_active
    budgets = [json.loads((d / "training.json").read_text()) for d in BUNDLED_LMS.values()]
    keys = ("steps", "batch", "seq_len", "seed", "tokens_seen")
    dense_budget, moe_budget = ({k: b[k] for k in keys} for b in budgets)
    assert dense_budget == moe_budget


def test_the_tokenizer_round_trips_arbitrary_unicode():
    tokenizer = language.load_tokenizer()
    rng = random.Random(0)
    alphabet = (
        "abc XYZ 123 ,.;!? \n\t café naïve Ωμέγα 漢字 かな 한국어 😀🧠 e\u0301 \u200b \x00\x07"
    )
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        text += "".join(chr(rng.randint(0x20, 0x2FFFF)) for _ in range(5))
        text = text.encode("utf-8", "ignore").decode("utf-8")  # drop lone surrogates
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text
    assert len(tokenizer.tokenize("unbelievably")) > 1  # subword units, not words


def test_minilm_loads_from_its_package_and_embeds(registry):
    model = registry.get("minilm", "cpu")
    vectors = model.encode(["The king spoke.", "A queen ruled."], convert_to_tensor=True)
    assert vectors.shape == (2, 384) and torch.isfinite(vectors).all()


@pytest.mark.parametrize("folder", list(BUNDLED_LMS.values()), ids=list(BUNDLED_LMS))
def test_a_corrupt_weight_file_names_the_file(tmp_path, folder):
    copy = shutil.copytree(folder, tmp_path / folder.name)
    weights = copy / paths.WEIGHTS
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match=f"unreadable: {weights}"):
        language.load_bundled_lm(copy)("cpu")


def test_a_missing_weight_file_names_the_file(tmp_path):
    copy = shutil.copytree(paths.DENSE_DIR, tmp_path / "tiny-llama")
    (copy / paths.WEIGHTS).unlink()
    with pytest.raises(FileNotFoundError, match=str(copy / paths.WEIGHTS)):
        language.load_bundled_lm(copy)("cpu")
    assert str(copy / paths.WEIGHTS) in language.missing_weights(copy)()


def test_hub_models_are_listed_but_unavailable_offline_and_refuse_quickly(registry, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rows = {r["id"]: r for r in registry.listing()}
    for model_id in ("gpt2", "distilgpt2", "smollm2-135m", "tiny-sd"):
        row = rows[model_id]
        assert row["source"] == "hub" and not row["available"]
        assert "HF_HUB_OFFLINE" in row["why_unavailable"]
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="not in the local Hugging Face cache"):
        registry.get("gpt2", "cpu")
    assert time.perf_counter() - started < 5  # a clear answer, not a hang
