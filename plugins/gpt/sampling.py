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
"""

from __future__ import annotations

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


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row; every other one becomes −inf."""
    k = min(k, logits.shape[-1])
    kth = logits.topk(k, dim=-1).values[..., -1:]  # the k-th largest, (..., 1)
    return logits.masked_fill(logits < kth, -torch.inf)


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Keep the most likely tokens whose probabilities add up to at least p; drop the tail.

    Sorting ascending and summing from the unlikely end means "the tail" is every token whose
    running total stays at or below 1 − p. Summing in this order (as transformers does) makes a
    token on the boundary round the same way in both, and adds the small numbers first.
    """
    ascending = logits.sort(dim=-1).values
    tail = ascending.softmax(-1).cumsum(-1) <= 1 - p  # True for a prefix of each sorted row
    dropped = tail.sum(-1, keepdim=True).clamp_max(logits.shape[-1] - 1)  # always keep one
    threshold = ascending.gather(-1, dropped)  # the smallest logit that survives
    return logits.masked_fill(logits < threshold, -torch.inf)


def min_p_filter(logits: Tensor, min_p: float) -> Tensor:
    """Keep tokens with p_i ≥ min_p · max_j p_j: the cut-off follows the model's confidence."""
    probs = logits.softmax(-1)
    return logits.masked_fill(probs < min_p * probs.amax(-1, keepdim=True), -torch.inf)


def process(logits: Tensor, s: Settings) -> Tensor:
    """The logits a token is drawn from under settings ``s``; removed tokens are −inf."""
    if s.strategy != "sample":
        return logits
    z = logits / s.temperature
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
    """Shannon entropy of softmax(logits) in nats, per row: 0 when one token is certain."""
    probs = logits.softmax(-1)
    return -(probs * probs.clamp_min(1e-30).log()).sum(-1)  # 0 · log 0 counts as 0


def total_variation(p: Tensor, q: Tensor) -> Tensor:
    """½ Σ |p − q| per row: the largest difference in probability the two give any event."""
    return 0.5 * (p - q).abs().sum(-1)


def distinct_n(tokens: list[int], n: int) -> float:
    """Share of the text's n-grams that are distinct: 1 never repeats, near 0 loops."""
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
