"""Our decode loops and our Llama forward against transformers on the bundled models:
the same logits, and token for token the same text as `model.generate`."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from playground import testing
from plugins.gpt import decode, llama
from plugins.gpt.sampling import Settings

PROMPTS = ["A spider has", "The capital of France is", "Once upon a time, the king", "The cat"]
EOS = 0  # the bundled tokenizer's <|endoftext|>, both beginning and end of text


@pytest.fixture(scope="module")
def lm():
    return testing.context().models.get("tiny-llama", "cpu")


@pytest.fixture(scope="module")
def moe():
    return testing.context().models.get("tiny-mixtral", "cpu")


def encode(lm, prompt: str) -> torch.Tensor:
    return lm.tokenizer(prompt, return_tensors="pt")["input_ids"]


def generated(lm, ids: torch.Tensor, **kw) -> list[int]:
    """What `generate` adds after the prompt, without the padding after an early end."""
    out = lm.model.generate(ids, pad_token_id=EOS, eos_token_id=EOS, **kw)[0, ids.shape[1] :]
    tokens = out.tolist()
    return tokens[: tokens.index(EOS) + 1] if EOS in tokens else tokens


def random_llama(seed: int, kv_heads: int, bias: bool) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        attention_bias=bias,
        mlp_bias=bias,
        tie_word_embeddings=False,
        rope_parameters={"rope_type": "default", "rope_theta": 500.0},
    )
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # fresh random weights everywhere, norms and biases included
        for p in model.parameters():
            p.normal_(0, 0.3)
    return model


def check_forward(model, ids: torch.Tensor) -> None:
    """Prompt in one go, then one token at a time from the cache: every row matches."""
    with torch.no_grad():
        theirs = model(input_ids=ids).logits.float()
    ours = llama.Llama(model)
    split = ids.shape[1] // 2
    logits, cache = ours.start(ids[:, :split])
    torch.testing.assert_close(logits, theirs[:, split - 1], atol=1e-5, rtol=1e-4)
    for t in range(split, ids.shape[1]):
        logits = ours.extend(ids[:, t : t + 1], cache)
        torch.testing.assert_close(logits, theirs[:, t], atol=1e-5, rtol=1e-4)


def test_our_llama_forward_gives_the_bundled_models_logits(lm):
    gen = torch.Generator().manual_seed(0)
    check_forward(lm.model, torch.randint(4096, (2, 40), generator=gen))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("kv_heads", "bias"), [(4, False), (2, True), (1, False)])
def test_our_llama_forward_matches_random_llamas_with_grouped_queries(seed, kv_heads, bias):
    model = random_llama(seed, kv_heads, bias)
    gen = torch.Generator().manual_seed(seed)
    check_forward(model, torch.randint(300, (3, 150), generator=gen))  # grows the cache twice


def test_only_plain_rope_llamas_take_our_forward(lm, moe):
    assert llama.supports(lm.model) and isinstance(decode.decoder(lm.model), llama.Llama)
    assert not llama.supports(moe.model) and isinstance(decode.decoder(moe.model), decode.Library)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_is_token_for_token_generate(lm, prompt):
    ids = encode(lm, prompt)
    theirs = generated(lm, ids, max_new_tokens=24, do_sample=False)  # up to the end of text
    ours = decode.greedy(lm.model, ids, 24)[0, ids.shape[1] :].tolist()  # never stops early
    assert ours[: len(theirs)] == theirs
    stepped = [s.token for s in decode.steps(lm.model, ids, Settings("greedy"), 24, eos_id=EOS)]
    assert stepped == theirs


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("beams", [2, 4, 8])
def test_beam_search_is_token_for_token_generate(lm, prompt, beams):
    ids = encode(lm, prompt)
    best = decode.beam_search(lm.model, ids, beams, 24, eos_id=EOS)[0]
    assert best.tokens == generated(lm, ids, max_new_tokens=24, num_beams=beams, do_sample=False)


def test_beam_search_finds_what_greedy_misses_and_ranks_its_beams(lm):
    ids = encode(lm, "The capital of France is")
    greedy = decode.greedy(lm.model, ids, 24)[0, ids.shape[1] :].tolist()
    found = decode.beam_search(lm.model, ids, 4, 24, eos_id=EOS)
    assert found[0].tokens != greedy[: len(found[0].tokens)]
    assert [b.score for b in found] == sorted((b.score for b in found), reverse=True)
    # the score is the mean log-probability of the beam's tokens (length penalty 1)
    full = torch.tensor([ids[0].tolist() + found[0].tokens])
    logits = decode.next_token_logits(lm.model, full)[ids.shape[1] - 1 : -1]
    logp = decode.sequence_logprob(logits, found[0].tokens)
    assert found[0].score == pytest.approx(sum(logp) / len(logp), abs=1e-4)


@pytest.mark.parametrize(
    "settings",
    [
        Settings("sample", temperature=1.0),
        Settings("sample", temperature=0.8, top_k=40),
        Settings("sample", temperature=1.3, top_p=0.9),
        Settings("sample", temperature=0.7, top_k=100, top_p=0.95, min_p=0.05),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_seeded_sampling_is_token_for_token_generate(lm, settings, seed):
    ids = encode(lm, "Once upon a time, the queen")
    torch.manual_seed(seed)
    ours = [s.token for s in decode.steps(lm.model, ids, settings, 32, eos_id=EOS)]
    torch.manual_seed(seed)
    theirs = generated(
        lm,
        ids,
        max_new_tokens=32,
        do_sample=True,
        temperature=settings.temperature,
        top_k=settings.top_k or None,
        top_p=settings.top_p,
        min_p=settings.min_p or None,
    )
    assert ours == theirs


def test_the_cache_changes_the_speed_not_the_tokens(lm):
    ids = encode(lm, "Once upon a time, the king")
    s = Settings("sample", temperature=0.9, top_p=0.95)
    runs = [
        [
            (step.token, step.rank)
            for step in decode.steps(
                lm.model, ids, s, 24, torch.Generator().manual_seed(5), use_cache=cached
            )
        ]
        for cached in (True, False)
    ]
    assert runs[0] == runs[1]


def test_steps_report_what_the_model_saw(lm):
    ids = encode(lm, "The cat")
    s = Settings("sample", temperature=1.0, top_k=5)
    for step in decode.steps(lm.model, ids, s, 8, torch.Generator().manual_seed(0)):
        kept = step.logits.topk(5).values
        p = (kept - step.logits[step.token]).exp().sum() ** -1  # softmax over the top 5
        assert step.prob == pytest.approx(p.item(), rel=1e-5)
        assert 1 <= step.rank <= 5 and step.rank == decode.rank_of(step.logits, step.token)


def test_the_library_path_decodes_the_moe_like_generate(moe):
    ids = encode(moe, "Once upon a time, the queen")
    ours = decode.greedy(moe.model, ids, 16)[0, ids.shape[1] :].tolist()
    assert ours == generated(moe, ids, max_new_tokens=16, min_new_tokens=16, do_sample=False)
    best = decode.beam_search(moe.model, ids, 3, 16, eos_id=EOS)[0]
    assert best.tokens == generated(moe, ids, max_new_tokens=16, num_beams=3, do_sample=False)


def test_step_times_time_each_token(lm):
    ids = encode(lm, "The cat")
    for cached in (True, False):
        times = decode.step_times(lm.model, ids, 6, use_cache=cached)
        assert len(times) == 6 and all(t > 0 for t in times)
