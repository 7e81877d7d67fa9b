"""The Attention & Transformer Block tab: layout, then events. The math lives in attention.py,
reading the real models in capture.py, parameter counting in anatomy.py, the views in views.py,
positions.py and playground_head.py, the export in reproduce.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX
from plugins.attention import playground_head, positions, reproduce, views
from plugins.attention.playground_head import MAX_TOY_CHARS, PLAYGROUND_DIM, TOY_HEADERS
from plugins.attention.views import ANATOMY_CHOICES, CONTEXT_MAX, MAX_TEXT_CHARS, MAX_TOKENS

MATH_SOURCE = Path(__file__).with_name("attention.py")  # shown to the learner as it is
CONCURRENCY = "attention"  # every heavy event of this tab shares one worker queue
DEFAULT_TEXT = "The cat sat on the mat because it was tired, and the dog sat on the rug."
DEFAULT_PLAYGROUND = "the cat sat down"
INTRO = f"""
**Attention** lets every token ask *what else in this text is relevant to me?* Each token's
vector is projected to a **query** $q$, a **key** $k$ and a **value** $v$; the query is compared
with every key by a dot product (a dot product scores similarity), the scores are scaled by
$1/\\sqrt{{d}}$ and softmaxed into weights, and the token's output is the weighted average of the
values: $\\mathrm{{softmax}}(QK^\\top/\\sqrt{{d}})\\,V$. A layer runs several **heads** side by
side. Type up to {MAX_TOKENS} tokens and pick a model: MiniLM reads in both directions, the
GPT-style Tiny Llama only looks back (a **causal** mask).
"""


on_toy, on_toy_reset, on_toy_from_tokens = (
    guard(fn)
    for fn in (playground_head.toy, playground_head.toy_defaults, playground_head.toy_from_tokens)
)


def pick(layer: float, head: float, evt: gr.SelectData):
    """A click on the grid image (Gradio hands the click only to a function that declares it)."""
    return views.picked(evt.index, layer, head)


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    grid: Callable
    head: Callable
    head_on_load: Callable  # a link's head: its pickers kept in range of the model first
    positions: Callable
    anatomy: Callable
    export: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    return Events(
        *(
            guard(context.bind(fn))
            for fn in (
                views.grid,
                views.head,
                views.head_on_load,
                positions.positions,
                views.anatomy,
                reproduce.export,
            )
        )
    )


def build(context: Context) -> gr.Blocks:
    on = events(context)
    models = views.model_choices(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        with gr.Row():
            text = gr.Textbox(
                DEFAULT_TEXT,
                label="Text",
                elem_id="attention-text",
                info=f"press Enter; at most {MAX_TOKENS} tokens are shown",
                max_length=MAX_TEXT_CHARS,
                scale=2,
            )
            # wide enough for "Tiny Llama, causal (bundled)"; on a phone, its own row
            model = gr.Dropdown(models, value="minilm", label="Model", scale=1, min_width=340)
        status = gr.Markdown(elem_id="attention-status")

        with gr.Tab("Model view: every head"):
            grid = gr.Image(
                label="Layers × heads (click a map to open it)",
                show_label=False,  # the label would sit on the head numbers
                elem_id="attention-grid",
                interactive=False,
                type="numpy",
                format="png",
                buttons=[],
            )
            with gr.Row():
                layer = gr.Number(0, label="Layer", minimum=0, elem_id="attention-layer")
                head = gr.Number(0, label="Head", minimum=0, elem_id="attention-head")
                query = gr.Number(
                    1, label="Query token position", minimum=0, elem_id="attention-query"
                )
                threshold = gr.Slider(
                    0.01, 1.0, value=0.1, step=0.01, label="Show links with weight ≥"
                )
                open_head = gr.Button("Open head", variant="primary", elem_id="attention-open")
            with gr.Row():
                heat = gr.Plot(label="Token-to-token weights", elem_id="attention-heatmap")
                links = gr.Plot(label="Links between tokens", elem_id="attention-lines")

        with gr.Tab("One head, step by step"):
            steps_md = gr.Markdown(elem_id="attention-steps-md", latex_delimiters=LATEX)
            with gr.Row():
                vectors = gr.Plot(
                    label="q, every key, every value, and the output", show_label=False
                )
                bars = gr.Plot(label="Scores and weights", show_label=False)
            steps = gr.Dataframe(
                headers=["j", "key token", "q·k", "q·k / √d", "mask", "weight"],
                label="Every step for the chosen query token (the weights sum to 1)",
                interactive=False,
                elem_id="attention-steps",
            )

        with gr.Tab("Playground head"):
            gr.Markdown(
                f"Type a few tokens, then edit their tiny {PLAYGROUND_DIM}-d query, key and value "
                "vectors by hand: the weights follow. Make one key point where a query points "
                "and watch that query's weight on it grow."
            )
            with gr.Row():
                toy_tokens = gr.Textbox(
                    DEFAULT_PLAYGROUND,
                    label="Tokens (space separated; press Enter to reset the vectors)",
                    max_length=MAX_TOY_CHARS,
                )
                toy_causal = gr.Checkbox(False, label="Causal mask")
            toy_table = gr.Dataframe(
                playground_head.toy_defaults(DEFAULT_PLAYGROUND),
                headers=TOY_HEADERS,
                interactive=True,
                type="array",
                label="Q, K, V (edit the numbers)",
                elem_id="attention-toy-table",
            )
            with gr.Row():
                toy_heat = gr.Plot(label="Weights")
                with gr.Column():
                    toy_out = gr.Dataframe(label="Outputs z = Σ w·v", interactive=False)
                    toy_md = gr.Markdown()

        with gr.Tab("Positions"):
            position_md = gr.Markdown(elem_id="attention-position-md", latex_delimiters=LATEX)
            position_plot = gr.Plot(label="What position does")

        with gr.Tab("Transformer anatomy"):
            with gr.Row():
                arch = gr.Dropdown(ANATOMY_CHOICES, value="GPT-2 small", label="Architecture")
                n_ctx = gr.Number(
                    1024, label="Context length (for the FLOPs)", minimum=1, maximum=CONTEXT_MAX
                )
            anatomy_md = gr.Markdown(elem_id="attention-anatomy-md")
            anatomy_plot = gr.Plot(label="Parameters and FLOPs per component")
            anatomy_table = gr.Dataframe(
                headers=["component", "stored", "active per token", "FLOPs per token", "share"],
                interactive=False,
                elem_id="attention-anatomy-table",
            )

        def whole(what: str):
            return partial(views.check_index, what=what)

        state = {
            "text": (text, views.check_text),
            "model": model,
            "layer": (layer, whole("Layer")),
            "head": (head, whole("Head")),
            "query": (query, whole("Query token position")),
            "threshold": threshold,
            "toy": (toy_tokens, playground_head.check_toy_tokens),
            "causal": toy_causal,
            "arch": arch,
            "context": (n_ctx, whole("Context length")),
        }
        heavy = dict(concurrency_id=CONCURRENCY, show_progress="minimal")
        grid_run = dict(
            fn=on.grid,
            inputs=[text, model, layer, head, query],
            outputs=[status, grid, layer, head, query],
            **heavy,
        )
        # -- events ---------------------------------------------------------------------
        head_run = dict(
            fn=on.head,
            inputs=[text, model, layer, head, query, threshold],
            outputs=[grid, heat, links, steps_md, vectors, bars, steps],
            **heavy,
        )
        position_run = dict(
            fn=on.positions, inputs=[text, model], outputs=[position_md, position_plot], **heavy
        )
        anatomy_run = dict(
            fn=on.anatomy,
            inputs=[arch, n_ctx],
            outputs=[anatomy_md, anatomy_plot, anatomy_table],
            **heavy,
        )
        toy_run = dict(
            fn=on_toy,
            inputs=[toy_table, toy_causal],
            outputs=[toy_heat, toy_out, toy_md],
            concurrency_id=CONCURRENCY,
        )

        # Once a link has set the controls: the grid, then every other section from them.
        share.link(
            tab,
            "attention",
            state,
            load=dict(**grid_run, api_name="attention_grid"),
            also=[
                {**head_run, "fn": on.head_on_load, "api_visibility": "private"},
                {**position_run, "api_visibility": "private"},
                {**anatomy_run, "api_visibility": "private"},
                dict(
                    fn=on_toy_from_tokens,
                    inputs=[toy_tokens, toy_causal],
                    outputs=[toy_table, *toy_run["outputs"]],
                    api_visibility="private",
                    concurrency_id=CONCURRENCY,
                ),
            ],
        )
        share.export(
            "attention",
            on.export,
            [text, model, layer, head, query, threshold],
            state,
            api_name="attention_export",
            concurrency_id=CONCURRENCY,
        )
        with gr.Accordion("The code behind this tab: plugins/attention/attention.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)
        gr.on([text.submit, model.input], **grid_run, api_visibility="private").then(
            **head_run, api_name="attention_head"
        ).then(**position_run, api_name="attention_positions")
        gr.on(
            [open_head.click, query.submit, threshold.release],
            **head_run,
            api_visibility="private",
        )
        grid.select(pick, [layer, head], [layer, head], api_visibility="private").then(
            **head_run, api_visibility="private"
        )

        gr.on([arch.input, n_ctx.submit], **anatomy_run, api_name="attention_anatomy")

        toy_tokens.submit(on_toy_reset, toy_tokens, toy_table, api_visibility="private").then(
            **toy_run, api_visibility="private"
        )
        gr.on([toy_table.input, toy_causal.input], **toy_run, api_name="attention_playground")
    return tab
