"""The Scope and Timing sub-tabs: the whole model quantized, measured against float32 (size,
held-out perplexity, greedy speed), each run's row kept in the session's summary.

No gradio here; the inputs are checked as in views.py, which holds their limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from playground.concept import Context
from playground.inputs import BadInput, Result, check_choice, check_number, check_seed, check_whole
from playground.lazy import lazy_module
from plugins.models.text import readable
from plugins.quantization.views import (
    HELDOUT_TOKENS,
    KV_CONTEXT,
    MAX_CALIBRATION,
    MAX_LR,
    MAX_NEW_TOKENS,
    MAX_QAT_STEPS,
    MIN_GROUP,
    MIN_LR,
    MIN_QAT_STEPS,
    QAT_BATCH,
    QAT_TIME_CAP_S,
    SCOPES,
    TIMINGS,
    check_text,
    describe,
    load_lm,
    scheme_for,
)

Q = lazy_module("plugins.quantization.quantization")
llm = lazy_module("plugins.quantization.llm")
figures = lazy_module("plugins.quantization.figures")
# the held-out text and perplexity the model cards use
heldout = lazy_module("plugins.models.heldout")


@lru_cache(maxsize=2)
def _heldout(device: str):
    return heldout.heldout_ids()[: HELDOUT_TOKENS + 1].to(device)


# Perplexity is the slow part (a forward over every held-out token) and depends only on the
# model and the recipe, never on the prompt: each is measured once per process, and a run
# with a new prompt only decodes. The numbers shown are the same as measuring every time.
# Each cache is keyed on the context too (it hashes by its registry), not on the model id
# alone: the numbers come from whichever model that registry holds under the id.


@lru_cache(maxsize=2)
def float_baseline(context: Context, device: str) -> tuple[float, int]:
    """The float model's held-out perplexity and bytes."""
    lm = load_lm(context)
    return heldout.perplexity(lm.model, _heldout(device)), llm.model_bytes(lm.model)


@lru_cache(maxsize=8)
def _float_greedy(
    context: Context, device: str, prompt: str, new_tokens: int
) -> tuple[list[int], float]:
    lm = load_lm(context)
    ids = _prompt_ids(lm, prompt, new_tokens)
    llm.greedy(lm.model, ids, new_tokens)
    return llm.greedy(lm.model, ids, new_tokens)  # the second run: warm caches, fair timing


@lru_cache(maxsize=32)
def quantized_perplexity(context: Context, device: str, recipe, act_scales: tuple | None) -> float:
    """Held-out perplexity of the model quantized by ``recipe`` (static scales as items)."""
    lm = load_lm(context)
    scales = None if act_scales is None else dict(act_scales)
    return heldout.perplexity(llm.quantized_copy(lm.model, recipe, scales), _heldout(device))


@lru_cache(maxsize=16)
def _calibrated(context: Context, device: str, samples: int, source: str, seed: int) -> tuple:
    """Static activation scales from ``samples`` calibration windows, as sorted items."""
    lm = load_lm(context)
    calib = llm.calibration_ids(lm.tokenizer, samples, source, seed).to(lm.model.device)
    return tuple(sorted(llm.calibrate(lm.model, calib).items()))


def _prompt_ids(lm, prompt: str, new_tokens: int):
    import torch

    ids = lm.tokenizer(prompt)["input_ids"][-(512 - new_tokens) :]
    if not ids:
        raise BadInput("The prompt gives no tokens; type a few words.")
    return torch.tensor([ids], device=lm.model.device)


def _row(label, bits, scope, timing, model_bytes, kv_bytes, ppl, ms):
    return [
        label,
        bits,
        scope,
        timing,
        f"{model_bytes / 1024:,.0f}",
        f"{kv_bytes / 1024:,.0f}",
        f"{ppl:.3f}",
        "—" if ms is None else f"{ms:.1f}",
    ]


HEADERS = [
    "configuration",
    "bits",
    "scope",
    "timing",
    "model KiB",
    "KV cache KiB (512 tokens)",
    "held-out perplexity",
    "ms / token",
]


def _measure(
    context: Context, recipe, label, bits, scope, timing, prompt, new_tokens, act_scales=None
):
    """Quantize a copy, then the rows fp32 | quantized and the two continuations."""
    lm = load_lm(context)
    device = context.device()
    fp_ppl, fp_bytes = float_baseline(context, device)
    fp_tokens, fp_ms = _float_greedy(context, device, prompt, new_tokens)
    config = lm.model.config
    qmodel = llm.quantized_copy(lm.model, recipe, None if act_scales is None else dict(act_scales))
    ids = _prompt_ids(lm, prompt, new_tokens)
    tokens, ms = llm.greedy(qmodel, ids, new_tokens)
    ppl = quantized_perplexity(context, device, recipe, act_scales)
    kv_bytes = llm.kv_cache_bytes(config, recipe.kv, KV_CONTEXT)
    rows = [
        _row("float32", 32, "—", "—", fp_bytes, llm.kv_cache_bytes(config, None, KV_CONTEXT),
             fp_ppl, fp_ms),
        _row(label, bits, scope, timing, llm.model_bytes(qmodel), kv_bytes, ppl, ms),
    ]  # fmt: skip

    def decode(tokens: list[int]) -> str:
        return readable(lm.tokenizer.decode(tokens))

    same = sum(a == b for a, b in zip(tokens, fp_tokens, strict=True))
    md = (
        f"**float32**: {prompt.strip()} **{decode(fp_tokens).strip()}**\n\n"
        f"**{label}**: {prompt.strip()} **{decode(tokens).strip()}**\n\n"
        f"{same} of {new_tokens} greedy tokens agree with float32; perplexity "
        f"{(ppl / fp_ppl - 1):+.2%} over {HELDOUT_TOKENS:,} held-out tokens. Only the "
        "blocks' linear layers are quantized; the 4096 × 192 embedding (tied to the output "
        "head, 3 MiB of the 10 MiB) stays float32, as bitsandbytes and torchao leave it."
    )
    return rows, md


def scope_run(context: Context, scope, fmt, mapping, granularity, group_size, prompt, new_tokens):
    """Weights only, weights + int8 activations, or the KV cache: size, perplexity, speed."""
    scope = check_choice(scope, "The scope", SCOPES)
    prompt = check_text(prompt)
    n = check_whole(new_tokens, "New tokens", 1, MAX_NEW_TOKENS)
    lm = load_lm(context)
    head_dim = lm.model.config.hidden_size // lm.model.config.num_attention_heads
    if scope == "KV cache":  # always one scale per token and head: a head's vector is a row
        scheme = scheme_for(fmt, mapping, "channel", MIN_GROUP, head_dim)
    else:
        scheme = scheme_for(fmt, mapping, granularity, group_size, lm.model.config.hidden_size)
    if scope == "weights only":
        recipe, label, timing = llm.Recipe(scheme), describe(scheme), "PTQ"
    elif scope == "weights + activations":
        recipe, timing = llm.Recipe(scheme, "dynamic"), "PTQ dynamic"
        label = f"W: {describe(scheme)} · A: int8 per token"
    else:
        recipe, timing = llm.Recipe(None, kv=scheme), "PTQ"
        label = f"KV cache: {scheme.format}{'' if scheme.symmetric else ' asym'} per token, head"
    return _measure(context, recipe, label, scheme.bits, scope, timing, prompt, n)


def ptq_run(context: Context, timing, samples, source, seed, prompt, new_tokens):
    """W8A8 with activation scales measured per input (dynamic) or calibrated once (static)."""
    timing = check_choice(timing, "The timing", TIMINGS)
    k = check_whole(samples, "Calibration samples", 1, MAX_CALIBRATION)
    source = check_choice(source, "The calibration text", llm.CALIBRATION_SOURCES)
    seed = check_seed(seed)
    prompt = check_text(prompt)
    n = check_whole(new_tokens, "New tokens", 1, MAX_NEW_TOKENS)
    scales = None
    label = "W8A8: int8 per channel · activations int8 per token, at run time"
    if timing == "static":
        scales = _calibrated(context, context.device(), k, source, seed)
        label = f"W8A8 static: activation scales from {k} × 128 tokens of {source}"
    rows, md = _measure(
        context,
        llm.Recipe(Q.Scheme(), timing),
        label,
        8,
        "weights + activations",
        f"PTQ {timing}",
        prompt,
        n,
        scales,
    )
    if scales is not None:
        top = sorted(scales, key=lambda kv: -kv[1])[:3]
        md += "\n\nLargest calibrated |input| (static scale = that / 127): " + ", ".join(
            f"`{name.removeprefix('model.layers.')}` {v:.2f}" for name, v in top
        )
    return rows, md


@dataclass(frozen=True)
class Measured(Result):
    table: list[list[str]]  # float32, then the quantized configuration
    note: str  # Markdown: both continuations, and what changed
    summary: list[list[str]]  # the session's runs, this one's row last: kept in its gr.State
    shown: list[list[str]]  # and shown in the summary table


def _with_summary(fn: Callable) -> Callable[..., Measured]:
    """``fn``'s rows and note, its quantized row also appended to the session's summary (the
    last input). Not functools.wraps: gradio would read ``fn``'s signature, one input short."""

    def handler(context: Context, *args) -> Measured:
        *inputs, summary = args
        rows, md = fn(context, *inputs)
        summary = [*(summary or []), rows[1]]
        return Measured(rows, md, summary, summary)

    handler.__doc__ = fn.__doc__
    return handler


scope, ptq = _with_summary(scope_run), _with_summary(ptq_run)


# -- quantization-aware training ----------------------------------------------------------------


def check_qat(fmt, granularity, steps, lr, seed):
    scheme = scheme_for(fmt, "symmetric", granularity, 64, 192)
    s = check_whole(steps, "QAT steps", MIN_QAT_STEPS, MAX_QAT_STEPS)
    rate = check_number(lr, "The learning rate", MIN_LR, MAX_LR)
    return scheme, s, rate, check_seed(seed)


@dataclass(frozen=True)
class Training(Result):
    note: str  # Markdown: the step, the loss, and at the end QAT against PTQ
    loss: Any  # the loss curve so far
    summary: list[list[str]]  # the session's runs; the finished run's row joins at the end
    shown: list[list[str]]  # and the summary table shows them


def qat(
    context: Context, fmt, granularity, steps, lr, seed, summary, progress: Callable | None = None
) -> Iterator[Training]:
    """A fake-quant copy trains live: the loss after every few steps, until done, capped or
    stopped; ``progress(fraction, desc=...)`` hears of each step shown."""
    scheme, s, rate, seed = check_qat(fmt, granularity, steps, lr, seed)
    lm = load_lm(context)
    device = context.device()
    held_out = _heldout(device)
    fp_ppl = float_baseline(context, device)[0]
    ptq_ppl = quantized_perplexity(context, device, llm.Recipe(scheme), None)
    head = (
        f"**{describe(scheme)}** · float32 perplexity {fp_ppl:.3f} · PTQ (round the trained "
        f"weights) {ptq_ppl:.3f}"
    )
    every = max(1, s // 20)
    last = None
    for p in llm.qat(
        lm.model, lm.tokenizer, scheme, s, rate, seed, QAT_TIME_CAP_S, every, QAT_BATCH
    ):
        last = p
        md = f"{head}\n\n**Step {p.step} of {s}** · loss {p.losses[-1]:.4f} · {p.seconds:.1f} s"
        _report(progress, p.step, s)
        yield Training(md, figures.qat_curve(p.losses, s), summary, summary)
    qat_ppl = heldout.perplexity(last.model.eval(), held_out)
    capped = f" (stopped at the {QAT_TIME_CAP_S:g} s cap)" if last.stopped_early else ""
    md = (
        f"{head} · **QAT {qat_ppl:.3f}** after {last.step} steps{capped}\n\n"
        f"**Step {last.step} of {s}** · loss {last.losses[-1]:.4f} · {last.seconds:.1f} s. "
        f"QAT vs PTQ at the same bits: perplexity {qat_ppl - ptq_ppl:+.3f} "
        + (
            "(training through the rounding found weights that round better)."
            if qat_ppl < ptq_ppl
            else "(not yet better: try more steps or another rate)."
        )
    )
    bytes_ = llm.model_bytes(llm.quantized_copy(lm.model, llm.Recipe(scheme)))
    kv = llm.kv_cache_bytes(lm.model.config, None, KV_CONTEXT)
    label = f"{describe(scheme)} (QAT, {last.step} steps)"
    row = _row(label, scheme.bits, "weights only", "QAT", bytes_, kv, qat_ppl, None)
    summary = [*(summary or []), row]
    _report(progress, last.step, s)
    yield Training(md, figures.qat_curve(last.losses, s), summary, summary)


def _report(progress: Callable | None, step: int, steps: int) -> None:
    if progress is not None:
        progress(step / steps, desc=f"step {step} of {steps}")
