"""The tab's explanations: the numbers of one result put into words (no gradio here)."""

from __future__ import annotations

from torch import Tensor

from plugins.embeddings.embeddings import DotProduct, cos_sim, euclidean_distance

LABELS = {"cosine": "cosine", "dot": "dot product", "euclidean": "Euclidean distance"}

WHY_NORMALISE = (
    "**Why normalisation makes dot product equal cosine.** "
    "$\\cos\\theta = \\frac{q \\cdot w}{\\lVert q\\rVert \\lVert w\\rVert}$, and MiniLM's last "
    "layer divides every vector by its length, so every word vector has "
    "$\\lVert w\\rVert = 1$: the dot product is the cosine times a constant "
    "$\\lVert q\\rVert$, and the distance, from "
    "$\\lVert q - w\\rVert^2 = \\lVert q\\rVert^2 + 1 - 2\\,q \\cdot w$, shrinks as it grows. "
    "All three measures rank the words in the same order."
)


def score_label(measure: str) -> str:
    return LABELS[measure]


def expression(terms) -> str:
    """Terms written back as arithmetic: king − man + woman, 0.5·paris + 0.5·rome."""
    parts = []
    for t in terms:
        weight = "" if abs(t.weight) == 1 else f"{abs(t.weight):g}·"
        parts.append(f"{'−' if t.weight < 0 else '+'} {weight}{t.text}")
    return " ".join(parts).removeprefix("+ ")


def dot_product(
    terms, word: str, q: Tensor, w: Tensor, parts: DotProduct, raw_norms: Tensor | None
) -> str:
    """The dot product of the query with the best word, element by element, then the cosine.
    ``raw_norms`` are the word vectors' lengths when normalisation is off, else None."""
    p = parts.products.tolist()
    pairs = zip(q[:3].tolist(), w[:3].tolist(), strict=True)
    first = " + ".join(f"({a:.3f} × {b:.3f})" for a, b in pairs)
    top = sum(p[i] for i in parts.largest)
    dims = ", ".join(str(i) for i in parts.largest)
    why = WHY_NORMALISE
    if raw_norms is not None:
        why += (
            f" Here normalisation is **off**: the raw word vectors' lengths range from "
            f"{float(raw_norms.min()):.2f} to {float(raw_norms.max()):.2f}, so the dot product "
            "also rewards long vectors, and the three measures can disagree."
        )
    return (
        f"**The dot product, live.** q = {expression(terms)} is {len(p)} numbers, and so is "
        f"`{word}`. Multiply matching elements and add them up: q · {word} = q₀w₀ + q₁w₁ + … + "
        f"q₃₈₃w₃₈₃ = {first} + … = **{parts.dot:.4f}**. "
        f"{sum(v > 0 for v in p)} of the {len(p)} products are positive (the two vectors agree "
        f"in sign there); the five largest (dimensions {dims}) add {top:.4f}.\n\n"
        f"‖q‖ = {parts.q_norm:.4f} and ‖{word}‖ = {parts.w_norm:.4f}, so the cosine is "
        f"{parts.dot:.4f} / ({parts.q_norm:.4f} × {parts.w_norm:.4f}) = **{parts.cosine:.4f}**, "
        f"and the Euclidean distance ‖q − {word}‖ = {parts.distance:.4f}.\n\n{why}"
    )


def static_vs_contextual(word: str, found) -> str:
    """``found`` is an ``encoding.StaticVsContextual``: three pairs of vectors, compared."""

    def row(name: str, pair: tuple[Tensor, Tensor]) -> str:
        a, b = pair
        return f"| {name} | {float(cos_sim(a, b)):.4f} | {float(euclidean_distance(a, b)):.4f} |"

    first, second = (" ".join(f"`{p}`" for p in pieces) for pieces in found.pieces)
    where = "both sentences" if first == second else f"the first sentence and {second} in the other"
    return (
        f"`{word}` is the token(s) {first} in {where}.\n\n"
        "| vectors compared, sentence 1 vs sentence 2 | cosine | Euclidean distance |\n"
        "| --- | ---: | ---: |\n"
        f"{row('static: its row of the input embedding table', found.static)}\n"
        f"{row('contextual: the last layer at that token', found.contextual)}\n"
        f"{row('the two sentence embeddings', found.sentences)}\n\n"
        "The **input embedding table** has one fixed row per token, looked up before any "
        "attention: the same token gets the same row in every sentence (distance 0). The "
        "**contextual** vector comes out of six layers of attention that mixed in the "
        "neighbouring words, so the same word in two different contexts drifts apart."
    )
