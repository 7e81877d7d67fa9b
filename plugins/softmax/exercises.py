"""Predict, then reveal: three exercises on softmax, each answered by running softmax.py."""

from __future__ import annotations

import math

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

CONFIDENT = [6.0, 3.1, 2.4, 2.0, 0.9, -0.5, -1.5, -3.0]  # the tab's "A confident model"
SHIFT = 100.0
HALF = [12.0, 11.0, 10.0]
OVERFLOW_CHOICES = ("None of them", "Only the largest", "All of them")
SHIFT_CHOICES = ("They all grow", "They do not change", "Only the top one grows", "They overflow")


# Each solve(context) runs on small CPU tensors of its own: it needs no model and no device.
def top_probability_at_half(context: Context) -> Answer:
    import torch

    from plugins.softmax.softmax import softmax

    z = torch.tensor(CONFIDENT)
    at_one, at_half = float(softmax(z, 1.0).max()), float(softmax(z, 0.5).max())
    return Answer(
        at_half,
        f"At T = 1 the top token has p = {at_one:.4f}. Halving T doubles every gap between "
        f"logits (6.0 − 3.1 = 2.9 becomes 5.8), and e^5.8 ≈ {math.exp(5.8):.0f}: the top "
        f"token takes p = **{at_half:.4f}**. Low temperature sharpens; it never reorders.",
    )


def shift_everything(context: Context) -> Answer:
    import torch

    from plugins.softmax.softmax import softmax

    z = torch.tensor(CONFIDENT)
    change = float((softmax(z + SHIFT) - softmax(z)).abs().max())
    truth = SHIFT_CHOICES[1] if change < 1e-5 else SHIFT_CHOICES[0]
    return Answer(
        truth,
        f"The largest change over the 8 probabilities is {change:.1e}: float32 rounding. "
        f"softmax(z + c) = softmax(z) because e^c multiplies the top and the bottom of the "
        "fraction alike, and the stable softmax subtracts the max first, so nothing overflows.",
    )


def naive_float16(context: Context) -> Answer:
    import torch

    from plugins.softmax.softmax import naive_softmax, softmax

    z = torch.tensor(HALF, dtype=torch.float16)
    naive = naive_softmax(z)
    bad = int((~torch.isfinite(naive)).sum())
    truth = OVERFLOW_CHOICES[0 if bad == 0 else 2 if bad == len(HALF) else 1]
    exps = ", ".join(f"{float(v):g}" for v in z.exp())
    return Answer(
        truth,
        f"In float16, e^12, e^11, e^10 are [{exps}] — float16 stops at 65504, so e^12 is "
        f"already inf, the sum is inf, and inf / inf = NaN while the others become 0: naive "
        f"softmax gives {[round(float(v), 4) for v in naive]} ({bad} not finite). The stable "
        f"one gives {[round(float(v), 4) for v in softmax(z)]}.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="softmax-half-temperature",
        concept="softmax",
        title="Halve the temperature",
        question=f"Logits {CONFIDENT} (the confident model). At T = 1 the top token has "
        "p = 0.90. **What is its probability at T = 0.5?**",
        solve=lazy("plugins.softmax.exercises:top_probability_at_half"),
    ),
    Exercise(
        id="softmax-shift",
        concept="softmax",
        title="Add 100 to every logit",
        question=f"Take the same logits and add {SHIFT:g} to every one of them. "
        "**What happens to the probabilities?**",
        solve=lazy("plugins.softmax.exercises:shift_everything"),
        choices=SHIFT_CHOICES,
    ),
    Exercise(
        id="softmax-float16",
        concept="softmax",
        title="Naive softmax in float16",
        question=f"The naive formula e^z / Σ e^z, computed in float16 on logits {HALF}. "
        "**How many of the three probabilities come out as inf or NaN?**",
        solve=lazy("plugins.softmax.exercises:naive_float16"),
        choices=OVERFLOW_CHOICES,
    ),
]
