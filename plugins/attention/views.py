"""What each part of the attention tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py's
`guard` turns that into a gr.Error, and hands a `Result`'s fields to the event's outputs.
Captures are cached per (context, model, device, text), so opening one head after another does
not run the model again. The Positions section is positions.py, the hand-made head
playground_head.py, the export reproduce.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from playground.concept import Context
from playground.inputs import BadInput, Result
from playground.lazy import lazy_module
from plugins.attention import anatomy as anat
from plugins.attention import figures

torch = lazy_module("torch")
att = lazy_module("plugins.attention.attention")
capture = lazy_module("plugins.attention.capture")

MAX_TOKENS = 128  # the full grid's limit: 72 maps of 128 × 128 for MiniLM
MAX_TEXT_CHARS = 2_000
CONTEXT_MAX = 131_072
THRESHOLD_MIN, THRESHOLD_MAX = 0.01, 1.0
BUNDLED = {"minilm": "MiniLM", "tiny-llama": "Tiny Llama"}
ANATOMY_MODELS = {
    "Tiny Llama (bundled)": "tiny-llama",
    "Tiny Mixtral MoE (bundled)": "tiny-mixtral",
    "MiniLM (bundled)": "minilm",
}
ANATOMY_CHOICES = [*anat.PRESETS, *ANATOMY_MODELS]
CAPTURE_CACHE = 8


# -- checking inputs --------------------------------------------------------------------------


def check_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise BadInput("Type some text first: a sentence of a few words is enough.")
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"The text is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,}.")
    return text


def model_ids(context: Context) -> list[str]:
    causal = context.models.specs(task="causal-lm")
    return [*BUNDLED, *(s.id for s in causal if s.id not in BUNDLED)]


def model_choices(context: Context) -> list[tuple[str, str]]:
    """The model picker's (label, id) pairs: the bundled two, then hub models marked when absent."""
    choices = [
        ("MiniLM encoder (bundled)", "minilm"),
        ("Tiny Llama, causal (bundled)", "tiny-llama"),
    ]
    for spec in context.models.specs(task="causal-lm"):
        if spec.id != "tiny-llama":
            mark = "" if spec.unavailable() is None else " (not available here)"
            choices.append((f"{spec.title}{mark}", spec.id))
    return choices


def check_model(context: Context, model_id: str | None) -> str:
    allowed = model_ids(context)
    if model_id not in allowed:
        raise BadInput(f"Unknown model {str(model_id)[:40]!r}; choose one of {', '.join(allowed)}.")
    return model_id


def check_index(value: Any, what: str, count: int | None = None) -> int:
    """A whole number ≥ 0, and below ``count`` when given."""
    valid = f"from 0 to {count - 1}" if count is not None else "of 0 or more"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{what} must be a whole number {valid}, not {value!r}.") from None
    if not math.isfinite(number) or number != int(number) or number < 0:
        raise BadInput(f"{what} must be a whole number {valid}, not {value}.")
    if count is not None and number >= count:
        raise BadInput(f"{what} {int(number)} is out of range: choose one {valid}.")
    return int(number)


# -- running a model ------------------------------------------------------------------------


def load(context: Context, model_id: str) -> tuple[Any, Any]:
    """(the transformers model, its tokenizer) from the context's registry."""
    try:
        loaded = context.model(model_id)
    except KeyError:
        raise BadInput(
            f"Model {model_id!r} is not registered: the models plugin provides it."
        ) from None
    if model_id == "minilm":  # a SentenceTransformer: module 0 wraps the BertModel
        return loaded[0].auto_model, loaded.tokenizer
    return loaded.model, loaded.tokenizer


class Run(NamedTuple):
    model: Any
    tokens: list[str]  # one label per position
    captured: Any  # capture.Captured
    total: int  # tokens before truncation


def _label(token: str) -> str:
    return token.replace("Ġ", "␣").replace("Ċ", "⏎") or "·"  # byte-level BPE's space, newline


def tokenize(tokenizer: Any, text: str) -> tuple[list[int], int]:
    """Token ids, cut to MAX_TOKENS (an encoder keeps its closing [SEP]); and the full count."""
    ids = tokenizer(text)["input_ids"]
    if len(ids) <= MAX_TOKENS:
        return ids, len(ids)
    if tokenizer.sep_token_id is not None and ids[-1] == tokenizer.sep_token_id:
        return [*ids[: MAX_TOKENS - 1], ids[-1]], len(ids)
    return ids[:MAX_TOKENS], len(ids)


# Keyed on the context too: a Run holds the loaded model, which is that registry's own.
@lru_cache(maxsize=CAPTURE_CACHE)
def _run(context: Context, model_id: str, device: str, text: str) -> Run:
    model, tokenizer = load(context, model_id)
    ids, total = tokenize(tokenizer, text)
    if not ids:
        raise BadInput("The text gives no tokens; type a few words.")
    input_ids = torch.tensor([ids], device=model.device)
    tokens = [_label(t) for t in tokenizer.convert_ids_to_tokens(ids)]
    return Run(model, tokens, capture.capture(model, input_ids), total)


def run(context: Context, model_id: str, text: str) -> Run:
    return _run(context, check_model(context, model_id), context.device(), check_text(text))


def clear_cache() -> None:
    _run.cache_clear()


# -- model view -------------------------------------------------------------------------------


def _selected(r: Run, layer: Any, head: Any) -> tuple[int, int]:
    c = r.captured
    return check_index(layer, "Layer", len(c.layers)), check_index(head, "Head", c.heads)


@dataclass(frozen=True)
class Grid(Result):
    status: str  # Markdown: tokens, layers × heads, and a notice when the text was cut
    image: Any  # numpy RGB: every head's map, the chosen one framed
    layer: int  # the pickers, kept in range of this model
    head: int
    query: int


def grid(context: Context, text: str, model_id: str, layer: Any, head: Any, query: Any) -> Grid:
    """Status, the layers × heads image, and the pickers kept in range of this model."""
    # Checked before the run, so a bad picker value fails fast.
    wanted = [check_index(v, w) for v, w in ((layer, "Layer"), (head, "Head"), (query, "Query"))]
    r = run(context, model_id, text)
    c = r.captured
    t = len(r.tokens)
    counts = (len(c.layers), c.heads, t)
    layer, head, query = (min(v, n - 1) for v, n in zip(wanted, counts, strict=True))
    kind = (
        "causal: each token sees itself and the tokens before it"
        if c.causal
        else "bidirectional: each token sees every token"
    )
    notes = [
        f"**{t} tokens** · {len(c.layers)} layers × {c.heads} heads ({kind}) · "
        "each small map is scaled to its own largest weight; click one to open it."
    ]
    if r.total > t:
        notes.append(f"⚠️ The text has {r.total} tokens; the grid shows the first {MAX_TOKENS}.")
    image = figures.grid_image(c.weights.float().cpu().numpy(), (layer, head))
    return Grid("\n\n".join(notes), image, layer, head, query)


def picked(index: tuple[int, int], layer: Any, head: Any) -> tuple[Any, Any]:
    """A click at ``index`` (x, y) on the grid image: the (layer, head) under it, or the
    pickers as they were."""
    found = figures.grid_cell(*index)
    return found if found is not None else (layer, head)


@dataclass(frozen=True)
class Head(Result):
    grid: Any  # the grid image, this head framed
    heatmap: Any  # plotly: token-to-token weights
    links: Any  # plotly: lines between tokens, for weights over the threshold
    steps_md: str  # Markdown: the five steps for the query token, with its numbers
    vectors: Any  # plotly: q, every key, every value, and the output
    bars: Any  # plotly: scores and weights per key
    steps: list[list]  # one row per key token: q·k, scaled, mask, weight


def head(
    context: Context, text: str, model_id: str, layer: Any, head: Any, query: Any, threshold: Any
) -> Head:
    """One head large (heatmap and links) and its arithmetic for one query token."""
    r = run(context, model_id, text)
    layer, head = _selected(r, layer, head)
    t = len(r.tokens)
    query = check_index(query, "Query token position", t)
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        threshold = math.nan
    if not THRESHOLD_MIN <= threshold <= THRESHOLD_MAX:  # NaN fails this too
        raise BadInput(f"The link threshold must be between {THRESHOLD_MIN} and {THRESHOLD_MAX}.")
    c = r.captured
    weights = c.layers[layer].weights[head].float().cpu().numpy()  # (T, T)
    lyr = c.layers[layer]
    s = att.head_steps(lyr.q[head], lyr.k[head], lyr.v[head], query, c.causal, c.scale)
    np_ = {k: getattr(s, k).float().cpu().numpy() for k in ("dots", "scaled", "weights")}
    allowed = s.allowed.cpu().tolist()
    rows = [
        [
            j,
            r.tokens[j],
            f"{np_['dots'][j]:.4f}",
            f"{np_['scaled'][j]:.4f}",
            "0" if allowed[j] else "−∞",
            f"{np_['weights'][j]:.6f}",
        ]
        for j in range(t)
    ]
    top = int(np_["weights"].argmax())
    d = s.query.shape[0]
    mask_line = (
        f"3. **Causal mask**: keys after position {query} get $-\\infty$, so $e^{{-\\infty}} = 0$ "
        f"weight ({t - 1 - query} of {t} hidden).\n"
        if c.causal
        else "3. **No mask**: an encoder lets every token see every other.\n"
    )
    md = (
        f"**Layer {layer}, head {head}, query token {query} `{r.tokens[query]}`** "
        f"(d = {d}, the model's real numbers, read through hooks on its projections).\n\n"
        "1. **Dot products** $q_i \\cdot k_j = \\sum_c q_{ic} k_{jc}$ score how well each key "
        f"matches the query (‖q‖ = {float(s.query.norm()):.3f}).\n"
        f"2. **Scaling** by $1/\\sqrt{{d}}$ = 1/{math.sqrt(d):.3f} = {s.scale:.4f}, so the "
        "scores' spread does not grow with d.\n"
        f"{mask_line}"
        "4. **Softmax** $w_j = e^{s_j - \\max s} / \\sum_{j'} e^{s_{j'} - \\max s}$: "
        f"Σ w = {float(s.weights.sum()):.6f}; the largest is {np_['weights'][top]:.4f} on "
        f"`{r.tokens[top]}` (position {top}).\n"
        "5. **Weighted sum of values** $z_i = \\sum_j w_j v_j$: "
        f"‖z‖ = {float(s.output.norm()):.3f}."
    )
    name = f"Layer {layer}, head {head}"
    return Head(
        figures.grid_image(c.weights.float().cpu().numpy(), (layer, head)),
        figures.heatmap(weights, r.tokens, name),
        figures.lines(weights, r.tokens, threshold, query),
        md,
        figures.vectors(
            s.query.float().cpu().numpy(),
            s.keys.float().cpu().numpy(),
            s.values.float().cpu().numpy(),
            s.output.float().cpu().numpy(),
            r.tokens,
        ),
        figures.scores_and_weights(
            [v if ok else 0.0 for v, ok in zip(np_["scaled"].tolist(), allowed, strict=True)],
            np_["weights"].tolist(),
            allowed,
            r.tokens,
        ),
        rows,
    )


def head_on_load(
    context: Context, text: str, model_id: str, layer: Any, head_: Any, query: Any, threshold: Any
) -> Head:
    """The head the grid opens: its pickers kept in range of the model first, as the grid does."""
    shown = grid(context, text, model_id, layer, head_, query)
    return head(context, text, model_id, shown.layer, shown.head, shown.query, threshold)


# -- anatomy ------------------------------------------------------------------------------------


def _counted(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n:,}"


@dataclass(frozen=True)
class Anatomy(Result):
    md: str  # Markdown: dense or sparse, the FFN's share, FLOPs per token counted both ways
    plot: Any  # plotly: parameters and FLOPs per component
    table: list[list]  # one row per component, then the total


def anatomy(ctx: Context, choice: str, context: Any) -> Anatomy:
    """Parameters and FLOPs per component for a preset or a bundled model's real config."""
    # The host's Context is `ctx` here: `context` is the context length, the name the
    # attention_anatomy endpoint has always given that input.
    if choice not in ANATOMY_CHOICES:
        raise BadInput(f"Choose one of: {', '.join(ANATOMY_CHOICES)}.")
    try:
        n_ctx = float(context)
    except (TypeError, ValueError):
        n_ctx = math.nan
    if not math.isfinite(n_ctx) or n_ctx != int(n_ctx) or not 1 <= n_ctx <= CONTEXT_MAX:
        raise BadInput(f"The context length must be a whole number from 1 to {CONTEXT_MAX:,}.")
    measured = None
    if choice in anat.PRESETS:
        arch = anat.PRESETS[choice]
    else:
        model, _ = load(ctx, ANATOMY_MODELS[choice])
        arch = anat.from_config(model.config, choice)
        measured = sum(p.numel() for p in model.parameters())
    b = anat.breakdown(arch, int(n_ctx))
    rows = [
        [c.name, f"{c.params:,}", f"{c.active:,}", f"{c.flops:,}", f"{c.params / b.total:.1%}"]
        for c in b.components
    ]
    rows.append(["total", f"{b.total:,}", f"{b.active:,}", f"{b.flops:,}", "100%"])
    if arch.experts > 1:
        use = (
            f"a sparse MoE: it stores **{_counted(b.total)}** parameters but each token uses "
            f"only **{_counted(b.active)}** ({arch.active_experts} of {arch.experts} experts "
            "per layer)"
        )
    else:
        use = f"dense: every one of its **{_counted(b.total)}** parameters works on every token"
    check = ""
    if measured is not None:
        same = "matches" if measured == b.total else "DIFFERS from"
        check = f" Counted from the config, this {same} `sum(p.numel())` of the loaded model "
        check += f"({measured:,})."
    share = "a dense block's FFN is about 2/3"
    if arch.experts > 1:
        active_ffn = b.block_ffn_params * arch.active_experts // arch.experts
        active_block = b.block_params - b.block_ffn_params + active_ffn
        share = f"of what one token uses in a block, the FFN is {active_ffn / active_block:.1%}"
    md = (
        f"**{arch.name}** is {use}. In one block the FFN holds "
        f"**{b.block_ffn_params / b.block_params:.1%}** of the parameters "
        f"({b.block_ffn_params:,} of {b.block_params:,}); {share}."
        f"{check}\n\nForward FLOPs per token at context n_ctx = {int(n_ctx):,}, two ways. "
        f"**{b.flops / 1e9:.3g} GFLOPs** as Hoffmann et al. (2022, Chinchilla) Appendix F "
        "counts each operation, as the table and chart do: 2 per multiply-add of every matrix "
        "product, the embedding lookup counted as a one-hot product, q·k and the weighted sum "
        "of values over all n_ctx keys, the softmax and the logits. "
        f"**{b.kaplan_flops / 1e9:.3g} GFLOPs** as Kaplan et al. (2020) Table 1 counts: "
        f"C = 2N + 2·n_layer·n_ctx·d_attn, where N = {_counted(b.non_embedding)} are the "
        "non-embedding weights a token uses; it leaves out the embedding and the logits and "
        "its context term is half of Chinchilla's."
    )
    bars = [(c.name, c.params, c.active, c.flops) for c in b.components]
    return Anatomy(md, figures.anatomy_bars(bars, arch.name), rows)
