"""How the next token is picked: logits processing and sampling from scratch, in torch.

A language model gives one logit per vocabulary entry. Before a token is drawn, the logits
are reshaped, in this order (the order transformers applies its warpers in):

1. temperature   z / T                 T < 1 sharpens, T > 1 flattens
2. top-k         keep the k largest logits
3. top-p         keep the smallest set of most likely tokens whose probability reaches p
                 (Holtzman et al. 2019, "The Curious Case of Neural Text Degeneration")
4. min-p         keep tokens at least min_p times as likely as the most likely one
                 (Nguyen et al. 2024, "Turning Up the Heat: Min-p Sampling")

Removed tokens get logit −inf, so softmax gives them probability exactly 0. Greedy decoding
takes the argmax instead of sampling; beam search lives in decode.py.

Where logits tie, each step keeps what transformers' warpers keep: top-k keeps every token tied
with the k-th largest, so it may keep more than k; top-p walks the tokens one at a time in sorted
order, so it may keep some of a tied group and drop the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

STRATEGIES = ("greedy", "sample", "beam")


@dataclass(frozen=True)
class Settings:
    strategy: str = "sample"  # one of STRATEGIES
    temperature: float = 1.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    min_p: float = 0.0  # 0: off
    beams: int = 1  # beam search only

    def describe(self) -> str:
        if self.strategy == "greedy":
            return "greedy"
        if self.strategy == "beam":
            return f"beam search, {self.beams} beams"
        parts = [f"T={self.temperature:g}"]
        parts += [f"top-k={self.top_k}"] if self.top_k else []
        parts += [f"top-p={self.top_p:g}"] if self.top_p < 1 else []
        parts += [f"min-p={self.min_p:g}"] if self.min_p > 0 else []
        return "sample, " + ", ".join(parts)


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """z / T for a finite T > 0; T = 0 would give inf, nan and −inf, not a distribution."""
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(
            f"temperature must be a finite number above 0, got {temperature}; "
            "the limit T → 0 is greedy decoding, which is its own strategy"
        )
    return logits / temperature


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row, and any tied with the k-th; the rest become −inf."""
    k = min(k, logits.shape[-1])
    kth = logits.topk(k, dim=-1).values[..., -1:]  # the k-th largest, (..., 1)
    return logits.masked_fill(logits < kth, -torch.inf)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Keep the most likely tokens whose probabilities add up to at least p; drop the tail.

    Sorting ascending and summing from the unlikely end means "the tail" is every token whose
    running total stays at or below 1 − p. Summing in this order (as transformers does) makes a
    token on the boundary round the same way in both, and adds the small numbers first.

    The cut falls between two places in the sorted order, not between two logit values, so it
    can split a group of equal logits: four equal logits at p = 0.5 keep two. Which members of
    a tied group go depends on the order the sort leaves them in, and torch's default sort is not
    stable (on CPU it reorders ties in rows longer than 16), so we call the same sort as
    transformers, not a stable one, to keep the same tokens.
    """
    ascending, token_ids = logits.sort(dim=-1)  # token_ids: which token sits at each place
    tail = ascending.softmax(-1).cumsum(-1) <= 1 - p  # True for a prefix of each sorted row
    tail[..., -1] = False  # always keep the most likely token
    dropped = torch.empty_like(tail).scatter_(-1, token_ids, tail)  # back to token order
    return logits.masked_fill(dropped, -torch.inf)


def min_p_filter(logits: Tensor, min_p: float) -> Tensor:
    """Keep tokens with p_i ≥ min_p · max_j p_j: the cut-off follows the model's confidence."""
    probs = logits.softmax(-1)
    return logits.masked_fill(probs < min_p * probs.amax(-1, keepdim=True), -torch.inf)


def process(logits: Tensor, s: Settings) -> Tensor:
    """The logits a token is drawn from under settings ``s``; removed tokens are −inf."""
    if s.strategy != "sample":
        return logits
    z = apply_temperature(logits, s.temperature)
    if s.top_k:
        z = top_k_filter(z, s.top_k)
    if s.top_p < 1:
        z = top_p_filter(z, s.top_p)
    if s.min_p > 0:
        z = min_p_filter(z, s.min_p)
    return z


def pick(logits: Tensor, s: Settings, generator: torch.Generator | None = None) -> Tensor:
    """One next token per row: the argmax, or a draw from softmax of the processed logits."""
    if s.strategy != "sample":
        return logits.argmax(-1)
    probs = process(logits, s).softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def draw(probs: Tensor, n: int, seed: int) -> Tensor:
    """How often each token is picked in ``n`` seeded draws from one distribution (counts)."""
    gen = torch.Generator(probs.device).manual_seed(seed)
    picks = torch.multinomial(probs, n, replacement=True, generator=gen)
    return torch.bincount(picks, minlength=probs.shape[-1])


def entropy(logits: Tensor) -> Tensor:
    """Shannon entropy of softmax(logits) in nats, per row: 0 when one token is certain.

    A token at −inf (one the settings removed) has p = 0 and adds nothing, since p log p → 0.
    A row with every logit at −inf is no distribution at all: ValueError.
    """
    if torch.isneginf(logits).all(-1).any():
        raise ValueError("every logit in a row is −inf: no token is possible, so no entropy")
    # half precision computes in float32: thousands of small p log p terms add up there
    log_p = logits.to(torch.promote_types(logits.dtype, torch.float32)).log_softmax(-1)
    p = log_p.exp()
    return -torch.where(p > 0, p * log_p, 0.0).sum(-1)  # 0 · log 0 counts as 0, not NaN


def total_variation(p: Tensor, q: Tensor) -> Tensor:
    """½ Σ |p − q| per row: the largest difference in probability the two give any event."""
    return 0.5 * (p - q).abs().sum(-1)


def distinct_n(tokens: list[int], n: int) -> float:
    """Share of the text's n-grams that are distinct: 1 never repeats, near 0 loops."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
