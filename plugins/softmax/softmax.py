"""Softmax, log-softmax and cross-entropy, from scratch in torch.

A model's last layer produces *logits*: one unnormalized score per class (per token, for a
language model). Softmax turns them into probabilities; temperature rescales them first.

References:
- J. S. Bridle, "Probabilistic interpretation of feedforward classification network
  outputs" (1990): softmax as the normalized exponential.
- Goodfellow, Bengio & Courville, *Deep Learning* (2016), §4.1: overflow and the max trick.
- Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015): temperature.

Half-precision inputs are computed in float32 and cast back, as torch's own kernels
accumulate; the naive version deliberately stays in the input dtype so its overflow shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


def _upcast(x: Tensor) -> Tensor:
    """Half precision computes in float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _check_temperature(temperature: float) -> None:
    # T = 0 gives z / 0 = inf, nan and −inf; NaN would slip past a plain T <= 0 test
    if not (math.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be positive and finite, got {temperature}")


def _scaled(logits: Tensor, temperature: float) -> Tensor:
    """logits / T, in float32 or better."""
    _check_temperature(temperature)
    z = _upcast(logits)
    return z if temperature == 1.0 else z / temperature  # skip a full pass when T = 1


def naive_softmax(logits: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """exp(z_i) / Σ_j exp(z_j), straight from the formula: overflows once exp(z) > dtype max."""
    _check_temperature(temperature)
    e = (logits / temperature).exp()  # float32: inf past z ≈ 88.7; float16: past z ≈ 11.1
    return e / e.sum(dim, keepdim=True)


def logsumexp(z: Tensor, dim: int = -1) -> Tensor:
    """log Σ_j exp(z_j) = m + log Σ_j exp(z_j − m), with m = max_j z_j, so nothing overflows."""
    m = z.amax(dim, keepdim=True)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # all −inf row: keep it −inf
    return (m + (z - m).exp().sum(dim, keepdim=True).log()).squeeze(dim)


def softmax(logits: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """Numerically stable softmax of logits / T."""
    z = _scaled(logits, temperature)
    # softmax(z − c) = softmax(z) for any constant c, since e^(−c) cancels top and bottom;
    # c = max(z) makes every exponent ≤ 0, so every exp lies in (0, 1] and none overflows.
    e = (z - z.amax(dim, keepdim=True)).exp_()  # in place: one temporary, not two
    return e.div_(e.sum(dim, keepdim=True)).to(logits.dtype)


def log_softmax(logits: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """log softmax(z)_i = (z_i − m) − log Σ_j exp(z_j − m): exact even where softmax underflows.

    Subtracting m before anything else keeps the numbers small: z_i − logsumexp(z) would
    round both terms at the magnitude of z first (float32 near 1000 is only good to 6e-5).
    """
    z = _scaled(logits, temperature)
    shifted = z - z.amax(dim, keepdim=True)
    return shifted.sub_(shifted.exp().sum(dim, keepdim=True).log()).to(logits.dtype)


def cross_entropy(logits: Tensor, target: Tensor, temperature: float = 1.0) -> Tensor:
    """Mean over the batch of −log p(target): logits (N, C), target (N,) class indices."""
    log_p = log_softmax(_upcast(logits), temperature, dim=-1)  # (N, C)
    return -log_p.gather(-1, target.unsqueeze(-1)).squeeze(-1).mean().to(logits.dtype)


def _some_token_possible(logits: Tensor, dim: int) -> None:
    if torch.isneginf(logits).all(dim).any():
        raise ValueError("every logit in a row is −inf: no token is possible, so no distribution")


def _entropy_of(log_p: Tensor, dim: int) -> Tensor:
    """−Σ p_i log p_i, where a p_i of 0 (log p_i = −inf) contributes its limit 0, not 0 · −inf."""
    p = log_p.exp()
    return -torch.where(p > 0, p * log_p, 0.0).sum(dim)


def entropy(logits: Tensor, temperature: float = 1.0, dim: int = -1) -> Tensor:
    """H(p) = −Σ p_i log p_i in nats; a logit at −inf is a token with p = 0, adding nothing."""
    _some_token_possible(logits, dim)
    return _entropy_of(log_softmax(_upcast(logits), temperature, dim), dim)


def temperature_sweep(logits: Tensor, temperatures: Tensor) -> tuple[Tensor, Tensor]:
    """Entropy (nats) and top-1 probability of logits (C,) at each of (T,) temperatures."""
    if not (torch.isfinite(temperatures).all() and (temperatures > 0).all()):
        raise ValueError("every temperature must be positive and finite")
    _some_token_possible(logits, -1)
    z = _upcast(logits)[None, :] / temperatures.to(_upcast(logits).dtype)[:, None]  # (T, C)
    log_p = z - logsumexp(z, dim=-1)[:, None]  # (T, C)
    return _entropy_of(log_p, -1), log_p.amax(-1).exp()


@dataclass(frozen=True)
class SoftmaxSteps:
    """Every intermediate value of one stable softmax, for the tab to show."""

    scaled: Tensor  # z / T
    max: Tensor  # m = max(z / T), the constant subtracted
    shifted: Tensor  # z / T − m, every entry ≤ 0
    exps: Tensor  # exp(z / T − m), every entry in (0, 1]
    total: Tensor  # Σ exps
    probs: Tensor  # exps / total
    log_probs: Tensor  # z / T − logsumexp(z / T)


def softmax_steps(logits: Tensor, temperature: float = 1.0) -> SoftmaxSteps:
    """The stable softmax of a vector (C,), step by step."""
    z = _scaled(logits, temperature)
    m = z.amax()
    shifted = z - m
    exps = shifted.exp()
    total = exps.sum()
    return SoftmaxSteps(z, m, shifted, exps, total, exps / total, shifted - total.log())
