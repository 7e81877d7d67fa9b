"""Our logits processors keep exactly the tokens transformers' warpers keep, on fresh seeded
random logits, and the sampling helpers count and measure what they say."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    LogitsProcessorList,
    MinPLogitsWarper,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)

from plugins.gpt import sampling
from plugins.gpt.sampling import Settings

VOCABS = (50_257, 4_096)  # GPT-2's vocabulary and the bundled models'
SEEDS = range(4)


def random_logits(seed: int, vocab: int, batch: int = 4, scale: float = 3.0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, vocab, generator=gen) * scale


def same(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    """Same kept set, and the kept logits bit for bit (removed ones are −inf in both)."""
    assert torch.equal(torch.isfinite(ours), torch.isfinite(theirs))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("vocab", VOCABS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 5, 50, 1000])
def test_top_k_keeps_what_transformers_keeps(vocab, seed, k):
    x = random_logits(seed, vocab)
    same(sampling.top_k_filter(x, k), TopKLogitsWarper(k)(None, x))
    assert (torch.isfinite(sampling.top_k_filter(x, k)).sum(-1) == k).all()


@pytest.mark.parametrize("vocab", VOCABS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("p", [0.01, 0.3, 0.9, 0.95, 0.999])
def test_top_p_keeps_what_transformers_keeps(vocab, seed, p):
    x = random_logits(seed, vocab, scale=1.0 + seed)  # flat to peaked: nuclei of every size
    ours = sampling.top_p_filter(x, p)
    same(ours, TopPLogitsWarper(p)(None, x))
    kept_mass = torch.where(torch.isfinite(ours), x.softmax(-1), 0).sum(-1)
    assert (kept_mass >= p - 1e-5).all()  # the nucleus holds at least p


@pytest.mark.parametrize("vocab", VOCABS)
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("min_p", [0.01, 0.1, 0.5])
def test_min_p_keeps_what_transformers_keeps(vocab, seed, min_p):
    x = random_logits(seed, vocab)
    same(sampling.min_p_filter(x, min_p), MinPLogitsWarper(min_p)(None, x))


@pytest.mark.parametrize("vocab", VOCABS)
@pytest.mark.parametrize("seed", SEEDS)
def test_the_whole_chain_matches_transformers_in_its_order(vocab, seed):
    x = random_logits(seed, vocab)
    s = Settings("sample", temperature=0.7, top_k=200, top_p=0.9, min_p=0.05)
    theirs = LogitsProcessorList(
        [
            TemperatureLogitsWarper(0.7),
            TopKLogitsWarper(200),
            TopPLogitsWarper(0.9),
            MinPLogitsWarper(0.05),
        ]
    )(None, x)
    same(sampling.process(x, s), theirs)


def test_greedy_and_beam_leave_the_logits_alone_and_take_the_argmax():
    x = random_logits(0, 4_096)
    for strategy in ("greedy", "beam"):
        s = Settings(strategy, temperature=0.2, top_k=3)
        assert torch.equal(sampling.process(x, s), x)
        assert torch.equal(sampling.pick(x, s), x.argmax(-1))


def test_a_seeded_pick_repeats_and_only_draws_kept_tokens():
    x = random_logits(1, 4_096, batch=64)
    s = Settings("sample", top_k=3)
    draws = [sampling.pick(x, s, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1])
    top3 = x.topk(3).indices
    assert (top3 == draws[0][:, None]).any(-1).all()


def test_draw_counts_follow_the_distribution():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
    counts = sampling.draw(probs, 10_000, seed=3)
    assert counts.sum() == 10_000 and counts[-1] == 0
    assert torch.equal(counts, sampling.draw(probs, 10_000, seed=3))
    # 4 standard deviations of a binomial share: fails by chance about once in 15 000 runs
    sd = (probs * (1 - probs) / 10_000).sqrt()
    assert ((counts / 10_000 - probs).abs() <= 4 * sd + 1e-9).all()


def test_distinct_n_counts_unique_ngrams():
    assert sampling.distinct_n([1, 2, 3, 4], 1) == 1.0
    assert sampling.distinct_n([1, 1, 1, 1], 1) == 0.25
    assert sampling.distinct_n([1, 2, 1, 2, 1], 2) == 0.5  # (1,2) (2,1) (1,2) (2,1)
    assert sampling.distinct_n([1], 2) == 0.0


def test_settings_describe_themselves():
    assert Settings("greedy").describe() == "greedy"
    assert Settings("beam", beams=4).describe() == "beam search, 4 beams"
    assert Settings("sample", 0.7, 40, 0.9, 0.05).describe() == (
        "sample, T=0.7, top-k=40, top-p=0.9, min-p=0.05"
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_entropy_matches_torch_categorical(seed):
    x = random_logits(seed, 4_096)
    assert torch.allclose(
        sampling.entropy(x), torch.distributions.Categorical(logits=x).entropy(), atol=1e-4
    )
    certain = torch.full((1, 5), -torch.inf).index_fill(-1, torch.tensor([2]), 0.0)
    assert sampling.entropy(certain).item() == 0.0  # one sure token: no surprise, and no NaN


@pytest.mark.parametrize("seed", SEEDS)
def test_total_variation_is_the_largest_event_difference(seed):
    p, q = random_logits(seed, 4_096).softmax(-1), random_logits(seed + 9, 4_096).softmax(-1)
    tv = sampling.total_variation(p, q)
    assert torch.allclose(tv, (p - q).clamp_min(0).sum(-1), atol=1e-6)  # the event {p > q}
    assert torch.equal(sampling.total_variation(p, p), torch.zeros(len(p)))
    disjoint = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert sampling.total_variation(*disjoint).item() == 1.0
