"""What the attention tab's Positions section shows: one token at two positions, and what RoPE
or a learned position table changes about it (no gradio here; the model run is views.run)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playground.concept import Context
from playground.inputs import Result
from playground.lazy import lazy_module
from plugins.attention import figures, views

torch = lazy_module("torch")
att = lazy_module("plugins.attention.attention")


def _repeat(ids: list[int], skip: set[int]) -> tuple[int, int] | None:
    seen: dict[int, int] = {}
    for pos, i in enumerate(ids):
        if i in skip:
            continue
        if i in seen:
            return seen[i], pos
        seen[i] = pos
    return None


@dataclass(frozen=True)
class Positions(Result):
    md: str  # Markdown: the repeated token, and what its position changes
    plot: Any  # plotly figure, or None when no token repeats (or no learned table)


def positions(context: Context, text: str, model_id: str) -> Positions:
    """The same token at two positions: what RoPE (or learned positions) change about it."""
    r = views.run(context, model_id, text)
    c, model = r.captured, r.model
    skip = {i for i in (getattr(model.config, "pad_token_id", None),) if i is not None}
    skip |= {c.ids[0], c.ids[-1]} if c.family == "bert" else set()  # [CLS] and [SEP]
    pair = _repeat(c.ids, skip)
    if pair is None:
        return Positions(
            "No token appears twice in this text. Type a word twice (like *the … the*) to see "
            "what its position changes.",
            None,
        )
    p1, p2 = pair
    word = r.tokens[p1]
    layer0 = c.layers[0]

    def cos(a, b) -> float:
        return float(torch.nn.functional.cosine_similarity(a, b, dim=0))

    before = cos(layer0.q_raw[0, p1], layer0.q_raw[0, p2])
    if layer0.cos is not None:  # RoPE
        after = cos(layer0.q[0, p1], layer0.q[0, p2])
        theta = (getattr(model.config, "rope_parameters", None) or {}).get("rope_theta", 1e4)
        q, k = layer0.q_raw[0, p2], layer0.k_raw[0, p1]
        offsets = list(range(0, 64))
        curves = {
            f"key at position {start}": att.rope_relative_scores(
                q, k, offsets, start, theta, c.scale
            ).tolist()
            for start in (0, 40)
        }
        md = (
            f"**`{word}` at positions {p1} and {p2}**, layer 0, head 0. This model adds no "
            "position vector to its embeddings: the query that comes out of the projection is "
            f"the same at both positions (cosine {before:.4f}). **RoPE** then rotates each pair "
            "of coordinates by an angle proportional to the position, "
            f"$\\theta_i = p \\cdot {theta:g}^{{-2i/d}}$: the lengths stay (‖q‖ "
            f"{float(layer0.q_raw[0, p1].norm()):.3f} → {float(layer0.q[0, p1].norm()):.3f}) "
            f"but the two queries now differ (cosine {after:.4f}).\n\n"
            "Because both query and key are rotated, $q_m \\cdot k_n$ depends only on the offset "
            "$m - n$: the chart scores this query against this key placed at position 0 and at "
            "position 40, and the two curves lie on top of each other."
        )
        return Positions(md, figures.relative_scores(offsets, curves, "q·k after RoPE, by offset"))
    table = _position_table(model)
    md = (
        f"**`{word}` at positions {p1} and {p2}**, layer 0, head 0. This model **adds a learned "
        "position vector** to each token's embedding, so the same word enters the first layer "
        f"as two different vectors: the cosine of its two queries is {before:.4f}, not 1. The "
        f"chart compares position {p1}'s learned vector with every other position's: nearby "
        "positions were learned to look alike."
    )
    if table is None:
        return Positions(md, None)
    sims = torch.nn.functional.cosine_similarity(table[p1][None], table, dim=-1)
    n = min(len(table), views.MAX_TOKENS)
    return Positions(md, figures.similarity_curve(list(range(n)), sims[:n].tolist(), p1))


def _position_table(model: Any):
    if hasattr(model, "embeddings"):  # BERT
        return model.embeddings.position_embeddings.weight.detach().float().cpu()
    wpe = getattr(getattr(model, "transformer", None), "wpe", None)  # GPT-2
    return None if wpe is None else wpe.weight.detach().float().cpu()
