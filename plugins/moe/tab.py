"""The Mixture of Experts tab: layout, then events. The math lives in moe.py, the lab's tokens
and training run in lab.py, reading the real model in capture.py, the views in views.py, the
export in reproduce.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX, STOP
from plugins.moe import reproduce, views
from plugins.moe.views import (
    DEFAULT_STEPS,
    MAX_AUX,
    MAX_CAPACITY,
    MAX_EXPERTS,
    MAX_K,
    MAX_NEW_TOKENS,
    MAX_NOISE,
    MAX_STEPS,
    MAX_TEXT_CHARS,
    MAX_TOKENS,
    MAX_TRAIN_SECONDS,
    MIN_EXPERTS,
    MIN_K,
    MIN_STEPS,
)

MATH_SOURCE = Path(__file__).with_name("moe.py")  # shown to the learner as it is
CONCURRENCY = "moe"  # every heavy event of this tab shares one worker queue
DEFAULT_TEXT = "Once upon a time, the king lived near the square. The capital of France is Paris."
DEFAULT_PROMPT = "Once upon a time, the queen"
SHAPE_CHOICES = [
    ("random (Gaussian)", "random"),
    ("shifted (a shared offset, like real hidden states)", "shifted"),
    ("clustered (4 topics)", "clustered"),
    ("near-identical", "near-identical"),
]
INTRO = """
A **sparse mixture of experts** (MoE) replaces the one feed-forward network (FFN) of a
transformer block with $E$ expert FFNs and a small **router**. The router scores each token
against every expert, $p = \\mathrm{softmax}(x W_r^\\top)$; only the **top-k** experts run, and
their outputs are mixed by the renormalised gates $g_i = p_i / \\sum_{j \\in \\text{top-}k} p_j$:
$$y = \\sum_{i \\in \\text{top-}k(x)} g_i \\, \\mathrm{FFN}_i(x).$$
So the model **stores** $E$ FFNs but each token **pays** for $k$ of them. Two problems come with
it: experts have a **capacity** (tokens beyond it are dropped), and without help the router
piles tokens onto a few experts; the **load-balancing loss** $E \\sum_i f_i P_i$ pushes back.
"""


on_lab, _train = (guard(f) for f in (views.routing_lab, views.train))  # no model, no device


# Gradio hands a progress bar only to a function that declares one in its own signature.
def on_train(experts, top_k, steps, aux, seed, progress=gr.Progress()):  # noqa: B008 (gradio)
    """The live training run: a plot and a summary after every few steps, until done or stopped."""
    for _, figure, summary in _train(experts, top_k, steps, aux, seed, progress=progress):
        yield figure, summary


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    route: Callable
    compare: Callable
    export: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    route, compare, export = (
        guard(context.bind(fn)) for fn in (views.route, views.compare, reproduce.export)
    )
    return Events(route, compare, export)


def _slider(low, high, value, step, label, **kw):
    return gr.Slider(low, high, value=value, step=step, label=label, **kw)


def build(context: Context) -> gr.Blocks:
    on = events(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)

        with gr.Tab("Routing in a real MoE"):
            with gr.Row():
                text = gr.Textbox(
                    DEFAULT_TEXT,
                    label="Text",
                    elem_id="moe-text",
                    info=f"press Enter; at most {MAX_TOKENS} tokens are read",
                    max_length=MAX_TEXT_CHARS,
                    lines=1,
                    max_lines=4,
                    scale=4,
                )
                route_btn = gr.Button("Route", variant="primary", scale=0)
            status = gr.Markdown(elem_id="moe-status")
            maps = gr.Plot(label="Router probabilities per layer", elem_id="moe-maps")
            loads = gr.Plot(label="Tokens per expert", elem_id="moe-loads")
            verdict = gr.Markdown(elem_id="moe-check")

        with gr.Tab("Dense vs sparse"):
            with gr.Row():
                prompt = gr.Textbox(
                    DEFAULT_PROMPT,
                    label="Prompt for the sample continuations",
                    max_length=MAX_TEXT_CHARS,
                    lines=1,
                    max_lines=3,
                    scale=3,
                )
                new_tokens = _slider(1, MAX_NEW_TOKENS, 24, 1, "New tokens", scale=1)
                compare_btn = gr.Button("Compare", variant="primary", scale=0)
            table = gr.Dataframe(
                headers=[
                    "model",
                    "FFN",
                    "parameters",
                    "active per token",
                    "FLOPs per token",
                    "held-out perplexity",
                    "next-token entropy (nats)",
                ],
                interactive=False,
                elem_id="moe-compare",
            )
            compare_md = gr.Markdown(elem_id="moe-compare-md")

        with gr.Tab("Routing lab"):
            gr.Markdown(
                "Our own MoE layer (`plugins/moe/moe.py`) with seeded random weights, on "
                "tokens you shape. Lower the capacity factor and watch the crosses: those "
                "choices found their expert full."
            )
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    shape = gr.Radio(SHAPE_CHOICES, value="shifted", label="Tokens")
                    tokens = _slider(1, MAX_TOKENS, 32, 1, "Number of tokens")
                    experts = _slider(MIN_EXPERTS, MAX_EXPERTS, 8, 1, "Experts E")
                    top_k = _slider(MIN_K, MAX_K, 2, 1, "k (experts per token)")
                    capacity = _slider(
                        0.25,
                        MAX_CAPACITY,
                        1.0,
                        0.05,
                        "Capacity factor",
                        info="C = ⌈factor · T · k / E⌉; 1.0 is an exactly even share",
                        elem_id="moe-capacity",
                    )
                    noise = _slider(0, MAX_NOISE, 0, 0.05, "Router noise σ")
                    seed = gr.Number(0, label="Seed")
                with gr.Column(scale=2):
                    lab_md = gr.Markdown(elem_id="moe-lab-md")
                    lab_map = gr.Plot(label="Routing", elem_id="moe-lab-map")
                    lab_load = gr.Plot(label="Load per expert", elem_id="moe-lab-load")
            dropped = gr.Dataframe(
                headers=["token", "choice", "expert", "p"],
                label="Dropped choices (the first 200)",
                interactive=False,
                elem_id="moe-dropped",
            )

        with gr.Tab("Training: with and without the aux loss"):
            gr.Markdown(
                "Two copies of one small MoE layer learn the same random teacher FFN on the same "
                "batches of shifted tokens, one on the task loss alone, one with the "
                "load-balancing loss added. Watch who gets the tokens. Capped at "
                f"{MAX_STEPS:,} steps and {MAX_TRAIN_SECONDS:g} s."
            )
            with gr.Row():
                t_experts = _slider(MIN_EXPERTS, MAX_EXPERTS, 8, 1, "Experts E")
                t_k = _slider(MIN_K, MAX_K, 2, 1, "k")
                t_steps = _slider(MIN_STEPS, MAX_STEPS, DEFAULT_STEPS, 10, "Steps")
                t_aux = _slider(0.01, MAX_AUX, 0.05, 0.01, "Aux-loss weight")
                t_seed = gr.Number(0, label="Seed")
            with gr.Row():
                train_btn = gr.Button("Train", variant="primary", elem_id="moe-train")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="moe-stop")
            train_md = gr.Markdown(elem_id="moe-train-md")
            # its three subplot titles say what it is; a label would sit on the first one
            train_plot = gr.Plot(
                label="Expert load over steps", show_label=False, elem_id="moe-train-plot"
            )

        state = {
            "text": (text, views.check_text),
            "prompt": prompt,
            "new": new_tokens,
            "shape": shape,
            "tokens": tokens,
            "experts": experts,
            "k": top_k,
            "capacity": capacity,
            "noise": noise,
            "seed": seed,
            "train_experts": t_experts,
            "train_k": t_k,
            "steps": t_steps,
            "aux": t_aux,
            "train_seed": t_seed,
        }
        heavy = dict(concurrency_id=CONCURRENCY, show_progress="minimal")
        route_run = dict(
            fn=on.route, inputs=[text], outputs=[status, maps, loads, verdict], **heavy
        )
        # -- events ---------------------------------------------------------------------
        compare_run = dict(
            fn=on.compare, inputs=[prompt, new_tokens], outputs=[table, compare_md], **heavy
        )
        lab_run = dict(
            fn=on_lab,
            inputs=[shape, tokens, experts, top_k, capacity, noise, seed],
            outputs=[lab_md, lab_map, lab_load, dropped],
            **heavy,
        )
        # Once a link has set the controls: routing, the comparison and the lab. Training
        # runs only when asked: a link restores its settings.
        share.link(
            tab,
            "moe",
            state,
            load=dict(**route_run, api_name="moe_route"),
            also=[{**run, "api_visibility": "private"} for run in (compare_run, lab_run)],
        )
        share.export(
            "moe",
            on.export,
            [text],
            state,
            api_name="moe_export",
            concurrency_id=CONCURRENCY,
        )
        with gr.Accordion("The code behind this tab: plugins/moe/moe.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)
        gr.on([text.submit, route_btn.click], **route_run, api_visibility="private")
        gr.on([prompt.submit, compare_btn.click], **compare_run, api_name="moe_compare")
        gr.on([shape.input, seed.submit], **lab_run, api_name="moe_lab")
        for slider in (tokens, experts, top_k, capacity, noise):  # ~50 ms: follow the drag
            slider.change(**lab_run, trigger_mode="always_last", api_visibility="private")

        train_btn.click(
            on_train,
            [t_experts, t_k, t_steps, t_aux, t_seed],
            [train_plot, train_md],
            api_name="moe_train",
            concurrency_id=CONCURRENCY,
        )
        stop_btn.click(**STOP)
    return tab
