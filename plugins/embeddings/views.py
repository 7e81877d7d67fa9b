"""What each part of the embeddings tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py turns
that into a gr.Error. The words are searched in MiniLM's whole-word index (encoding.py), built
once and shared by every visitor.
"""

from __future__ import annotations

import importlib.util
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playground import lazy_module
from playground.concept import Context
from playground.inputs import BadInput, Result

if TYPE_CHECKING:
    from plotly.graph_objects import Figure
    from torch import Tensor

em = lazy_module("plugins.embeddings.embeddings")  # the math: torch loads on first use
enc = lazy_module("plugins.embeddings.encoding")
explain = lazy_module("plugins.embeddings.explain")
expr = lazy_module("plugins.embeddings.expression")
figures = lazy_module("plugins.embeddings.figures")

TOP_K = 10  # neighbours the workbench lists
MAX_MAP_WORDS = 30
MAX_WORD_CHARS = 40
MAX_SENTENCES = 50
MAX_SENTENCE_CHARS = 500
MAX_LIST_CHARS = MAX_SENTENCES * (MAX_SENTENCE_CHARS + 1)
MAX_SEARCH_K = 10
MEASURES = {"cosine": "cosine", "dot product": "dot", "Euclidean distance": "euclidean"}
MAP_METHODS = ("PCA", "UMAP") if importlib.util.find_spec("umap") else ("PCA",)

Progress = Callable[..., None]  # called as gr.Progress is: (fraction, desc=...)


def _quiet(*args: Any, **kwargs: Any) -> None:
    """No progress bar (a test, the export)."""


# -- checking inputs --------------------------------------------------------------------------


def check_measure(label: str) -> str:
    if label not in MEASURES:
        raise BadInput(f"Similarity must be one of: {', '.join(MEASURES)} (not {label!r}).")
    return MEASURES[label]


def check_method(method: str) -> str:
    if method not in MAP_METHODS:
        hint = "" if "UMAP" in MAP_METHODS else " (UMAP needs the umap-learn package)"
        raise BadInput(f"The map method must be one of: {', '.join(MAP_METHODS)}{hint}.")
    return method


def check_expression(text: str) -> list:
    """The expression's terms (``expression.Term``); a parse error names its column."""
    try:
        return expr.parse(text or "")
    except expr.ParseError as exc:
        raise BadInput(str(exc)) from None


def check_map_words(text: str) -> list[str]:
    if len(text or "") > MAX_MAP_WORDS * (MAX_WORD_CHARS + 2):
        raise BadInput(f"The map words are too long: at most {MAX_MAP_WORDS} words.")
    words = list(dict.fromkeys(w.strip().lower() for w in (text or "").split(",") if w.strip()))
    if len(words) > MAX_MAP_WORDS:
        raise BadInput(f"At most {MAX_MAP_WORDS} map words, comma separated (got {len(words)}).")
    for word in words:
        if len(word) > MAX_WORD_CHARS or not re.fullmatch(r"[^\W\d_][\w' -]*", word):
            raise BadInput(
                f"Map words are words of letters, at most {MAX_WORD_CHARS} characters, "
                f"separated by commas; {word[:40]!r} is not one."
            )
    return words


def check_lines(text: str, what: str, least: int) -> list[str]:
    if len(text or "") > MAX_LIST_CHARS:
        raise BadInput(f"The {what} are too long: at most {MAX_LIST_CHARS:,} characters in all.")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not least <= len(lines) <= MAX_SENTENCES:
        raise BadInput(f"Enter {least} to {MAX_SENTENCES} {what}, one per line (got {len(lines)}).")
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_SENTENCE_CHARS:
            raise BadInput(
                f"Line {i} of the {what} has {len(line):,} characters; at most "
                f"{MAX_SENTENCE_CHARS} each."
            )
    return lines


def check_sentence(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_SENTENCE_CHARS:
        raise BadInput(f"The {what} needs 1 to {MAX_SENTENCE_CHARS} characters.")
    return text


def check_word(text: str) -> str:
    word = (text or "").strip()
    if not re.fullmatch(r"[^\W\d_][\w'-]*", word) or len(word) > MAX_WORD_CHARS:
        raise BadInput(f"The word must be a single word of letters, at most {MAX_WORD_CHARS}.")
    return word


def check_k(value: float) -> int:
    if value is None or not math.isfinite(value) or not 1 <= value <= MAX_SEARCH_K:
        raise BadInput(f"The number of results must be between 1 and {MAX_SEARCH_K}, not {value}.")
    return int(value)


# -- the model and the word index -------------------------------------------------------------


def _model(context: Context):
    """MiniLM from the context's registry (ModelUnavailable says why when it cannot load here)."""
    try:
        return context.model(enc.MODEL_ID)
    except KeyError:  # the plugin that registers it (the built-in models) is not loaded
        raise BadInput(
            "MiniLM (model id 'minilm') is not registered: the built-in models plugin that "
            "brings it is not loaded."
        ) from None


def word_index(context: Context, progress: Progress = _quiet):
    """The shared whole-word index; the first call of a process may build it (progress)."""
    if not enc.is_shared(context.device()):
        progress(0, desc="Loading MiniLM and its vocabulary index…")
        _model(context)  # says why when it cannot be loaded, before the index asks for it

    def report(done: int, total: int) -> None:
        progress(done / total, desc=f"First run: embedding {total:,} words ({done:,} done)")

    return enc.shared_index(context, progress=report)


def _embed(context: Context, texts: list[str], normalise: bool = True):
    raw = enc.encode_raw(_model(context), texts)
    return em.normalize(raw) if normalise else raw


# -- the analogy workbench --------------------------------------------------------------------


def _vectors(context: Context, index, texts: list[str], normalise: bool):
    """Each text's vector (from the index when it is a vocabulary word, else embedded now) and
    the texts that are not vocabulary words."""
    import torch

    table = index.unit if normalise else index.raw
    if not texts:
        return table[:0], []
    missing = [t for t in texts if index.rows.get(t) is None]
    fresh = {}
    if missing:
        raw = enc.encode_raw(_model(context), missing).to(table.device)
        fresh = dict(zip(missing, em.normalize(raw) if normalise else raw, strict=True))
    found = [table[index.rows[t]] if t not in fresh else fresh[t] for t in texts]
    return torch.stack(found), missing


def _project(vectors, method: str):
    """2-D points, one row per vector, and PCA's explained variance (None for UMAP)."""
    if method == "UMAP":  # only offered when umap-learn is installed
        import umap

        points = umap.UMAP(
            n_components=2, n_neighbors=min(15, len(vectors) - 1), random_state=0
        ).fit_transform(vectors.float().cpu().numpy())
        return points, None
    # Fitted on the words alone (the query is the last row), so its longer vector does not
    # take the first axis; projecting it is still linear and keeps the parallelogram exact.
    pca = em.pca_2d(vectors[:-1].float())
    return pca.transform(vectors.float()), pca.explained.tolist()


@dataclass(frozen=True)
class Nearest:
    """An expression's query vector and its TOP_K nearest vocabulary words."""

    texts: list[str]  # the expression's distinct texts, in order
    vectors: Tensor  # (texts, 384): their vectors
    missing: list[str]  # texts that are not vocabulary words, embedded as text
    query: Tensor  # (384,): the weighted sum
    corpus: Tensor  # (words, 384): the searched table, unit or raw
    inputs: list[int]  # index rows of the texts that are vocabulary words
    scores: list[float]  # as top_k ranks them: −distance for Euclidean
    rows: list[int]  # index rows of the nearest words, best first


def nearest(
    context: Context, index, terms, exclude_inputs: bool, measure: str, normalise: bool
) -> Nearest:
    import torch

    texts = list(dict.fromkeys(t.text for t in terms))
    vectors, missing = _vectors(context, index, texts, bool(normalise))
    weights = torch.tensor([sum(t.weight for t in terms if t.text == x) for x in texts])
    query = em.combine(vectors, weights.to(vectors.device))
    corpus, norms = (index.unit, index.unit_norms) if normalise else (index.raw, index.raw_norms)
    inputs = [index.rows[t] for t in texts if t in index.rows]
    scores, rows = em.top_k(
        query, corpus, TOP_K, measure, [inputs] if exclude_inputs else None, norms
    )
    return Nearest(
        texts, vectors, missing, query, corpus, inputs, scores[0].tolist(), rows[0].tolist()
    )


@dataclass(frozen=True)
class Workbench:
    """The analogy workbench's controls, checked, and the words nearest to its expression: what
    `analogy` shows and the export (reproduce.py) reproduces."""

    expression: str  # as typed
    terms: list  # its terms (``expression.Term``)
    exclude_inputs: bool
    measure: str  # "cosine", "dot" or "euclidean"
    normalise: bool
    map_words: list[str]
    method: str  # of the 2-D map
    index: Any  # MiniLM's whole-word index (encoding.py)
    found: Nearest
    sign: int  # −1 for Euclidean: top_k ranks by −distance; the tab shows the distance


def workbench(
    context: Context,
    expression: str,
    exclude_inputs: bool,
    measure_label: str,
    normalise: bool,
    map_text: str,
    method: str,
    progress: Progress = _quiet,
) -> Workbench:
    """The workbench's six controls (the tab's inputs, in order) checked, and the nearest words
    searched; the first call of a process may build the index (progress)."""
    terms = check_expression(expression)
    measure = check_measure(measure_label)
    map_words = check_map_words(map_text)
    method = check_method(method)
    index = word_index(context, progress)
    found = nearest(context, index, terms, exclude_inputs, measure, normalise)
    sign = -1 if measure == "euclidean" else 1
    return Workbench(
        expression, terms, exclude_inputs, measure, normalise, map_words, method, index, found, sign
    )


@dataclass
class Analogy(Result):
    neighbours: dict  # the nearest words as a Dataframe value
    status: str  # Markdown: the answer, its score, flagged texts
    dot_product: str  # Markdown: q · answer element by element, then the cosine
    products: Figure  # the 384 products that add up to the dot product
    word_map: Figure  # the words, the answer and the query in 2-D


def analogy(context: Context, bench: Workbench) -> Analogy:
    """The nearest words to the workbench's expression, the dot product with the best, and a
    2-D map (the `embeddings_analogy` endpoint, after `workbench`)."""
    import torch

    index, found, measure, sign = bench.index, bench.found, bench.measure, bench.sign
    texts, inputs, scores, rows = found.texts, found.inputs, found.scores, found.rows
    table = [
        [rank, index.words[r], round(sign * s, 4), "input word" if r in inputs else ""]
        for rank, (s, r) in enumerate(zip(scores, rows, strict=True), 1)
    ]
    best = index.words[rows[0]]
    parts = em.dot_product_parts(found.query, found.corpus[rows[0]])

    flagged = (
        f" Not whole words of the vocabulary, so embedded as text and flagged: "
        f"{', '.join(f'`{m}`' for m in found.missing)}."
        if found.missing
        else ""
    )
    hidden = ""
    if not bench.exclude_inputs and rows[0] in inputs:
        hidden = " The top hit is one of the input words, as it often is: tick the switch."
    status = (
        f"**{bench.expression.strip()}** → **{best}** ({explain.score_label(measure)} "
        f"{sign * scores[0]:.4f}), out of {len(index.words):,} words"
        f"{', the input words excluded' if bench.exclude_inputs else ''}.{flagged}{hidden}"
    )

    # The map: the expression's words, the other words, the best answer and the query itself.
    answers = [best]
    extra = [w for w in dict.fromkeys([*bench.map_words, *answers]) if w not in texts]
    query_name = f"= {bench.expression.strip()[:40]}"
    kinds = {w: "input" for w in texts}
    kinds.update({w: "answer" if w in answers else "word" for w in extra})
    kinds[query_name] = "query"
    extra_vectors = _vectors(context, index, extra, bool(bench.normalise))[0]
    xy, explained = _project(
        torch.cat([found.vectors, extra_vectors, found.query[None]]), bench.method
    )
    points = {name: tuple(xy[i].tolist()) for i, name in enumerate(kinds)}
    shape = expr.parallelogram(bench.terms)
    if shape is not None:
        b, a, c = shape
        shape = (a, b, c, query_name, best if best not in texts else None)
    raw_norms = None if bench.normalise else index.raw_norms
    headers = ["rank", "word", explain.score_label(measure), "note"]
    return Analogy(
        neighbours={"headers": headers, "data": table},
        status=status,
        dot_product=explain.dot_product(
            bench.terms, best, found.query, found.corpus[rows[0]], parts, raw_norms
        ),
        products=figures.products(parts.products.tolist(), best, parts.dot, parts.largest),
        word_map=figures.word_map(points, kinds, bench.method, explained, shape),
    )


# -- sentences, search, static vs contextual --------------------------------------------------


@dataclass
class Pairs(Result):
    heatmap: Figure  # every pair of sentences compared
    summary: str  # Markdown: the closest pair


def sentences(context: Context, text: str, measure_label: str, normalise: bool) -> Pairs:
    """Every pair of sentences compared (the `embeddings_sentences` endpoint)."""
    lines = check_lines(text, "sentences", 2)
    measure = check_measure(measure_label)
    vectors = _embed(context, lines, bool(normalise))
    scores = em.similarity(vectors, vectors, measure)  # higher is closer: −distance
    matrix = -scores if measure == "euclidean" else scores
    i, j = divmod(int(scores.clone().fill_diagonal_(-math.inf).argmax()), len(lines))
    label = explain.score_label(measure)
    summary = (
        f"Closest pair by {label}: **{i + 1}** and **{j + 1}** ({float(matrix[i, j]):.4f}). "
        f"{len(lines)} sentences, each {vectors.shape[1]} numbers"
        f"{', unit length' if normalise else ', not normalised'}."
    )
    return Pairs(figures.heatmap(matrix.tolist(), lines, f"{label} between sentences"), summary)


def search(context: Context, query: str, documents: str, k: float) -> list[list]:
    """A query against a pasted list, best first (the `embeddings_search` endpoint)."""
    query = check_sentence(query, "query")
    docs = check_lines(documents, "documents", 1)
    k = check_k(k)
    vectors = _embed(context, [query, *docs])
    scores, rows = em.top_k(vectors[:1], vectors[1:], k, "cosine")
    return [
        [rank, round(s, 4), docs[r]]
        for rank, (s, r) in enumerate(zip(scores[0].tolist(), rows[0].tolist(), strict=True), 1)
    ]


def context(context: Context, word: str, first: str, second: str) -> str:
    """One word's static and contextual vectors in two sentences (`embeddings_context`)."""
    # (Its `context` parameter, the host's, hides this function's name inside it.)
    word = check_word(word)
    first, second = check_sentence(first, "first sentence"), check_sentence(second, "second one")
    model = _model(context)  # outside the try: its own refusal is not about the sentences
    try:
        found = enc.static_vs_contextual(model, word, first, second)
    except ValueError as exc:
        raise BadInput(f"Both sentences must contain the word: {exc}.") from None
    return explain.static_vs_contextual(word, found)
