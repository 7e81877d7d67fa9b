"""The Embeddings & the Dot Product tab: layout, then events. The math lives in embeddings.py,
the model-side work (vocabulary index, static vs contextual vectors) in encoding.py, what each
event shows in views.py, the export in reproduce.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX
from plugins.embeddings import reproduce, views
from plugins.embeddings.views import (
    MAP_METHODS,
    MAX_MAP_WORDS,
    MAX_SEARCH_K,
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    MEASURES,
    TOP_K,
)

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


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    analogy: Callable  # the workbench, then the analogy, with a progress bar
    sentences: Callable
    search: Callable
    context: Callable  # one word's static and contextual vectors in two sentences
    export: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    workbench, analogy = (guard(context.bind(fn)) for fn in (views.workbench, views.analogy))

    def on_analogy(
        expression,
        exclude_inputs,
        measure_label,
        normalise,
        map_text,
        method,
        progress=gr.Progress(),  # noqa: B008 (gradio's way)
    ):
        """Nearest words to an expression, the dot product with the best, and a 2-D map
        (the `embeddings_analogy` endpoint: Gradio names its parameters after these)."""
        controls = (expression, exclude_inputs, measure_label, normalise, map_text, method)
        return analogy(workbench(*controls, progress))

    sentences, search, in_context, export = (
        guard(context.bind(fn))
        for fn in (views.sentences, views.search, views.context, reproduce.export)
    )
    return Events(on_analogy, sentences, search, in_context, export)


def _control(entry):
    """The component of a link's state entry (a component, or (component, parser))."""
    return entry[0] if isinstance(entry, tuple) else entry


def build(context: Context) -> gr.Blocks:
    on = events(context)
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
                # one line on a phone too, where the label sits over the figure's title
                products = gr.Plot(label="The dot product, term by term")

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
            fn=on.analogy,
            inputs=workbench,
            outputs=[neighbours, status, dot_text, products, word_map],
            **shared,
        )
        state = {
            "expr": (expression, views.check_expression),
            "exclude": exclude,
            "measure": measure,
            "normalise": normalise,
            "map": (map_words, views.check_map_words),
            "method": method,
            "sentences": (sentence_box, lambda text: views.check_lines(text, "sentences", 2)),
            "query": (query, lambda text: views.check_sentence(text, "query")),
            "docs": (documents, lambda text: views.check_lines(text, "documents", 1)),
            "k": k,
            "word": (word, views.check_word),
            "first": (first, lambda text: views.check_sentence(text, "first sentence")),
            "second": (second, lambda text: views.check_sentence(text, "second one")),
        }
        gr.on(
            [
                expression.submit,
                map_words.submit,
                apply.click,
                exclude.input,
                measure.input,
                normalise.input,
                method.input,
            ],
            **run,
            api_visibility="private",
        )
        sections = [
            (on.sentences, ("sentences", "measure", "normalise"), [heat, pair_text],
             [compare.click, measure.input, normalise.input], "embeddings_sentences"),
            (on.search, ("query", "docs", "k"), [hits], [find.click, query.submit, k.release],
             "embeddings_search"),
            (on.context, ("word", "first", "second"), [context_text],
             [contrast.click, word.submit, first.submit, second.submit], "embeddings_context"),
        ]  # fmt: skip
        on_load = []  # once a link has set the controls: the workbench, then each section
        for fn, keys, outputs, triggers, api_name in sections:
            inputs = [_control(state[key]) for key in keys]
            on_load.append(
                dict(fn=fn, inputs=inputs, outputs=outputs, **shared, api_visibility="private")
            )
            gr.on(triggers, fn, inputs, outputs, api_name=api_name, **shared)
        share.link(
            tab, "embeddings", state, load=dict(**run, api_name="embeddings_analogy"), also=on_load
        )
        share.export(
            "embeddings", on.export, workbench, state, api_name="embeddings_export", **shared
        )
        with gr.Accordion("The code behind this tab: plugins/embeddings/embeddings.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)
    return tab
