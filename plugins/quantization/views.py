"""What each part of the quantization tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` saying what is allowed; tab.py
turns that into a gr.Error. Models come from the registry and are only ever copied.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from playground import devices
from playground.inputs import BadInput, check_number, check_seed
from playground.lazy import lazy_module

Q = lazy_module("plugins.quantization.quantization")
llm = lazy_module("plugins.quantization.llm")
figures = lazy_module("plugins.quantization.figures")
heldout = lazy_module(
    "plugins.models.heldout"
)  # the held-out text and perplexity the model cards use

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


def check_choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise BadInput(f"{what} must be one of {', '.join(choices)}, not {str(value)[:40]!r}.")
    return value


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
    g = int(check_number(group_size, "The group size", MIN_GROUP, MAX_GROUP, whole=True))
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


def load_lm():
    from playground.models import REGISTRY, ModelUnavailable

    try:
        return REGISTRY.get(MODEL_ID, devices.device())
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
    mapping = "" if not scheme.format.startswith("int") else (
        " symmetric" if scheme.symmetric else " asymmetric"
    )  # fmt: skip
    extra = " + double-quantized scales" if scheme.double_quant else ""
    return f"{scheme.format}{mapping}, {where}{extra}"


# -- the mapping lab --------------------------------------------------------------------------


def _lab_matrix(source: str, layer: int, matrix: str, outliers: int, scale: float, seed: int):
    import torch

    lm = load_lm()
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


def _lab(source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale, seed):
    """The lab's checked inputs, its matrix and scheme, and what quantizing did."""
    source = check_choice(source, "The source", SOURCES)
    layer = int(check_number(layer, "The layer", 0, LAYERS - 1, whole=True))
    matrix = check_choice(matrix, "The matrix", MATRICES)
    n_out = int(check_number(outliers, "Outliers", 0, MAX_OUTLIERS, whole=True))
    scale = check_number(scale, "The outlier size", 1, MAX_OUTLIER_SCALE)
    seed = check_seed(seed)
    w = _lab_matrix(source, layer, matrix, n_out, scale, seed)
    scheme = scheme_for(fmt, mapping, granularity, group_size, w.shape[1])
    q = Q.quantize(w, scheme)
    blocks = Q.blocks(w, scheme)
    worst = int(blocks.abs().amax(-1).argmax())  # the block holding the largest |w|
    inputs = dict(source=source, layer=layer, matrix=matrix, outliers=n_out, scale=scale,
                  seed=seed)  # fmt: skip
    return inputs, w, scheme, q, Q.error(w, Q.dequantize(q)), blocks, worst


def mapping_lab(source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale,
                seed):  # fmt: skip
    """One weight matrix through one scheme: formula, histogram with grid, errors, and every
    format side by side."""
    inputs, w, scheme, q, err, blocks, worst = _lab(
        source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale, seed
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
        rows.append([describe(s), f"{8 * qo.nbytes / n:.2f}", f"{e.mse:.3e}",
                     f"{e.max_abs:.3e}", f"{e.snr_db:.1f}"])  # fmt: skip
    return md, figures.histogram(w.view(-1).numpy(), grid.numpy(), describe(scheme)), rows


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


# -- scope: weights, activations, KV cache on the real model ----------------------------------


@lru_cache(maxsize=2)
def _heldout(device: str):
    return heldout.heldout_ids()[: HELDOUT_TOKENS + 1].to(device)


# Perplexity is the slow part (a forward over every held-out token) and depends only on the
# model and the recipe, never on the prompt: each is measured once per process, and a run
# with a new prompt only decodes. The numbers shown are the same as measuring every time.


@lru_cache(maxsize=2)
def _float_baseline(device: str) -> tuple[float, int]:
    """The float model's held-out perplexity and bytes."""
    lm = load_lm()
    return heldout.perplexity(lm.model, _heldout(device)), llm.model_bytes(lm.model)


@lru_cache(maxsize=8)
def _float_greedy(device: str, prompt: str, new_tokens: int) -> tuple[list[int], float]:
    lm = load_lm()
    ids = _prompt_ids(lm, prompt, new_tokens)
    llm.greedy(lm.model, ids, new_tokens)
    return llm.greedy(lm.model, ids, new_tokens)  # the second run: warm caches, fair timing


@lru_cache(maxsize=32)
def _quantized_perplexity(device: str, recipe, act_scales: tuple | None) -> float:
    """Held-out perplexity of the model quantized by ``recipe`` (static scales as items)."""
    lm = load_lm()
    scales = None if act_scales is None else dict(act_scales)
    return heldout.perplexity(llm.quantized_copy(lm.model, recipe, scales), _heldout(device))


@lru_cache(maxsize=16)
def _calibrated(device: str, samples: int, source: str, seed: int) -> tuple:
    """Static activation scales from ``samples`` calibration windows, as sorted items."""
    lm = load_lm()
    calib = llm.calibration_ids(lm.tokenizer, samples, source, seed).to(lm.model.device)
    return tuple(sorted(llm.calibrate(lm.model, calib).items()))


def _prompt_ids(lm, prompt: str, new_tokens: int):
    import torch

    ids = lm.tokenizer(prompt)["input_ids"][-(512 - new_tokens) :]
    if not ids:
        raise BadInput("The prompt gives no tokens; type a few words.")
    return torch.tensor([ids], device=lm.model.device)


def _row(label, bits, scope, timing, model_bytes, kv_bytes, ppl, ms):
    return [label, bits, scope, timing, f"{model_bytes / 1024:,.0f}", f"{kv_bytes / 1024:,.0f}",
            f"{ppl:.3f}", "—" if ms is None else f"{ms:.1f}"]  # fmt: skip


HEADERS = ["configuration", "bits", "scope", "timing", "model KiB", "KV cache KiB (512 tokens)",
           "held-out perplexity", "ms / token"]  # fmt: skip


def _measure(recipe, label, bits, scope, timing, prompt, new_tokens, act_scales=None):
    """Quantize a copy, then the rows fp32 | quantized and the two continuations."""
    lm = load_lm()
    device = devices.device()
    fp_ppl, fp_bytes = _float_baseline(device)
    fp_tokens, fp_ms = _float_greedy(device, prompt, new_tokens)
    config = lm.model.config
    qmodel = llm.quantized_copy(lm.model, recipe, None if act_scales is None else dict(act_scales))
    ids = _prompt_ids(lm, prompt, new_tokens)
    tokens, ms = llm.greedy(qmodel, ids, new_tokens)
    ppl = _quantized_perplexity(device, recipe, act_scales)
    kv_bytes = llm.kv_cache_bytes(config, recipe.kv, KV_CONTEXT)
    rows = [
        _row("float32", 32, "—", "—", fp_bytes, llm.kv_cache_bytes(config, None, KV_CONTEXT),
             fp_ppl, fp_ms),
        _row(label, bits, scope, timing, llm.model_bytes(qmodel), kv_bytes, ppl, ms),
    ]  # fmt: skip
    decode = lm.tokenizer.decode
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


def scope_run(scope, fmt, mapping, granularity, group_size, prompt, new_tokens):
    """Weights only, weights + int8 activations, or the KV cache: size, perplexity, speed."""
    scope = check_choice(scope, "The scope", SCOPES)
    prompt = check_text(prompt)
    n = int(check_number(new_tokens, "New tokens", 1, MAX_NEW_TOKENS, whole=True))
    lm = load_lm()
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
    return _measure(recipe, label, scheme.bits, scope, timing, prompt, n)


def ptq_run(timing, samples, source, seed, prompt, new_tokens):
    """W8A8 with activation scales measured per input (dynamic) or calibrated once (static)."""
    timing = check_choice(timing, "The timing", TIMINGS)
    k = int(check_number(samples, "Calibration samples", 1, MAX_CALIBRATION, whole=True))
    source = check_choice(source, "The calibration text", llm.CALIBRATION_SOURCES)
    seed = check_seed(seed)
    prompt = check_text(prompt)
    n = int(check_number(new_tokens, "New tokens", 1, MAX_NEW_TOKENS, whole=True))
    scales = None
    label = "W8A8: int8 per channel · activations int8 per token, at run time"
    if timing == "static":
        scales = _calibrated(devices.device(), k, source, seed)
        label = f"W8A8 static: activation scales from {k} × 128 tokens of {source}"
    rows, md = _measure(llm.Recipe(Q.Scheme(), timing), label, 8, "weights + activations",
                        f"PTQ {timing}", prompt, n, scales)  # fmt: skip
    if scales is not None:
        top = sorted(scales, key=lambda kv: -kv[1])[:3]
        md += "\n\nLargest calibrated |input| (static scale = that / 127): " + ", ".join(
            f"`{name.removeprefix('model.layers.')}` {v:.2f}" for name, v in top
        )
    return rows, md


# -- quantization-aware training ----------------------------------------------------------------


def check_qat(fmt, granularity, steps, lr, seed):
    scheme = scheme_for(fmt, "symmetric", granularity, 64, 192)
    s = int(check_number(steps, "QAT steps", MIN_QAT_STEPS, MAX_QAT_STEPS, whole=True))
    rate = check_number(lr, "The learning rate", MIN_LR, MAX_LR)
    return scheme, s, rate, check_seed(seed)


def qat_run(fmt, granularity, steps, lr, seed, every: int = 0):
    """Yield (markdown, figure, final rows or None) while a fake-quant copy trains."""
    scheme, s, rate, seed = check_qat(fmt, granularity, steps, lr, seed)
    lm = load_lm()
    device = devices.device()
    held_out = _heldout(device)
    fp_ppl = _float_baseline(device)[0]
    ptq_ppl = _quantized_perplexity(device, llm.Recipe(scheme), None)
    head = (
        f"**{describe(scheme)}** · float32 perplexity {fp_ppl:.3f} · PTQ (round the trained "
        f"weights) {ptq_ppl:.3f}"
    )
    every = every or max(1, s // 20)
    last = None
    for p in llm.qat(lm.model, lm.tokenizer, scheme, s, rate, seed, QAT_TIME_CAP_S, every,
                   QAT_BATCH):  # fmt: skip
        last = p
        md = f"{head}\n\n**Step {p.step} of {s}** · loss {p.losses[-1]:.4f} · {p.seconds:.1f} s"
        yield md, figures.qat_curve(p.losses, s), None
    qat_ppl = heldout.perplexity(last.model.eval(), held_out)
    capped = f" (stopped at the {QAT_TIME_CAP_S:g} s cap)" if last.stopped_early else ""
    md = (
        f"{head} · **QAT {qat_ppl:.3f}** after {last.step} steps{capped}\n\n"
        f"**Step {last.step} of {s}** · loss {last.losses[-1]:.4f} · {last.seconds:.1f} s. "
        f"QAT vs PTQ at the same bits: perplexity {qat_ppl - ptq_ppl:+.3f} "
        + ("(training through the rounding found weights that round better)."
           if qat_ppl < ptq_ppl else "(not yet better: try more steps or another rate).")
    )  # fmt: skip
    bytes_ = llm.model_bytes(llm.quantized_copy(lm.model, llm.Recipe(scheme)))
    kv = llm.kv_cache_bytes(lm.model.config, None, KV_CONTEXT)
    label = f"{describe(scheme)} (QAT, {last.step} steps)"
    row = _row(label, scheme.bits, "weights only", "QAT", bytes_, kv, qat_ppl, None)
    yield md, figures.qat_curve(last.losses, s), [row]


# -- outliers and LLM.int8() ------------------------------------------------------------------


@lru_cache(maxsize=8)
def _activations(device: str, layer: int, matrix: str):
    """The real inputs to one linear layer on OUTLIER_TEXT, (T, in), and its weight."""
    import torch

    lm = load_lm()
    linear = _linear(lm, layer, matrix)
    seen = []
    hook = linear.register_forward_pre_hook(lambda _m, args: seen.append(args[0][0].detach()))
    try:
        with torch.no_grad():
            ids = lm.tokenizer(OUTLIER_TEXT)["input_ids"]
            lm.model(input_ids=torch.tensor([ids], device=lm.model.device))
    finally:
        hook.remove()
    return seen[0].float().cpu(), linear.weight.detach().float().cpu()


def outliers_run(layer, matrix, features, magnitude, threshold, seed):
    """Per-tensor int8, per-token × per-channel int8 and LLM.int8() on real activations with
    planted outlier features."""
    import torch

    layer = int(check_number(layer, "The layer", 0, LAYERS - 1, whole=True))
    matrix = check_choice(matrix, "The matrix", MATRICES)
    k = int(check_number(features, "Outlier features", 0, MAX_FEATURES, whole=True))
    mag = check_number(magnitude, "The outlier magnitude", 1, 100)
    thr = check_number(threshold, "The threshold", MIN_THRESHOLD, MAX_THRESHOLD)
    seed = check_seed(seed)
    x, w = _activations(devices.device(), layer, matrix)
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
    results = [("int8 per tensor", per_tensor()), ("int8 per token × per channel", vector_wise()),
               (f"LLM.int8(), threshold {thr:g}", mixed)]  # fmt: skip
    rows = [[name, f"{Q.error(y, out).snr_db:.1f}", f"{Q.error(y, out).max_abs:.3e}"]
            for name, out in results]  # fmt: skip
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
    return (
        md,
        rows,
        figures.features(x.abs().amax(0).numpy(), thr),
        figures.threshold_sweep(sweep, thr),
    )


# -- export: the lab's numbers, recomputed with the public libraries --------------------------

SNIPPET = '''"""The Quantization tab's mapping lab, recomputed with {library}.

An ML Playground export: it prints the numbers on screen as JSON.
"""
import json
import math

import torch
from transformers import AutoModelForCausalLM

source, layer, matrix = {source!r}, {layer!r}, {matrix!r}
outliers, outlier_size, seed = {outliers!r}, {scale!r}, {seed!r}
fmt, symmetric, granularity, group = {fmt!r}, {symmetric!r}, {granularity!r}, {group!r}

model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32)
part = model.model.layers[layer]
part = part.self_attn if matrix in ("q_proj", "k_proj", "v_proj", "o_proj") else part.mlp
w = getattr(part, matrix).weight.detach().float()
gen = torch.Generator().manual_seed(seed)  # the lab's matrix: real, or drawn, then outliers
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
    w.view(-1)[where] = signs * outlier_size * w.abs().max()

# each row of `rows` shares one scale
rows = {{"tensor": w.reshape(1, -1), "channel": w, "group": w.reshape(-1, group)}}[granularity]
worst = int(rows.abs().amax(-1).argmax())  # the block with the largest |w|, as on screen
zero_point = None
{method}
diff = (w - w_hat.reshape(w.shape)).reshape(-1)
noise, signal = diff.pow(2).sum().item(), w.pow(2).sum().item()
print(json.dumps({{
    "mse": diff.pow(2).mean().item(),
    "max_error": diff.abs().max().item(),
    "snr_db": 10 * math.log10(max(signal, 1e-30) / noise),
    "scale": scale,
    "zero_point": zero_point,
    "block": worst,
}}))
'''

TORCHAO = """from torchao.quantization.quant_primitives import (
    MappingType, choose_qparams_affine, dequantize_affine, quantize_affine,
)

bits = {"int8": 8, "int4": 4, "int2": 2}[fmt]
if symmetric:  # a balanced grid, -(2^(b-1) - 1)..2^(b-1) - 1: the scale is absmax / q_max
    q_max = 2 ** (bits - 1) - 1
    mapping, dtype, q_min = MappingType.SYMMETRIC, torch.int8, -q_max
else:
    mapping, dtype, q_min, q_max = MappingType.ASYMMETRIC, torch.uint8, 0, 2**bits - 1
size = (1, rows.shape[1])  # torchao's block: one row of `rows`
s, z = choose_qparams_affine(rows, mapping, size, dtype, q_min, q_max)
codes = quantize_affine(rows, size, s, z, dtype, q_min, q_max)
w_hat = dequantize_affine(codes, size, s, z, dtype, q_min, q_max)
scale = s.reshape(-1)[worst].item()
if not symmetric:
    zero_point = int(z.reshape(-1)[worst])"""

BITSANDBYTES = """import bitsandbytes.functional as bnb

length = rows.shape[1]
size = next((b for b in (32, 64, 128, 256, 512, 1024, 2048, 4096) if b >= length), None)
if size is None:  # one block longer than bitsandbytes' largest: its NF4 code book, torch rounds
    code = bnb.get_4bit_type("nf4", device="cpu")
    absmax = rows.abs().amax(-1, keepdim=True)  # double quantization keeps one scale exact
    w_hat = code[torch.bucketize(rows * (1 / absmax), (code[:-1] + code[1:]) / 2)] * absmax
else:  # each row padded with zeros to a block size bitsandbytes takes: no absmax changes
    padded = torch.nn.functional.pad(rows, (0, size - length))
    packed, state = bnb.quantize_4bit(
        padded, blocksize=size, quant_type="nf4", compress_statistics=True
    )
    w_hat = bnb.dequantize_4bit(packed, state)[:, :length]
scale = w_hat[worst].abs().max().item()  # the block's largest |w| lands on level +-1"""

TORCH_FP8 = """dtype = {"fp8-e4m3": torch.float8_e4m3fn, "fp8-e5m2": torch.float8_e5m2}[fmt]
s = (rows.abs().amax(-1, keepdim=True) / torch.finfo(dtype).max).clamp_min(1e-12)
w_hat = (rows / s).to(dtype).float() * s  # round to the nearest FP8 value, scale back
scale = s[worst].item()"""


def lab_export(source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale,
               seed) -> tuple[dict, str, list]:  # fmt: skip
    """The lab's numbers, a script that recomputes them with the public libraries
    (bitsandbytes for NF4, torchao for int8 / int4 / int2, torch for FP8), and a table."""
    inputs, _, scheme, q, err, _, worst = _lab(
        source, layer, matrix, fmt, mapping, granularity, group_size, outliers, scale, seed
    )
    zero_point = None if q.zero_point is None else int(q.zero_point[worst, 0])
    numbers = {"mse": err.mse, "max_error": err.max_abs, "snr_db": err.snr_db,
               "scale": float(q.scale[worst, 0]), "zero_point": zero_point,
               "block": worst}  # fmt: skip
    library, method = {"nf4": ("bitsandbytes", BITSANDBYTES), "fp8-e4m3": ("torch", TORCH_FP8),
                       "fp8-e5m2": ("torch", TORCH_FP8)}.get(scheme.format,
                                                              ("torchao", TORCHAO))  # fmt: skip
    snippet = SNIPPET.format(
        library=library, method=method, path=str(load_lm().model.config._name_or_path),
        fmt=scheme.format, symmetric=scheme.symmetric, granularity=scheme.granularity,
        group=scheme.group_size, **inputs,
    )  # fmt: skip
    table = [[describe(scheme), k, v] for k, v in numbers.items()]
    return numbers, snippet, table
