"""What each part of the MoE tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py's
`guard` turns that into a gr.Error, and hands a `Result`'s fields to the event's outputs. A
real-model capture is cached per text, so switching views is instant. The export is reproduce.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from playground.concept import Context
from playground.inputs import BadInput, Result, check_number, check_seed, check_whole
from playground.lazy import lazy_module
from plugins.models.language import parameter_counts
from plugins.models.paths import DENSE_DIR, MOE_DIR
from plugins.models.text import readable
from plugins.moe import figures

torch = lazy_module("torch")
capture = lazy_module("plugins.moe.capture")
lab = lazy_module("plugins.moe.lab")
moe = lazy_module("plugins.moe.moe")
anatomy = lazy_module("plugins.attention.anatomy")  # FLOPs per token, counted as that tab does
decode = lazy_module("plugins.gpt.decode")  # the greedy loop the GPT tab teaches

MAX_TOKENS = 512  # the bundled models' context, and the lab's token limit
MAX_TEXT_CHARS = 4_000
MIN_EXPERTS, MAX_EXPERTS = 2, 64
MIN_K, MAX_K = 1, 4
MAX_CAPACITY = 4.0  # capacity factor: above 0 and at most this (an expert takes 4× its even share)
MAX_NOISE = 2.0
MIN_STEPS, MAX_STEPS = 10, 5_000
DEFAULT_STEPS = 1_000  # ~7 s on 2 cores: long enough to watch the loads split, and to try Stop
MAX_AUX = 1.0
MAX_TRAIN_SECONDS = 30.0  # hard cap on one training run, whatever the steps
MAX_NEW_TOKENS = 64
FLOPS_CONTEXT = 128  # the held-out evaluation's window, for FLOPs per token
MOE_ID, DENSE_ID = "tiny-mixtral", "tiny-llama"
CAPTURE_CACHE = 8


# -- checking inputs --------------------------------------------------------------------------


def check_text(text: str | None, what: str = "text") -> str:
    if text is None or not text.strip():
        raise BadInput(f"Type some {what} first: a sentence of a few words is enough.")
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"The {what} is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,}.")
    return text


def check_capacity(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not 0 < number <= MAX_CAPACITY:
        raise BadInput(
            f"The capacity factor must be above 0 and at most {MAX_CAPACITY:g}, not {value}."
        )
    return number


def check_routing(experts: Any, top_k: Any) -> tuple[int, int]:
    e = check_whole(experts, "The number of experts", MIN_EXPERTS, MAX_EXPERTS)
    k = check_whole(top_k, "k (experts per token)", MIN_K, MAX_K)
    if k > e:
        raise BadInput(f"k = {k} is more than the {e} experts: choose k from {MIN_K} to {e}.")
    return e, k


def _label(token: str) -> str:
    return token.replace("Ġ", "␣").replace("Ċ", "⏎") or "·"  # byte-level BPE's space, newline


def load(context: Context, model_id: str) -> Any:
    from playground.models import ModelUnavailable

    try:
        return context.model(model_id)
    except KeyError:
        raise BadInput(
            f"Model {model_id!r} is not registered: the models plugin provides it."
        ) from None
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None


# -- the real model's routing ---------------------------------------------------------------


class Capture(NamedTuple):
    tokens: list[str]
    layers: list[Any]  # capture.Layer per layer
    check: Any  # capture.Check: our layer against the model's blocks
    top_k: int
    total: int  # tokens before truncation


# Keyed on the context too: the numbers are those of the model that registry holds as MOE_ID.
@lru_cache(maxsize=CAPTURE_CACHE)
def _capture(context: Context, device: str, text: str) -> Capture:
    lm = load(context, MOE_ID)
    ids = lm.tokenizer(text)["input_ids"]
    if not ids:
        raise BadInput("The text gives no tokens; type a few words.")
    total, ids = len(ids), ids[:MAX_TOKENS]
    layers = capture.capture(lm.model, torch.tensor([ids], device=lm.model.device))
    tokens = [_label(t) for t in lm.tokenizer.convert_ids_to_tokens(ids)]
    k = lm.model.config.num_experts_per_tok
    return Capture(tokens, layers, capture.check(lm.model, layers), k, total)


def routed(context: Context, text: str) -> Capture:
    """What the bundled MoE's routers did with ``text`` (cached: the view and the export)."""
    return _capture(context, context.device(), check_text(text))


@dataclass(frozen=True)
class Routing(Result):
    status: str  # Markdown: tokens, layers, experts, and a notice when the text was cut
    maps: Any  # plotly: router probabilities per layer, the chosen experts ringed
    loads: Any  # plotly: tokens per expert, per layer
    verdict: str  # Markdown: our layer against the model's blocks, and the imbalance


def route(context: Context, text: str) -> Routing:
    """The bundled MoE's routing of ``text``: status, per-layer maps, loads, and our check."""
    c = routed(context, text)
    probs = [layer.logits.softmax(-1) for layer in c.layers]
    chosen = [p.topk(c.top_k, dim=-1).indices for p in probs]
    experts = probs[0].shape[-1]
    loads = [[int(n) for n in ch.flatten().bincount(minlength=experts)] for ch in chosen]
    t = len(c.tokens)
    status = (
        f"**{t} tokens** through tiny-mixtral's {len(c.layers)} layers, {experts} experts each, "
        f"top-{c.top_k}: rings mark each token's chosen experts."
    )
    if c.total > t:
        status += f"\n\n⚠️ The text has {c.total} tokens; only the first {MAX_TOKENS} are read."
    busiest = [max(load) / (sum(load) / experts) for load in loads]
    ch = c.check
    verdict = (
        "**Our layer reproduces the model.** Loading each block's weights into our from-scratch "
        "`MoELayer` (`moe.from_mixtral`) and feeding it the hidden states the block read gives "
        f"router logits within {ch.logits_err:.1e} and outputs within {ch.output_err:.1e} of "
        f"transformers' `MixtralSparseMoeBlock`; the same top-{c.top_k} experts for "
        f"{ch.choices_agree:.1%} of (token, layer) pairs.\n\n"
        "Load imbalance (max / mean tokens per expert) by layer: "
        + ", ".join(f"layer {i}: {b:.2f}" for i, b in enumerate(busiest))
        + " (1.00 is perfectly even; this model trained with Mixtral's auxiliary loss)."
    )
    return Routing(
        status,
        figures.router_maps(
            [p.cpu().numpy() for p in probs], [x.cpu().numpy() for x in chosen], c.tokens
        ),
        figures.layer_loads(loads),
        verdict,
    )


def clear_cache() -> None:
    _capture.cache_clear()


# -- dense vs sparse --------------------------------------------------------------------------


def _eval(model_id: str) -> dict[str, Any]:
    folder = {MOE_ID: MOE_DIR, DENSE_ID: DENSE_DIR}[model_id]
    return json.loads((folder / "eval.json").read_text())


@dataclass(frozen=True)
class Compared(Result):
    table: list[list]  # one row per model: FFN, sizes, FLOPs, perplexity, entropy
    note: str  # Markdown: what the numbers mean, then each model's greedy continuation


def compare(context: Context, prompt: str, new_tokens: Any) -> Compared:
    """The MoE and its dense twin side by side: sizes, FLOPs, perplexity, continuations."""
    prompt = check_text(prompt, "prompt")
    n = check_whole(new_tokens, "New tokens", 1, MAX_NEW_TOKENS)
    rows, samples = [], []
    for model_id in (DENSE_ID, MOE_ID):
        lm = load(context, model_id)
        ids = lm.tokenizer(prompt)["input_ids"][-(MAX_TOKENS - n) :]
        if not ids:
            raise BadInput("The prompt gives no tokens; type a few words.")
        total, active = parameter_counts(lm.model)
        flops = anatomy.breakdown(anatomy.from_config(lm.model.config), FLOPS_CONTEXT).flops
        ev = _eval(model_id)
        cfg = lm.model.config
        experts = getattr(cfg, "num_local_experts", 1)
        k = getattr(cfg, "num_experts_per_tok", 1)
        ffn = (
            f"{experts} experts × {cfg.intermediate_size}, top-{k}"
            if experts > 1
            else f"1 FFN × {cfg.intermediate_size}"
        )
        rows.append(
            [
                model_id,
                ffn,
                f"{total:,}",
                f"{active:,}",
                f"{flops / 1e6:.2f} M",
                f"{ev['perplexity']:.3f}",
                f"{ev['entropy_nats']:.3f}",
            ]
        )
        with torch.no_grad():
            out = decode.greedy(lm.model, torch.tensor([ids], device=lm.model.device), n)
        text = readable(lm.tokenizer.decode(out[0, len(ids) :].tolist()))
        samples.append(f"**{model_id}** (greedy): {prompt.strip()} **{text.strip()}**")
    dense, sparse = rows
    ratio = int(sparse[2].replace(",", "")) / int(dense[2].replace(",", ""))
    note = (
        f"The MoE stores **{ratio:.1f}×** the dense model's parameters but uses about the same "
        "per token: each token runs 2 of 8 experts whose FFN is half as wide as the dense one's. "
        f"FLOPs per token are the forward pass's at a {FLOPS_CONTEXT}-token context, counted as "
        "Chinchilla's Appendix F does (matrix products, embedding, softmax; "
        "`plugins.attention.anatomy`). Perplexity and entropy are measured on the same "
        f"held-out text ({_eval(MOE_ID)['tokens']:,} tokens, from each model's eval.json); "
        "both models saw the same batches for the same steps.\n\n" + "\n\n".join(samples)
    )
    return Compared(rows, note)


# -- the routing lab --------------------------------------------------------------------------


@dataclass(frozen=True)
class Lab(Result):
    md: str  # Markdown: capacity, aux loss, imbalance, drops
    map: Any  # plotly: each token's router probabilities, its choices kept or dropped
    load: Any  # plotly: tokens per expert, wanted and kept
    dropped: list[list]  # the first 200 dropped choices


def routing_lab(
    shape: str,
    tokens: Any,
    experts: Any,
    top_k: Any,
    capacity_factor: Any,
    noise: Any,
    seed: Any,
) -> Lab:
    """Our MoE layer on random or shaped tokens: the routing, the drops, the loads, the loss."""
    if shape not in lab.SHAPES:
        raise BadInput(f"Token shape must be one of {', '.join(lab.SHAPES)}, not {shape!r}.")
    t = check_whole(tokens, "The number of tokens", 1, MAX_TOKENS)
    e, k = check_routing(experts, top_k)
    cf = check_capacity(capacity_factor)
    sigma = check_number(noise, "Router noise", 0, MAX_NOISE)
    seed = check_seed(seed)

    gen = torch.Generator().manual_seed(seed)
    x = lab.make_tokens(shape, t, lab.LAB_DIM, gen)
    layer = lab.lab_layer(e, k, cf, sigma, seed)
    with torch.no_grad():
        out = layer(x, generator=gen)
    r = out.routing
    wanted, load = r.wanted.tolist(), r.load.tolist()
    dropped = (~r.kept).nonzero().tolist()  # (token, slot) pairs
    lost = int((~r.kept).all(-1).sum())
    md = (
        f"**{t} tokens → {e} experts, top-{k}**, capacity C = ⌈{cf:g} · {t} · {k} / {e}⌉ = "
        f"**{r.capacity}** tokens per expert · router noise σ = {sigma:g}\n\n"
        f"**Load-balancing loss** E · Σ f·P = **{out.aux_loss.item():.4f}** (perfectly even "
        f"routing gives k = {k}) · **load imbalance** max / mean = "
        f"**{moe.imbalance(r.wanted):.2f}** before capacity, {moe.imbalance(r.load):.2f} after · "
        f"**dropped**: {len(dropped)} of {t * k} choices; {lost} of {t} tokens lost every expert "
        "(the residual stream carries them past the layer unchanged)."
    )
    if k == 1:
        md += (
            "\n\nWith k = 1 the renormalised gate is always 1 (as in Mixtral), so the task loss "
            "gives the router no gradient; Switch Transformers keeps p itself as the gate."
        )
    rows = []
    for tok, slot in dropped[:200]:
        e = int(r.experts[tok, slot])
        rows.append([tok, slot + 1, e, f"{float(r.probs[tok, e]):.3f}"])
    return Lab(
        md,
        figures.lab_map(r.probs.numpy(), r.experts.numpy(), r.kept.numpy(), r.capacity),
        figures.lab_load(wanted, load, r.capacity),
        rows,
    )


# -- the live training run ------------------------------------------------------------------


def check_training(experts: Any, top_k: Any, steps: Any, aux: Any, seed: Any):
    e, k = check_routing(experts, top_k)
    s = check_whole(steps, "Steps", MIN_STEPS, MAX_STEPS)
    a = check_number(aux, "The aux-loss weight", 0, MAX_AUX)
    if a == 0:
        raise BadInput(f"The aux-loss weight must be above 0 and at most {MAX_AUX:g}.")
    return e, k, s, a, check_seed(seed)


def training_summary(p: Any, steps: int) -> str:
    parts = [f"**Step {p.step} of {steps}** · {p.seconds:.1f} s"]
    if p.stopped_early:
        parts.append(f"⏱️ stopped at the {MAX_TRAIN_SECONDS:g} s cap")
    for name in p.imbalance:
        parts.append(
            f"**{name}**: imbalance {p.imbalance[name][-1]:.2f}, "
            f"task loss {p.task_loss[name][-1]:.4f}"
        )
    return " · ".join(parts)


def train(
    experts: Any,
    top_k: Any,
    steps: Any,
    aux: Any,
    seed: Any,
    report_every: int = 0,
    progress: Callable | None = None,
) -> Iterator[tuple[Any, Any, str]]:
    """Yield (lab.Progress, figure, summary) as the two runs train; the last yield is the
    finished run. ``progress(fraction, desc=...)`` is told each step reported."""
    e, k, s, a, seed = check_training(experts, top_k, steps, aux, seed)
    every = report_every or max(1, s // 10)  # a plot costs ~70 ms: ten per run
    for p in lab.train(e, k, s, a, seed, MAX_TRAIN_SECONDS, every):
        if progress is not None:
            progress(p.step / s, desc=f"step {p.step} of {s}")
        yield p, figures.training(p.shares, p.imbalance, s), training_summary(p, s)
