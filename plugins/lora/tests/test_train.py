"""The training loop on the bundled model: the loss falls on a preset style, the adapter
round-trips through peft's files, QLoRA trains on either NF4 backend, the CLI saves an adapter."""

from __future__ import annotations

import copy

import pytest
import torch

from plugins.lora import cli, data, lora, train

CFG = train.TrainConfig(steps=30, targets=("q_proj", "v_proj", "up_proj"), batch=4, block=32)


@pytest.fixture(scope="module")
def llama():
    from playground import testing

    return testing.context().models.get("tiny-llama", "cpu")


@pytest.fixture(scope="module")
def windows(llama):
    return train.windows(llama.tokenizer, data.style_text("Weather forecast"), CFG.block)


@pytest.fixture(scope="module")
def trained(llama, windows):
    return list(train.train(llama.model, windows, CFG, report_every=10))


def test_the_loss_falls_on_a_preset_style_and_the_base_is_untouched(llama, trained):
    before = {k: v.clone() for k, v in llama.model.state_dict().items()}
    final = trained[-1]
    assert final.done and final.step == CFG.steps and len(final.losses) == CFG.steps
    assert [p.step for p in trained[:-1]] == [10, 20]
    first, last = sum(final.losses[:5]) / 5, sum(final.losses[-5:]) / 5
    assert last < 0.8 * first, (first, last)
    held_before, held_after = final.held_out
    assert held_after < held_before - 0.5
    assert final.tokens_per_s > 0 and final.memory.trainable == lora.trainable_parameters(
        final.model
    )
    for key, value in llama.model.state_dict().items():  # the shared registry model
        assert torch.equal(value, before[key]), key


def test_the_same_seed_gives_the_same_run(llama, windows, trained):
    again = list(
        train.train(llama.model, windows, train.TrainConfig(**{**CFG.__dict__, "steps": 5}))
    )
    assert again[-1].losses == trained[-1].losses[:5]


def test_the_trained_adapter_round_trips_through_peft(llama, trained, tmp_path):
    from peft import PeftModel

    model = trained[-1].model
    model.save_pretrained(tmp_path)
    ids = torch.randint(4096, (2, 24), generator=torch.Generator().manual_seed(0))
    ours = copy.deepcopy(llama.model)
    lora.load_adapter(ours, tmp_path)
    again = PeftModel.from_pretrained(copy.deepcopy(llama.model), tmp_path).eval()
    with torch.no_grad():
        expected = model.eval()(ids).logits
        torch.testing.assert_close(ours.eval()(ids).logits, expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(again(ids).logits, expected, atol=1e-5, rtol=1e-5)
    tensors = train.adapter_tensors(model)
    assert set(tensors) == set(lora.adapter_state_dict(ours))


def test_sampling_is_seeded_and_the_adapter_changes_the_text(llama, trained):
    prompt = data.PROMPTS["Weather forecast"]
    a = train.sample(llama.model, llama.tokenizer, prompt, seed=3, new_tokens=12)
    assert a == train.sample(llama.model, llama.tokenizer, prompt, seed=3, new_tokens=12)
    assert a != train.sample(trained[-1].model, llama.tokenizer, prompt, seed=3, new_tokens=12)


def test_sampling_runs_on_where_the_model_would_end_the_text(llama):
    # the bundled model ends a story here with <|endoftext|> (p ≈ 0.9996); ours draws on
    prompt = "At last a bear went home with the pinecone and was grateful."
    for seed in range(3):
        text = train.sample(llama.model, llama.tokenizer, prompt, seed, new_tokens=20)
        new = llama.tokenizer(text[len(prompt) :], add_special_tokens=False)["input_ids"]
        assert text.startswith(prompt) and "<|endoftext|>" not in text and len(new) >= 15


QLORA = train.TrainConfig(steps=8, targets=("q_proj", "v_proj"), batch=4, block=32, qlora=True)


@pytest.fixture(scope="module")
def plain_memory(llama, windows):
    """The bytes a plain LoRA run with QLoRA's settings holds: one step measures them."""
    cfg = train.TrainConfig(**{**QLORA.__dict__, "qlora": False, "steps": 1})
    return list(train.train(llama.model, windows, cfg))[-1].memory


@pytest.mark.parametrize("bnb", [True, False])
def test_qlora_trains_on_an_nf4_base(llama, windows, plain_memory, monkeypatch, bnb):
    if not bnb:  # where bitsandbytes is missing: our NF4 under our LoRA
        monkeypatch.setattr(train, "has_bitsandbytes", lambda: False)
    final = list(train.train(llama.model, windows, QLORA, report_every=100))[-1]
    assert final.backend.startswith("bitsandbytes") == bnb
    assert final.held_out[1] < final.held_out[0]
    assert final.memory.weights < 0.6 * plain_memory.weights  # 4.5-bit decoder weights


def _lora_grads(model, ids) -> dict[str, torch.Tensor]:
    model.train()
    model.zero_grad()
    model(input_ids=ids, labels=ids).loss.backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if "lora_" in n}


@pytest.mark.parametrize("avx512bf16", [False, True])
def test_qlora_gradients_through_bitsandbytes_match_the_dequantized_weight(
    llama, windows, monkeypatch, avx512bf16
):
    """The gradients that reach the adapters through bitsandbytes' NF4 base equal those through
    a float copy holding the same dequantized weights, on the same batch. ``avx512bf16`` makes
    bitsandbytes act as on a CPU with that instruction set, where it repacks the weight for a
    kernel without a backward at the first eval-mode forward (train() first takes a held-out
    loss in eval mode)."""
    bnb = pytest.importorskip("bitsandbytes")
    from bitsandbytes.functional import dequantize_4bit

    monkeypatch.setattr(bnb.nn.modules, "has_avx512bf16", lambda: avx512bf16)
    cfg = train.TrainConfig(**{**QLORA.__dict__, "steps": 1})
    quantized, backend = train.lora_model(llama.model, cfg)
    assert backend.startswith("bitsandbytes")
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():  # B = 0 at init would make every gradient of A zero: draw both
        for name, param in quantized.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.05)
    train.mean_loss(quantized, windows[:4])  # the eval-mode forward a run starts with

    reference = copy.deepcopy(llama.model)
    for name, module in quantized.base_model.model.named_modules():
        if isinstance(module, bnb.nn.Linear4bit):
            weight = dequantize_4bit(module.weight.data, module.weight.quant_state)
            plain = name.removesuffix(".base_layer")  # peft wraps the targeted layers
            reference.get_submodule(plain).weight.data.copy_(weight)
    plain_cfg = train.TrainConfig(**{**cfg.__dict__, "qlora": False})
    reference, _ = train.lora_model(reference, plain_cfg)
    adapters = {n: p for n, p in quantized.state_dict().items() if "lora_" in n}
    reference.load_state_dict(adapters, strict=False)  # the same A and B

    ids = windows[:4]
    ours, expected = _lora_grads(quantized, ids), _lora_grads(reference, ids)
    assert ours.keys() == expected.keys() and ours
    for name, grad in expected.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(ours[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_the_cli_trains_and_saves_a_peft_adapter(llama, tmp_path, capsys):
    from playground import testing

    context = testing.context()
    text = tmp_path / "style.txt"
    text.write_text(data.style_text("Recipe steps"))
    code = cli.main(context, ["--steps", "4", "--rank", "2", "--targets", "q_proj",
                              "--batch", "4", "--data", str(text),
                              "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    assert "held-out loss" in capsys.readouterr().out
    config = lora.load_adapter(copy.deepcopy(llama.model), tmp_path / "out")
    assert config["r"] == 2 and config["target_modules"] == ["q_proj"]
    assert cli.main(context, ["--rank", "99", "--data", str(text), "--out", str(tmp_path)]) == 2
    assert "--rank must be 1-64" in capsys.readouterr().err
    # a run cut short by its time limit says so, and still saves what it learned
    code = cli.main(context, ["--steps", "4", "--rank", "2", "--targets", "q_proj",
                              "--batch", "4", "--max-seconds", "1e-9", "--data", str(text),
                              "--out", str(tmp_path / "cut")])  # fmt: skip
    assert code == 0 and (tmp_path / "cut" / "adapter_config.json").is_file()
    assert "stopped at step 1 of 4: the 1e-09 s limit (--max-seconds) was reached" in (
        capsys.readouterr().out
    )
