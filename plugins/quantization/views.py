"""What each part of the quantization tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` saying what is allowed; tab.py's
`guard` turns that into a gr.Error. A handler with several outputs returns a `Result`. Here:
one matrix (the mapping lab, outliers, the export); runs.py measures the whole model. Models
come from the registry and are only ever copied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from playground.concept import Context
from playground.export import Export
from playground.inputs import BadInput, Result, check_choice, check_number, check_seed, check_whole
from playground.lazy import lazy_module
from plugins.models.hooks import this_thread
from plugins.quantization import reproduce

Q = lazy_module("plugins.quantization.quantization")
figures = lazy_module("plugins.quantization.figures")

MODEL_ID = "tiny-llama"
MATRICES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
LAYERS = 4
SOURCES = ("tiny-llama", "Gaussian", "Laplace (heavy tails)")
MAPPINGS = ("symmetric", "asymmetric")
SCOPES = ("weights only", "weights + activations", "KV cache")
TIMINGS = ("dynamic", "static")
MIN_GROUP, MAX_GROUP = 32, 256
MAX_OUTLIERS = 64  # planted outlier weights in the lab
MAX_OUTLIER_SCALE = 100.0  # × the matrix's largest |w|
MAX_CALIBRATION = 64  # calibration samples (windows of 128 tokens)
MIN_QAT_STEPS, MAX_QAT_STEPS = 1, 500
QAT_TIME_CAP_S = 60.0
QAT_BATCH = 2  # windows of 128 tokens per step: a step in about half a second on one core
MIN_LR, MAX_LR = 1e-6, 1e-2
MAX_NEW_TOKENS = 32
MAX_TEXT_CHARS = 2_000
MAX_FEATURES = 32  # outlier features planted in the activations
MIN_THRESHOLD, MAX_THRESHOLD = 0.5, 200.0
HELDOUT_TOKENS = 4_096  # 32 windows of 128: a perplexity in about a second on CPU
KV_CONTEXT = 512  # the bundled model's context, for the cache's size
OUTLIER_TEXT = (
    "Once upon a time, the king lived near the square. The capital of France is Paris. "
    "Every morning the old man counted six brown plums and three swans by the river."
)


# -- checking inputs --------------------------------------------------------------------------


def check_text(text: Any, what: str = "prompt") -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadInput(f"Type a {what} first: a few words are enough.")
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"The {what} is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,}.")
    return text


def scheme_for(fmt: Any, mapping: Any, granularity: Any, group_size: Any, row_length: int):
    """The Scheme the controls describe, or BadInput saying why it cannot be."""
    fmt = check_choice(fmt, "The format", Q.FORMATS)
    mapping = check_choice(mapping, "The mapping", MAPPINGS)
    granularity = check_choice(granularity, "The granularity", Q.GRANULARITIES)
    g = check_whole(group_size, "The group size", MIN_GROUP, MAX_GROUP)
    if granularity == "group" and row_length % g:
        sizes = Q.valid_group_sizes(row_length, MIN_GROUP, MAX_GROUP)
        near = sorted(sizes, key=lambda s: abs(s - g))[:2]
        raise BadInput(
            f"Group size {g} does not divide the row length {row_length}: every group must be "
            f"whole. The nearest sizes that do: {', '.join(map(str, sorted(near)))} "
            f"(all valid: {', '.join(map(str, sizes))})."
        )
    scheme = Q.Scheme(fmt, mapping == "symmetric", granularity, g, double_quant=fmt == "nf4")
    try:
        Q.check(scheme, (1, row_length))
    except ValueError as exc:
        raise BadInput(f"This combination does not work: {exc}.") from None
    return scheme


def load_lm(context: Context):
    from playground.models import ModelUnavailable

    try:
        return context.model(MODEL_ID)
    except KeyError:
        raise BadInput(f"{MODEL_ID} is not registered: the models plugin provides it.") from None
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None


def _linear(lm, layer: int, matrix: str):
    block = lm.model.model.layers[layer]
    part = block.self_attn if matrix in MATRICES[:4] else block.mlp
    return getattr(part, matrix)


def describe(scheme) -> str:
    where = {"tensor": "per tensor", "channel": "per channel"}.get(
        scheme.granularity, f"groups of {scheme.group_size}"
    )
    mapping = (
        ""
        if not scheme.format.startswith("int")
        else (" symmetric" if scheme.symmetric else " asymmetric")
    )
    extra = " + double-quantized scales" if scheme.double_quant else ""
    return f"{scheme.format}{mapping}, {where}{extra}"


# -- the mapping lab --------------------------------------------------------------------------


def _lab_matrix(
    context: Context, source: str, layer: int, matrix: str, outliers: int, scale: float, seed: int
):
    # A deliberate copy: reproduce.py's script spells these lines out again, since an exported
    # script runs on the public libraries alone; its test checks both give the same numbers.
    import torch

    lm = load_lm(context)
    w = _linear(lm, layer, matrix).weight.detach().float().cpu()
    gen = torch.Generator().manual_seed(seed)
    if source == "Gaussian":
        w = torch.randn(w.shape, generator=gen) * w.std()
    elif source.startswith("Laplace"):
        u = torch.rand(w.shape, generator=gen) - 0.5
        w = -w.std() / math.sqrt(2) * u.sign() * torch.log1p(-2 * u.abs())
    else:
        w = w.clone()
    if outliers:
        where = torch.randperm(w.numel(), generator=gen)[:outliers]
        signs = torch.randint(0, 2, (outliers,), generator=gen) * 2 - 1
        w.view(-1)[where] = signs * scale * w.abs().max()
    return w


def _lab(
    context: Context,
    source,
    layer,
    matrix,
    fmt,
    mapping,
    granularity,
    group_size,
    outliers,
    scale,
    seed,
):
    """The lab's checked inputs, its matrix and scheme, and what quantizing did."""
    source = check_choice(source, "The source", SOURCES)
    layer = check_whole(layer, "The layer", 0, LAYERS - 1)
    matrix = check_choice(matrix, "The matrix", MATRICES)
    n_out = check_whole(outliers, "Outliers", 0, MAX_OUTLIERS)
    scale = check_number(scale, "The outlier size", 1, MAX_OUTLIER_SCALE)
    seed = check_seed(seed)
    w = _lab_matrix(context, source, layer, matrix, n_out, scale, seed)
    scheme = scheme_for(fmt, mapping, granularity, group_size, w.shape[1])
    q = Q.quantize(w, scheme)
    blocks = Q.blocks(w, scheme)
    worst = int(blocks.abs().amax(-1).argmax())  # the block holding the largest |w|
    inputs = dict(source=source, layer=layer, matrix=matrix, outliers=n_out, scale=scale, seed=seed)
    return inputs, w, scheme, q, Q.error(w, Q.dequantize(q)), blocks, worst


@dataclass(frozen=True)
class Lab(Result):
    note: str  # Markdown: the formula with the real scale, and the errors
    histogram: Any  # the weights with the grid over them
    table: list[list[str]]  # every format on the same blocks


def mapping_lab(
    context: Context,
    source,
    layer,
    matrix,
    fmt,
    mapping,
    granularity,
    group_size,
    outliers,
    scale,
    seed,
) -> Lab:
    """One weight matrix through one scheme: formula, histogram with grid, errors, and every
    format side by side."""
    inputs, w, scheme, q, err, blocks, worst = _lab(
        context, source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale, seed
    )
    source, layer, matrix = inputs["source"], inputs["layer"], inputs["matrix"]
    n_out, scale = inputs["outliers"], inputs["scale"]
    grid = Q.levels(q, worst)
    formula = _formula(Q, q, worst, blocks.shape)
    n = w.numel()
    md = (
        f"**{MODEL_ID if source == 'tiny-llama' else source} · layer {layer} · {matrix}** "
        f"({w.shape[0]} × {w.shape[1]} = {n:,} weights) → **{describe(scheme)}**\n\n{formula}\n\n"
        f"**Error**: MSE = {err.mse:.3e} · max |w − ŵ| = {err.max_abs:.3e} · "
        f"**SNR = {err.snr_db:.1f} dB** · size {q.nbytes:,} bytes = "
        f"**{8 * q.nbytes / n:.2f} bits per weight** (float32: {4 * n:,} bytes)"
    )
    if n_out:
        md += (
            f"\n\n{n_out} planted outlier{'s' if n_out > 1 else ''} of ±{scale:g} × max|w|: "
            "every other weight in a block that holds one now shares a coarse grid."
        )
    rows = []
    for other in Q.FORMATS:
        s = Q.Scheme(other, True, scheme.granularity, scheme.group_size, other == "nf4")
        qo = Q.quantize(w, s)
        e = Q.error(w, Q.dequantize(qo))
        rows.append(
            [
                describe(s),
                f"{8 * qo.nbytes / n:.2f}",
                f"{e.mse:.3e}",
                f"{e.max_abs:.3e}",
                f"{e.snr_db:.1f}",
            ]
        )
    return Lab(md, figures.histogram(w.view(-1).numpy(), grid.numpy(), describe(scheme)), rows)


def _formula(Q, q, block: int, shape) -> str:
    fmt, s = q.scheme.format, float(q.scale[block, 0])
    where = "" if shape[0] == 1 else f" (block {block} of {shape[0]}, the one with the largest |w|)"
    if fmt.startswith("int"):
        q_min, q_max = Q.int_range(q.scheme.bits, q.scheme.symmetric)
        if q.zero_point is None:
            return (
                f"$q = \\mathrm{{clamp}}(\\mathrm{{round}}(w / s), {q_min}, {q_max})$, "
                f"$s = \\max|w| / {q_max}$ = **{s:.4e}**{where}; $\\hat w = q \\cdot s$"
            )
        z = int(q.zero_point[block, 0])
        return (
            f"$q = \\mathrm{{clamp}}(\\mathrm{{round}}(w / s) + z, {q_min}, {q_max})$, "
            f"$s = (\\max w - \\min w) / {q_max - q_min}$ = **{s:.4e}**, zero-point "
            f"$z$ = **{z}**{where}; $\\hat w = (q - z) \\cdot s$"
        )
    if fmt == "nf4":
        return (
            "$q = \\arg\\min_i |w / a - \\mathrm{NF4}_i|$ over the 16 NormalFloat levels, "
            f"$a = \\max|w|$ = **{s:.4e}**{where}, stored in 8 bits again (double "
            f"quantization); $\\hat w = \\mathrm{{NF4}}_q \\cdot a$"
        )
    top = float(Q.fp8_levels(fmt).max())
    return (
        f"$q = \\mathrm{{{fmt}}}(w / s)$ (round to the nearest FP8 value), "
        f"$s = \\max|w| / {top:g}$ = **{s:.4e}**{where}; $\\hat w = q \\cdot s$"
    )


# -- outliers and LLM.int8() ------------------------------------------------------------------


# Keyed on the context too (it hashes by its registry), not on the model id alone: the numbers
# come from whichever model that registry holds under MODEL_ID.
@lru_cache(maxsize=8)
def _activations(context: Context, device: str, layer: int, matrix: str):
    """The real inputs to one linear layer on OUTLIER_TEXT, (T, in), and its weight."""
    import torch

    lm = load_lm(context)
    linear = _linear(lm, layer, matrix)
    seen = []
    hook = linear.register_forward_pre_hook(
        this_thread(lambda _m, args: seen.append(args[0][0].detach()))
    )
    try:
        with torch.no_grad():
            ids = lm.tokenizer(OUTLIER_TEXT)["input_ids"]
            lm.model(input_ids=torch.tensor([ids], device=lm.model.device))
    finally:
        hook.remove()
    return seen[0].float().cpu(), linear.weight.detach().float().cpu()


@dataclass(frozen=True)
class Outliers(Result):
    note: str  # Markdown
    table: list[list[str]]  # each int8 method's error on x·Wᵀ
    features: Any  # each feature's largest |x|, and the threshold
    sweep: Any  # LLM.int8()'s error and the share kept in float, per threshold


def outliers_run(context: Context, layer, matrix, features, magnitude, threshold, seed) -> Outliers:
    """Per-tensor int8, per-token × per-channel int8 and LLM.int8() on real activations with
    planted outlier features."""
    import torch

    layer = check_whole(layer, "The layer", 0, LAYERS - 1)
    matrix = check_choice(matrix, "The matrix", MATRICES)
    k = check_whole(features, "Outlier features", 0, MAX_FEATURES)
    mag = check_number(magnitude, "The outlier magnitude", 1, 100)
    thr = check_number(threshold, "The threshold", MIN_THRESHOLD, MAX_THRESHOLD)
    seed = check_seed(seed)
    x, w = _activations(context, context.device(), layer, matrix)
    x = x.clone()
    gen = torch.Generator().manual_seed(seed)
    cols = torch.randperm(x.shape[1], generator=gen)[:k]
    x[:, cols] *= mag  # emergent outlier features: a few dimensions, large in every token
    y = x @ w.t()

    def per_tensor():
        xs = x.abs().max() / 127
        ws = w.abs().max() / 127
        xq = torch.round(x / xs).clamp(-127, 127)
        wq = torch.round(w / ws).clamp(-127, 127)
        return (xq @ wq.t()) * xs * ws

    def vector_wise():
        xq, xs = Q.quantize_activations(x)
        wq, ws = Q.quantize_activations(w)
        return Q.int8_matmul(xq, xs, wq, ws)

    mixed, kept = Q.int8_mixed_matmul(x, w, thr)
    results = [
        ("int8 per tensor", per_tensor()),
        ("int8 per token × per channel", vector_wise()),
        (f"LLM.int8(), threshold {thr:g}", mixed),
    ]
    rows = [
        [name, f"{Q.error(y, out).snr_db:.1f}", f"{Q.error(y, out).max_abs:.3e}"]
        for name, out in results
    ]
    thresholds = torch.logspace(math.log10(MIN_THRESHOLD), math.log10(MAX_THRESHOLD), 24)
    sweep = []
    for t in thresholds.tolist():
        out, mask = Q.int8_mixed_matmul(x, w, t)
        sweep.append((t, Q.error(y, out).snr_db, float(mask.float().mean())))
    md = (
        f"**Real inputs to layer {layer}'s {matrix}** on a {x.shape[0]}-token text, "
        f"{x.shape[1]} features; {k} planted outlier feature{'s' if k != 1 else ''} × {mag:g}. "
        f"Largest |x| = {x.abs().max():.2f}. LLM.int8() keeps **{int(kept.sum())} of "
        f"{x.shape[1]} features** ({kept.float().mean():.1%}) in float — those with any "
        f"|x| ≥ {thr:g} — and runs the rest in int8 per token × per channel."
    )
    return Outliers(
        md,
        rows,
        figures.features(x.abs().amax(0).numpy(), thr),
        figures.threshold_sweep(sweep, thr),
    )


# -- export: the lab's numbers, recomputed with the public libraries --------------------------


def lab_export(
    context: Context,
    source,
    layer,
    matrix,
    fmt,
    mapping,
    granularity,
    group_size,
    outliers,
    scale,
    seed,
) -> Export:
    """The lab's numbers, a script that recomputes them with the public libraries
    (bitsandbytes for NF4, torchao for int8 / int4 / int2, torch for FP8), and a table."""
    inputs, _, scheme, q, err, _, worst = _lab(
        context, source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale, seed
    )
    numbers = reproduce.numbers(q, err, worst)
    snippet = reproduce.snippet(scheme, inputs, str(load_lm(context).model.config._name_or_path))
    table = [[describe(scheme), k, v] for k, v in numbers.items()]
    return Export(numbers, snippet, {"lab": (["scheme", "quantity", "value"], table)})
