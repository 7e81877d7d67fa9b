"""What the attention tab's Playground head shows: a hand-made head, no model (no gradio here).

Its own module because it shares nothing with the views that run a real model (views.py); like
them, it raises `BadInput` saying what is allowed and returns `Result`s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from playground.inputs import BadInput, Result
from playground.lazy import lazy_module
from plugins.attention import figures

torch = lazy_module("torch")
att = lazy_module("plugins.attention.attention")

MAX_TOY_TOKENS, MAX_TOY_CHARS, MAX_TOY_LABEL = 8, 200, 16
PLAYGROUND_DIM = 2  # tiny enough to edit by hand
TOY_MAX = 10.0
TOY_HEADERS = ["token", "q1", "q2", "k1", "k2", "v1", "v2"]


def check_toy_tokens(text: str | None) -> list[str]:
    if text is None or len(text) > MAX_TOY_CHARS:
        raise BadInput(f"Type 1 to {MAX_TOY_TOKENS} short tokens (at most {MAX_TOY_CHARS} chars).")
    tokens = text.split()
    if not 1 <= len(tokens) <= MAX_TOY_TOKENS or any(len(t) > MAX_TOY_LABEL for t in tokens):
        raise BadInput(
            f"Type 1 to {MAX_TOY_TOKENS} tokens separated by spaces, each at most "
            f"{MAX_TOY_LABEL} characters (got {len(tokens)})."
        )
    return tokens


def toy_defaults(tokens_text: str) -> list[list]:
    """One row per token with small seeded vectors, a starting point to edit."""
    tokens = check_toy_tokens(tokens_text)
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=(len(tokens), 3 * PLAYGROUND_DIM)), 1)
    return [[tok, *row.tolist()] for tok, row in zip(tokens, values, strict=True)]


def _toy_rows(table: Any) -> tuple[list[str], np.ndarray]:
    rows = table.get("data") if isinstance(table, dict) else table
    if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_TOY_TOKENS:
        raise BadInput(f"The table needs 1 to {MAX_TOY_TOKENS} rows: one per token.")
    tokens, values = [], []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(TOY_HEADERS):
            raise BadInput(f"Each row needs {len(TOY_HEADERS)} cells: {', '.join(TOY_HEADERS)}.")
        tokens.append(str(row[0])[:MAX_TOY_LABEL] or "·")
        for cell in row[1:]:
            try:
                x = float(cell)
            except (TypeError, ValueError):
                raise BadInput(f"{str(cell)[:20]!r} is not a number; cells hold numbers.") from None
            if not math.isfinite(x) or abs(x) > TOY_MAX:
                raise BadInput(f"Each number must be finite and between ±{TOY_MAX:g}, not {cell}.")
            values.append(x)
    return tokens, np.array(values, dtype=np.float32).reshape(len(rows), 3, PLAYGROUND_DIM)


@dataclass(frozen=True)
class Toy(Result):
    heat: Any  # plotly heatmap: each token's weights over the tokens
    outputs: dict  # Dataframe value: each token's output z = Σ w·v
    note: str  # Markdown: the last token's arithmetic


def toy(table: Any, causal: bool) -> Toy:
    """Attention of the hand-made head: weights, outputs and the arithmetic for the last token."""
    tokens, qkv = _toy_rows(table)
    q, k, v = (torch.from_numpy(qkv[:, i].copy())[None, None] for i in range(3))  # (1,1,T,d)
    result = att.attention(q, k, v, causal=bool(causal))
    w = result.weights[0, 0].numpy()  # (T, T)
    out = result.output[0, 0].numpy()  # (T, d)
    labels = [f"{i}:{t}" for i, t in enumerate(tokens)]  # unique, for the category axes
    last = len(tokens) - 1
    scores = result.scores[0, 0, last].tolist()
    md = (
        f"For `{tokens[last]}`: scores q·k/√{PLAYGROUND_DIM} = "
        f"{', '.join(f'{s:.2f}' for s in scores)} → softmax → weights "
        f"{', '.join(f'{x:.3f}' for x in w[last])} (sum {w[last].sum():.4f}); each row of "
        "the map sums to 1."
    )
    rows = [[labels[i], *(f"{x:.4f}" for x in out[i])] for i in range(len(tokens))]
    table = {"headers": ["token", "z1", "z2"], "data": rows}
    return Toy(figures.small_heatmap(w, labels), table, md)


@dataclass(frozen=True)
class ToyFromTokens(Result):
    table: list[list]  # the tokens' default vectors
    heat: Any  # then what `toy` shows for them
    outputs: dict
    note: str


def toy_from_tokens(tokens_text: str, causal: bool) -> ToyFromTokens:
    """The playground head from its tokens' default vectors (a link carries only the tokens)."""
    table = toy_defaults(tokens_text)
    shown = toy(table, causal)
    return ToyFromTokens(table, shown.heat, shown.outputs, shown.note)
