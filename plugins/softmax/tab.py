"""The Softmax & Logits tab: layout, then events. The math lives in softmax.py, what each
output shows in views.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX
from plugins.softmax import views
from plugins.softmax.views import (
    DTYPES,
    MAX_LOGITS,
    MAX_TEXT_CHARS,
    MIN_LOGITS,
    PRESETS,
    T_MAX,
    T_MIN,
)

MATH_SOURCE = Path(__file__).with_name("softmax.py")  # shown to the learner as it is
CONCURRENCY = "softmax"  # every event of this tab shares one worker queue
DEFAULT_PRESET = "A confident model"

INTRO = """
A network's last layer does not output probabilities. It outputs **logits**: one unnormalized
score per possible answer (here, per next token). **Softmax** turns them into probabilities,

$$p_i = \\mathrm{softmax}(z / T)_i = \\frac{e^{z_i / T}}{\\sum_j e^{z_j / T}},$$

and **temperature** $T$ sharpens ($T < 1$) or flattens ($T > 1$) the result before a token is
sampled. Change the numbers and watch.
"""


on_preset = guard(views.load_preset)


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    compute: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    compute = guard(context.bind(views.compute))

    def on_compute(
        logits_text: str, labels_text: str, temperature: float, dtype_name: str, target_label: str
    ):
        """Everything the tab shows (the `softmax_compute` endpoint). Offering the input's labels
        as the target's choices is a component update, so it is made here, not in the view."""
        *shown, target = compute(logits_text, labels_text, temperature, dtype_name, target_label)
        return *shown, gr.Dropdown(choices=target.choices, value=target.value)

    return Events(compute=on_compute)


def build(context: Context) -> gr.Blocks:
    on = events(context)
    logits0, labels0 = PRESETS[DEFAULT_PRESET]
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Preset")
                logits = gr.Textbox(
                    logits0,
                    label="Logits z",
                    elem_id="softmax-logits",
                    info=f"{MIN_LOGITS}–{MAX_LOGITS} numbers; press Enter to apply",
                    max_length=MAX_TEXT_CHARS,
                )
                labels = gr.Textbox(
                    labels0,
                    label="Token labels (optional)",
                    info="one per logit, comma separated; missing ones are numbered",
                    max_length=MAX_TEXT_CHARS,
                )
                temperature = gr.Slider(
                    T_MIN,
                    T_MAX,
                    value=1.0,
                    step=0.05,
                    label="Temperature T",
                    elem_id="softmax-temperature",
                )
                dtype = gr.Radio(
                    list(DTYPES),
                    value="float32",
                    label="Precision",
                    info="float16 overflows exp() already past 11",
                )
                target = gr.Dropdown(
                    [], label="Target token (for cross-entropy)", allow_custom_value=True
                )
                apply = gr.Button("Apply", variant="primary")
            with gr.Column(scale=2):
                stats = gr.Markdown(elem_id="softmax-stats")
                bars = gr.Plot(label="Logits and probabilities", elem_id="softmax-bars")
                curves = gr.Plot(label="What temperature does", elem_id="softmax-curves")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Naive vs numerically stable softmax")
                stability = gr.Markdown(elem_id="softmax-stability", latex_delimiters=LATEX)
            with gr.Column():
                gr.Markdown("### log-softmax and cross-entropy")
                cross_entropy = gr.Markdown(elem_id="softmax-xent")
        steps = gr.Dataframe(
            headers=views.STEP_HEADERS,
            label="Every step of the computation",
            interactive=False,
            elem_id="softmax-table",
        )

        # -- events: every recompute runs on.compute from these inputs into these outputs ----
        inputs = [logits, labels, temperature, dtype, target]
        outputs = [stats, bars, curves, steps, stability, cross_entropy, target]  # views.Shown
        run = dict(
            fn=on.compute,
            inputs=inputs,
            outputs=outputs,
            concurrency_id=CONCURRENCY,
            show_progress="hidden",
        )
        state = {
            "logits": (logits, views.check_logits),  # a link's logits are checked as typed ones
            "labels": labels,
            "t": temperature,
            "dtype": dtype,
            "target": target,
        }
        share.link(tab, "softmax", state, load=dict(**run, api_name="softmax_compute"))
        share.export(
            "softmax",
            guard(views.export),
            inputs,
            state,
            api_name="softmax_export",
            concurrency_id=CONCURRENCY,
        )
        with gr.Accordion("The code behind this tab: plugins/softmax/softmax.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)

        gr.on(
            [logits.submit, labels.submit, apply.click, dtype.input, target.input],
            **run,
            api_visibility="private",
        )
        temperature.change(**run, trigger_mode="always_last", api_visibility="private")
        preset.input(
            on_preset,
            preset,
            [logits, labels],
            api_name="softmax_preset",
            concurrency_id=CONCURRENCY,
        ).then(**run, api_visibility="private")
    return tab
