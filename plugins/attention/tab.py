"""The Attention & Transformer Block tab: layout, then events. The math lives in attention.py,
reading the real models in capture.py, parameter counting in anatomy.py, the views in views.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import gradio as gr

from playground import share
from playground.inputs import guard
from playground.models import ModelUnavailable
from playground.ui import LATEX
from plugins.attention import views
from plugins.attention.views import (
    ANATOMY_CHOICES,
    CONTEXT_MAX,
    MAX_TEXT_CHARS,
    MAX_TOKENS,
    PLAYGROUND_DIM,
)

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


def _model_choices() -> list[tuple[str, str]]:
    from playground.models import REGISTRY

    choices = [
        ("MiniLM: bidirectional encoder (bundled)", "minilm"),
        ("Tiny Llama: causal GPT (bundled)", "tiny-llama"),
    ]
    for spec in REGISTRY.specs(task="causal-lm"):  # hub models, marked when absent
        if spec.id != "tiny-llama":
            mark = "" if spec.unavailable() is None else " (not available here)"
            choices.append((f"{spec.title}{mark}", spec.id))
    return choices


on_grid, on_head, on_positions, on_anatomy, on_toy, on_toy_reset = (
    guard(fn)
    for fn in (
        views.grid,
        views.head,
        views.positions,
        views.anatomy,
        views.toy,
        views.toy_defaults,
    )
)


SNIPPET = '''"""The Attention tab's head, recomputed by transformers (an ML Playground export)."""
import json

import torch
from transformers import {auto}, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained({tokenizer!r})
# float32 as the tab loads it (the config may say bfloat16); eager attention returns weights
model = {auto}.from_pretrained({model!r}, dtype=torch.float32, attn_implementation="eager")
text = {text!r}
ids = tokenizer(text)["input_ids"]
if len(ids) > {most}:  # the tab shows the first {most} tokens (an encoder keeps its last [SEP])
    ids = ids[: {most} - 1] + ids[-1:] if ids[-1] == tokenizer.sep_token_id else ids[: {most}]
layer, head, query = {layer}, {head}, {query}
with torch.no_grad():
    out = model(torch.tensor([ids]), output_attentions=True)
weights = out.attentions[layer][0, head, query]  # (tokens,): what the query token attends to
print(json.dumps({{
    "input_ids": ids,
    "weights": weights.tolist(),
    "most_attended": int(weights.argmax()),
}}))
'''


def export(text: str, model_id: str, layer: float, head: float, query: float, threshold: float):
    """One head's weights for the chosen query token, and a transformers script that reads
    the same weights from the model (the grid's other heads are exported by changing these)."""
    try:
        *_, layer, head, query = views.grid(text, model_id, layer, head, query)
        views.head(text, model_id, layer, head, query, threshold)  # the same checks as on screen
        r = views.run(model_id, text)
    except (views.BadInput, ModelUnavailable) as exc:
        raise gr.Error(str(exc)) from None
    weights = r.captured.layers[layer].weights[head, query].float().cpu()
    model, tokenizer = views.load(model_id)
    ids, _ = views.tokenize(tokenizer, text)
    numbers = {"input_ids": ids, "weights": weights.tolist(),
               "most_attended": int(weights.argmax())}  # fmt: skip
    rows = [[j, token, w] for j, (token, w) in enumerate(zip(r.tokens, weights.tolist(),
                                                             strict=True))]  # fmt: skip
    snippet = SNIPPET.format(
        auto="AutoModel" if model_id == "minilm" else "AutoModelForCausalLM",
        tokenizer=str(tokenizer.name_or_path), model=str(model.name_or_path), text=text,
        most=MAX_TOKENS, layer=layer, head=head, query=query,
    )  # fmt: skip
    return share.Export(numbers, snippet, {"weights": (["j", "key token", "weight"], rows)})


def toy_from_tokens(tokens: str, causal: bool):
    """The playground head from its tokens' default vectors (a link carries only the tokens)."""
    table = on_toy_reset(tokens)
    return table, *on_toy(table, causal)


def head_on_load(text, model_id, layer, head, query, threshold):
    """The head the grid opens: its pickers kept in range of the model first, as the grid does."""
    *_, layer, head, query = on_grid(text, model_id, layer, head, query)
    return on_head(text, model_id, layer, head, query, threshold)


def pick(layer: float, head: float, evt: gr.SelectData):
    """A click on the grid image: the (layer, head) under it, or the pickers as they were."""
    x, y = evt.index
    found = views.figures.grid_cell(x, y)
    return found if found is not None else (layer, head)


def build() -> gr.Blocks:
    models = _model_choices()
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        with gr.Row():
            text = gr.Textbox(
                DEFAULT_TEXT,
                label="Text",
                elem_id="attention-text",
                info=f"press Enter; at most {MAX_TOKENS} tokens are shown",
                max_length=MAX_TEXT_CHARS,
                scale=3,
            )
            model = gr.Dropdown(models, value="minilm", label="Model", scale=1)
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
                    1, label="Query token position", minimum=0,
                    elem_id="attention-query",
                )  # fmt: skip
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
                    max_length=views.MAX_TOY_CHARS,
                )
                toy_causal = gr.Checkbox(False, label="Causal mask")
            toy_table = gr.Dataframe(
                views.toy_defaults(DEFAULT_PLAYGROUND),
                headers=views.TOY_HEADERS,
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
                context = gr.Number(
                    1024, label="Context length (for the FLOPs)",
                    minimum=1, maximum=CONTEXT_MAX,
                )  # fmt: skip
            anatomy_md = gr.Markdown(elem_id="attention-anatomy-md")
            anatomy_plot = gr.Plot(label="Parameters and FLOPs per component")
            anatomy_table = gr.Dataframe(
                headers=["component", "stored", "active per token", "FLOPs per token", "share"],
                interactive=False,
                elem_id="attention-anatomy-table",
            )

        def whole(what: str) -> Callable:
            return lambda value: views.check_index(value, what)

        state = {
            "text": (text, views.check_text), "model": model, "layer": (layer, whole("Layer")),
            "head": (head, whole("Head")), "query": (query, whole("Query token position")),
            "threshold": threshold, "toy": (toy_tokens, views.check_toy_tokens),
            "causal": toy_causal, "arch": arch, "context": (context, whole("Context length")),
        }  # fmt: skip
        heavy = dict(concurrency_id=CONCURRENCY, show_progress="minimal")
        grid_run = dict(
            fn=on_grid, inputs=[text, model, layer, head, query],
            outputs=[status, grid, layer, head, query], **heavy,
        )  # fmt: skip
        # -- events ---------------------------------------------------------------------
        head_run = dict(
            fn=on_head, inputs=[text, model, layer, head, query, threshold],
            outputs=[grid, heat, links, steps_md, vectors, bars, steps], **heavy,
        )  # fmt: skip
        position_run = dict(
            fn=on_positions, inputs=[text, model], outputs=[position_md, position_plot], **heavy
        )
        anatomy_run = dict(
            fn=on_anatomy, inputs=[arch, context],
            outputs=[anatomy_md, anatomy_plot, anatomy_table], **heavy,
        )  # fmt: skip
        toy_run = dict(
            fn=on_toy, inputs=[toy_table, toy_causal],
            outputs=[toy_heat, toy_out, toy_md], concurrency_id=CONCURRENCY,
        )  # fmt: skip

        # Once a link has set the controls: the grid, then every other section from them.
        share.link(
            tab, "attention", state, load=dict(**grid_run, api_name="attention_grid"),
            also=[
                {**head_run, "fn": head_on_load, "api_visibility": "private"},
                {**position_run, "api_visibility": "private"},
                {**anatomy_run, "api_visibility": "private"},
                dict(fn=toy_from_tokens, inputs=[toy_tokens, toy_causal],
                     outputs=[toy_table, *toy_run["outputs"]], api_visibility="private",
                     concurrency_id=CONCURRENCY),
            ],
        )  # fmt: skip
        share.export("attention", export, [text, model, layer, head, query, threshold], state,
                     api_name="attention_export", concurrency_id=CONCURRENCY)  # fmt: skip
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

        gr.on([arch.input, context.submit], **anatomy_run, api_name="attention_anatomy")

        toy_tokens.submit(on_toy_reset, toy_tokens, toy_table, api_visibility="private").then(
            **toy_run, api_visibility="private"
        )
        gr.on([toy_table.input, toy_causal.input], **toy_run, api_name="attention_playground")
    return tab
