"""What the Softmax tab shows, computed from its five controls (no gradio here).

Every handler checks what it is given and raises `BadInput` saying what is allowed; tab.py turns
that into a gr.Error. `compute` returns a `Shown`, whose fields are the event's outputs in order.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from playground.concept import Context
from playground.export import Export
from playground.inputs import BadInput, Result
from playground.lazy import lazy_module

# Imported on first use, so building the tab loads neither torch nor plotly.
torch = lazy_module("torch")
sm = lazy_module("plugins.softmax.softmax")
figures = lazy_module("plugins.softmax.figures")

MIN_LOGITS, MAX_LOGITS = 2, 64
MAX_TEXT_CHARS = 2_000
MAX_LABEL_CHARS = 24
MAX_ABS_LOGIT = 1e6
T_MIN, T_MAX = 0.05, 5.0
DTYPES = ("float32", "float16", "bfloat16")
SWEEP_POINTS = 121
STEP_HEADERS = [
    "token",
    "logit z",
    "z / T",
    "z / T − max",
    "exp(z / T − max)",
    "p naive",
    "p stable",
    "log p",
]

# Next-token logits for "The cat sat on the ..." in three moods, and one that overflows.
PRESETS: dict[str, tuple[str, str]] = {
    "A confident model": (
        "6.0, 3.1, 2.4, 2.0, 0.9, -0.5, -1.5, -3.0",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "A flat, unsure model": (
        "1.2, 1.1, 1.05, 1.0, 0.95, 0.9, 0.85, 0.8",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "One huge outlier": (
        "2.1, 1.7, 25.0, 1.3, 0.4, -0.2, -1.1, -2.0",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "Huge logits [1000, 999, 998]": ("1000, 999, 998", "mat, floor, sofa"),
}


# -- checking inputs --------------------------------------------------------------------------


def check_logits(text: str | None) -> list[float]:
    text = text or ""
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(
            f"The logits text is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,}."
        )
    parts = [part for part in re.split(r"[,;\s]+", text.strip()) if part]
    if not MIN_LOGITS <= len(parts) <= MAX_LOGITS:
        raise BadInput(
            f"Enter between {MIN_LOGITS} and {MAX_LOGITS} logits, separated by commas "
            f"(got {len(parts)})."
        )
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise BadInput(
                f"{part[:40]!r} is not a number; logits are plain numbers like -1.5 or 3."
            ) from None
        if not math.isfinite(value) or abs(value) > MAX_ABS_LOGIT:
            raise BadInput(
                f"Each logit must be a finite number between ±{MAX_ABS_LOGIT:g}, not {part[:40]}."
            )
        values.append(value)
    return values


def check_labels(text: str | None, count: int) -> list[str]:
    """One label per logit: missing ones are numbered, extras ignored, so editing logits alone
    never trips over the labels."""
    text = text or ""
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"The labels text is too long; at most {MAX_TEXT_CHARS:,} characters.")
    given = [part.strip() for part in text.split(",") if part.strip()][:count]
    labels = given + [f"#{i}" for i in range(len(given), count)]
    if len(set(labels)) != len(labels) or any(len(label) > MAX_LABEL_CHARS for label in labels):
        raise BadInput(f"Labels must be distinct and at most {MAX_LABEL_CHARS} characters each.")
    return labels


def check_temperature(value: Any) -> float:
    # Not check_number: this message, with T_MAX written as 5.0, is the one the tab has shown.
    if not isinstance(value, (int, float)) or not T_MIN <= value <= T_MAX:  # NaN fails too
        raise BadInput(f"Temperature must be between {T_MIN} and {T_MAX}, not {value}.")
    return float(value)


class Inputs(NamedTuple):
    """The five controls, checked."""

    values: list[float]
    labels: list[str]
    temperature: float
    dtype_name: str
    target: int  # the cross-entropy's target, an index into labels


def check_inputs(
    logits_text: str, labels_text: str, temperature: Any, dtype_name: str, target_label: str
) -> Inputs:
    values = check_logits(logits_text)
    labels = check_labels(labels_text, len(values))
    temperature = check_temperature(temperature)
    if dtype_name not in DTYPES:
        raise BadInput(f"Precision must be one of {', '.join(DTYPES)}.")
    # A target left over from other labels falls back to the first token rather than failing.
    target = labels.index(target_label) if target_label in labels else 0
    return Inputs(values, labels, temperature, dtype_name, target)


def load_preset(name: str) -> tuple[str, str]:
    """The preset's (logits, labels) texts (the `softmax_preset` endpoint)."""
    if not isinstance(name, str) or name not in PRESETS:  # a list is unhashable: check first
        raise BadInput(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


# -- what the tab shows -----------------------------------------------------------------------


class Target(NamedTuple):
    """The target dropdown after a compute: this input's labels, and the one chosen."""

    choices: list[str]
    value: str


@dataclass(frozen=True)
class Shown(Result):
    """Everything the tab shows for one set of inputs, in the order of the event's outputs."""

    stats: str  # Markdown: top-1, entropy, Σp
    bars: Any  # plotly figure: logits, z / T and probabilities per token
    curves: Any  # plotly figure: entropy and top-1 p across temperatures
    steps: list[list[str]]  # one row per token, columns as in STEP_HEADERS
    stability: str  # Markdown: naive vs stable softmax in this dtype
    cross_entropy: str  # Markdown: log-softmax and the loss for the target
    target: Target


def _fmt(x: float) -> str:
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.4e}"


def _stats_text(labels: list[str], probs: Any, h: float) -> str:
    top, n = int(probs.argmax()), len(labels)
    return (
        f"**Top-1:** `{labels[top]}` with p = {probs[top]:.2%} · **entropy** H = {h:.3f} nats "
        f"= {h / math.log(2):.3f} bits (uniform over {n} would be {math.log(n):.3f} nats) "
        f"· **Σp** = {float(probs.sum()):.6f}"
    )


def _stability_text(dtype_name: str, steps: Any, naive: Any) -> str:
    bad, n = int((~torch.isfinite(naive)).sum()), len(naive)
    exp_max = math.log(torch.finfo(getattr(torch, dtype_name)).max)  # float16: 11.09
    m = _fmt(float(steps.max))
    return (
        f"In **{dtype_name}**, `exp(x)` overflows to `inf` once x > {exp_max:.2f}. "
        f"The largest z/T here is {m}, so the naive formula gives **{bad} of {n} entries as "
        f"inf/NaN**{' (inf / inf = NaN)' if bad else ''}, while the stable one subtracts "
        f"m = {m} first: every exponent is ≤ 0, every exp is in (0, 1], and the sum is "
        f"{_fmt(float(steps.total))}.\n\n"
        "Why subtracting the max changes nothing: "
        "$\\frac{e^{z_i - m}}{\\sum_j e^{z_j - m}} = "
        "\\frac{e^{-m} e^{z_i}}{e^{-m} \\sum_j e^{z_j}} = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$"
        " — the factor $e^{-m}$ cancels."
    )


def _cross_entropy_text(
    labels: list[str], target: int, steps: Any, log_p: Any, ce: float, moved: float
) -> str:
    """``moved``: how far the probabilities move when every logit grows by 100."""
    return (
        f"**Target `{labels[target]}`**: log p = z/T − logsumexp(z/T) = "
        f"{_fmt(float(steps.scaled[target]))} − {_fmt(float(steps.max + steps.total.log()))} = "
        f"**{_fmt(float(log_p[target]))}**, so the cross-entropy loss is −log p = "
        f"**{ce:.4f} nats**. A certain, correct model would pay 0; a uniform guess pays "
        f"ln {len(labels)} = {math.log(len(labels)):.3f}.\n\n"
        "**Logits are unnormalized scores**: add 100 to every logit and the probabilities move "
        f"by at most {moved:.2e} — only differences between "
        "logits matter. Scaling them does matter: dividing by T is exactly what temperature does."
    )


def compute(
    context: Context,
    logits_text: str,
    labels_text: str,
    temperature: float,
    dtype_name: str,
    target_label: str,
) -> Shown:
    """Everything the tab shows for one set of inputs (the `softmax_compute` endpoint)."""
    values, labels, temperature, dtype_name, target = check_inputs(
        logits_text, labels_text, temperature, dtype_name, target_label
    )
    dtype = getattr(torch, dtype_name)
    largest = max(abs(v) for v in values)
    if largest > torch.finfo(dtype).max:  # float16 stops at 65504: the logit itself would be inf
        raise BadInput(
            f"{dtype_name} cannot hold a logit of {largest:g}: its largest number is "
            f"{torch.finfo(dtype).max:g}. Use smaller logits or float32."
        )
    z = torch.tensor(values, dtype=dtype, device=context.device())
    values = z.float().tolist()  # what the dtype really holds: bfloat16 rounds 999 to 1000
    steps = sm.softmax_steps(z, temperature)
    naive = sm.naive_softmax(z, temperature).float()
    probs = sm.softmax(z, temperature).float()
    log_p = sm.log_softmax(z, temperature).float()
    ce = sm.cross_entropy(z[None, :], torch.tensor([target], device=z.device), temperature)
    # in float32 on both sides, so half precision's rounding does not pose as a change
    unshifted = sm.softmax(z.float(), temperature)
    shifted = sm.softmax(z.float() + 100, temperature)
    temps = torch.logspace(math.log10(T_MIN), math.log10(T_MAX), SWEEP_POINTS, device=z.device)
    sweep_h, sweep_top1 = sm.temperature_sweep(z, temps)

    columns = (values, steps.scaled, steps.shifted, steps.exps, naive, probs, log_p)
    rows = [[label, *(_fmt(float(c[i])) for c in columns)] for i, label in enumerate(labels)]
    moved = float((shifted - unshifted).abs().max())
    return Shown(
        stats=_stats_text(labels, probs, sm.entropy(z, temperature).item()),
        bars=figures.logits_and_probs(
            labels, values, steps.scaled.tolist(), probs.tolist(), target, temperature
        ),
        curves=figures.temperature_curves(
            temps.tolist(),
            sweep_h.tolist(),
            sweep_top1.tolist(),
            temperature,
            math.log(len(values)),
        ),
        steps=rows,
        stability=_stability_text(dtype_name, steps, naive),
        cross_entropy=_cross_entropy_text(labels, target, steps, log_p, float(ce), moved),
        target=Target(labels, labels[target]),
    )


# -- export -----------------------------------------------------------------------------------

SNIPPET = '''"""The Softmax tab's numbers, recomputed by torch's softmax (ML Playground export)."""
import json

import torch
import torch.nn.functional as F

labels = {labels!r}
logits = torch.tensor({logits!r}, dtype=torch.{dtype})
temperature = {temperature!r}
target = {target!r}  # the token the cross-entropy is measured against

z = logits.float() / temperature  # half precision computes in float32, as torch's kernels do
p = F.softmax(z, dim=-1).to(logits.dtype).float()
log_p = F.log_softmax(z, dim=-1).to(logits.dtype).float()
print(json.dumps({{
    "labels": labels,
    "probabilities": p.tolist(),
    "log_probabilities": log_p.tolist(),
    "entropy_nats": float(-(p * log_p).sum()),
    "cross_entropy_nats": float(F.cross_entropy(z[None], torch.tensor([target])).to(logits.dtype)),
}}))
'''


def export(
    logits_text: str, labels_text: str, temperature: float, dtype_name: str, target_label: str
) -> Export:
    """The numbers on screen, the steps table and a script that recomputes them with torch."""
    values, labels, temperature, dtype_name, target = check_inputs(
        logits_text, labels_text, temperature, dtype_name, target_label
    )
    z = torch.tensor(values, dtype=getattr(torch, dtype_name))
    probs, log_p = sm.softmax(z, temperature).float(), sm.log_softmax(z, temperature).float()
    ce = sm.cross_entropy(z[None, :], torch.tensor([target]), temperature)
    numbers = {
        "labels": labels,
        "probabilities": probs.tolist(),
        "log_probabilities": log_p.tolist(),
        "entropy_nats": float(-(probs * log_p).sum()),
        "cross_entropy_nats": float(ce),
    }
    columns = zip(labels, values, probs.tolist(), log_p.tolist(), strict=True)
    rows = [list(row) for row in columns]
    snippet = SNIPPET.format(
        labels=labels, logits=values, dtype=dtype_name, temperature=temperature, target=target
    )
    return Export(numbers, snippet, {"steps": (["token", "logit", "p", "log p"], rows)})
