"""The Quantization tab: layout, then events. The math lives in quantization.py, the whole
model in llm.py, what each part shows in views.py (one matrix) and runs.py (the whole model)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX, STOP
from plugins.quantization import runs, views
from plugins.quantization.limits import CALIBRATION_SOURCES, FORMATS, GRANULARITIES
from plugins.quantization.runs import HEADERS
from plugins.quantization.views import (
    LAYERS,
    MATRICES,
    MAX_CALIBRATION,
    MAX_FEATURES,
    MAX_GROUP,
    MAX_NEW_TOKENS,
    MAX_OUTLIER_SCALE,
    MAX_OUTLIERS,
    MAX_QAT_STEPS,
    MAX_TEXT_CHARS,
    MAX_THRESHOLD,
    MIN_GROUP,
    MIN_QAT_STEPS,
    MIN_THRESHOLD,
    QAT_TIME_CAP_S,
    SCOPES,
    SOURCES,
)

# The math, shown to the learner as it is: the schemes, then NF4 and double quantization.
MATH_SOURCES = [Path(__file__).with_name(name) for name in ("quantization.py", "nf4.py")]
CONCURRENCY = "quantization"  # every heavy event of this tab shares one worker queue
DEFAULT_PROMPT = "Once upon a time, the queen"
QAT_STEPS, QAT_LR = 20, 1e-3  # int2 per channel: perplexity ~18 after PTQ, ~8 after these
# Run tables: each column as wide as its numbers, the long configuration wrapped, so that at a
# desktop's width all of them fit beside the controls; on a phone the table scrolls sideways
# under its pinned configuration column.
RUN_WIDTHS = {
    "configuration": "190px",
    "bits": "56px",
    "scope": "100px",
    "timing": "80px",
    "model KiB": "80px",
    "held-out perplexity": "110px",
    "ms / token": "70px",
}
RUN_TABLE = dict(
    headers=HEADERS,
    interactive=False,
    wrap=True,
    pinned_columns=1,
    column_widths=[RUN_WIDTHS.get(h, "90px") for h in HEADERS],
)
INTRO = """
**Quantization** stores a model's numbers in fewer bits: each block of values gets a scale $s$
(and maybe a zero-point $z$), and each value becomes a small integer or a code,
$q = \\mathrm{clamp}(\\mathrm{round}(x / s) + z)$, read back as $\\hat x = (q - z)\\,s$.
There is no single best choice: decide **how** values map to the grid (mapping lab),
**what** to quantize (scope) and **when** (timing), and measure what it costs on
tiny-llama. Every run lands in the summary table at the bottom. The quantizers are our own
(`plugins/quantization/quantization.py` and `nf4.py`); bitsandbytes and torchao check them in
the tests.
"""


def on_clear():
    return [], []


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    lab: Callable
    outliers: Callable
    export: Callable  # the mapping lab's script
    scope: Callable
    ptq: Callable
    qat: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    lab, outliers, export, scope, ptq, train = (
        guard(context.bind(fn))
        for fn in (
            views.mapping_lab,
            views.outliers_run,
            views.lab_export,
            runs.scope,
            runs.ptq,
            runs.qat,
        )
    )

    def on_qat(fmt, granularity, steps, lr, seed, summary, progress=gr.Progress()):  # noqa: B008
        """The live QAT run: a loss curve after every few steps, until done, capped or stopped."""
        # Gradio hands a progress bar only to a handler that names gr.Progress() in its signature
        yield from train(fmt, granularity, steps, lr, seed, summary, progress)

    return Events(lab, outliers, export, scope, ptq, on_qat)


def _slider(low, high, value, step, label, **kw):
    return gr.Slider(low, high, value=value, step=step, label=label, **kw)


def _mapping_controls(prefix: str):
    fmt = gr.Radio(list(FORMATS), value="int8", label="Format", elem_id=f"{prefix}-format")
    mapping = gr.Radio(["symmetric", "asymmetric"], value="symmetric", label="Mapping")
    granularity = gr.Radio(list(GRANULARITIES), value="channel", label="Granularity")
    group = _slider(
        MIN_GROUP,
        MAX_GROUP,
        64,
        1,
        "Group size",
        info="must divide the row (192)",
        elem_id=f"{prefix}-group",
    )
    return fmt, mapping, granularity, group


def build(context: Context) -> gr.Blocks:
    on = events(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        summary = gr.State([])

        with gr.Tab("Mapping lab"):
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    source = gr.Radio(list(SOURCES), value="tiny-llama", label="Weights")
                    with gr.Row():
                        layer = _slider(0, LAYERS - 1, 0, 1, "Layer")
                        matrix = gr.Dropdown(list(MATRICES), value="q_proj", label="Matrix")
                    fmt, mapping, granularity, group = _mapping_controls("quantization-lab")
                    outliers = _slider(
                        0,
                        MAX_OUTLIERS,
                        0,
                        1,
                        "Planted outlier weights",
                        elem_id="quantization-outliers",
                    )
                    outlier_scale = _slider(1, MAX_OUTLIER_SCALE, 10, 1, "Outlier size × max|w|")
                    seed = gr.Number(0, label="Seed")
                with gr.Column(scale=2):
                    lab_md = gr.Markdown(elem_id="quantization-lab-md", latex_delimiters=LATEX)
                    hist = gr.Plot(label="Histogram and grid", elem_id="quantization-hist")
            lab_table = gr.Dataframe(
                headers=["scheme (same blocks)", "bits / weight", "MSE", "max error", "SNR dB"],
                label="Every format on this matrix",
                interactive=False,
                elem_id="quantization-lab-table",
            )
            lab_column = gr.Column()  # the link and the export, filled in with the events

        with gr.Tab("Scope: what to quantize"), gr.Row():
            with gr.Column(scale=1, min_width=300):
                scope = gr.Radio(
                    list(SCOPES), value="weights only", label="Scope", elem_id="quantization-scope"
                )
                s_fmt, s_mapping, s_gran, s_group = _mapping_controls("quantization-scope")
                prompt = gr.Textbox(
                    DEFAULT_PROMPT, label="Prompt", lines=1, max_lines=3, max_length=MAX_TEXT_CHARS
                )
                new_tokens = _slider(1, MAX_NEW_TOKENS, 16, 1, "New tokens")
                scope_btn = gr.Button(
                    "Quantize and measure", variant="primary", elem_id="quantization-scope-run"
                )
            with gr.Column(scale=2):
                scope_table = gr.Dataframe(**RUN_TABLE, elem_id="quantization-scope-table")
                scope_md = gr.Markdown(elem_id="quantization-scope-md")

        with gr.Tab("Timing: when to quantize"):
            gr.Markdown(
                "**Post-training** W8A8 (int8 weights per channel, int8 activations): "
                "**dynamic** measures each input's scale as it arrives; **static** fixes "
                "the scales from a few calibration samples — bad calibration text clips or "
                f"wastes the grid (at most {MAX_CALIBRATION} samples of 128 tokens). "
                "**Quantization-aware training** fine-tunes through fake-quantized weights "
                f"(at most {MAX_QAT_STEPS} steps and {QAT_TIME_CAP_S:g} s)."
            )
            with gr.Row():
                timing = gr.Radio(["dynamic", "static"], value="static", label="PTQ timing")
                samples = _slider(1, MAX_CALIBRATION, 8, 1, "Calibration samples")
                calib = gr.Radio(
                    list(CALIBRATION_SOURCES), value="stories", label="Calibration text"
                )
                calib_seed = gr.Number(0, label="Seed")
                ptq_btn = gr.Button(
                    "Calibrate and measure", variant="primary", elem_id="quantization-ptq-run"
                )
            ptq_table = gr.Dataframe(**RUN_TABLE, elem_id="quantization-ptq-table")
            ptq_md = gr.Markdown(elem_id="quantization-ptq-md")
            gr.Markdown(
                "### Quantization-aware training (distilled from the float model)\n"
                "tiny-llama loses little to rounding at 8 or 4 bits (int4 per tensor costs "
                "under 1 % perplexity), so there QAT has almost nothing to win and a few noisy "
                "steps can even lose a little. At **2 bits** (int2 symmetric is ternary: "
                "−s, 0, +s per row) rounding breaks the model — perplexity about 18 against 5 "
                "— and a short QAT run wins most of it back."
            )
            with gr.Row():
                q_fmt = gr.Radio(
                    ["int8", "int4", "int2", "nf4"],
                    value="int2",
                    label="Weights",
                    elem_id="quantization-qat-format",
                )
                q_gran = gr.Radio(list(GRANULARITIES), value="channel", label="Granularity")
                q_steps = _slider(
                    MIN_QAT_STEPS,
                    MAX_QAT_STEPS,
                    QAT_STEPS,
                    1,
                    "QAT steps",
                    elem_id="quantization-qat-steps",
                )
                q_lr = gr.Number(QAT_LR, label="Learning rate")
                q_seed = gr.Number(0, label="Seed")
            with gr.Row():
                qat_btn = gr.Button("Train", variant="primary", elem_id="quantization-qat-run")
                stop_btn = gr.Button("Stop", variant="stop", elem_id="quantization-qat-stop")
            qat_md = gr.Markdown(elem_id="quantization-qat-md")
            qat_plot = gr.Plot(label="QAT loss", elem_id="quantization-qat-plot")

        with gr.Tab("Outliers and LLM.int8()"):
            gr.Markdown(
                "Real inputs to one of tiny-llama's linear layers. Large models grow a few "
                "**outlier features** — dimensions that are huge in every token (Dettmers et "
                "al. 2022); plant some and watch one int8 scale per tensor lose the rest. "
                "Per-token × per-channel scales help; LLM.int8() keeps the features above the "
                "threshold in float and the rest in int8."
            )
            with gr.Row():
                with gr.Column(scale=1, min_width=300):
                    o_layer = _slider(0, LAYERS - 1, 1, 1, "Layer")
                    o_matrix = gr.Dropdown(list(MATRICES), value="q_proj", label="Matrix")
                    features = _slider(0, MAX_FEATURES, 4, 1, "Outlier features")
                    magnitude = _slider(1, 100, 30, 1, "Outlier magnitude ×")
                    threshold = _slider(
                        MIN_THRESHOLD,
                        MAX_THRESHOLD,
                        6,
                        0.5,
                        "Threshold",
                        elem_id="quantization-threshold",
                    )
                    o_seed = gr.Number(0, label="Seed")
                with gr.Column(scale=2):
                    out_md = gr.Markdown(elem_id="quantization-outliers-md")
                    out_table = gr.Dataframe(
                        headers=["method", "SNR of x·Wᵀ (dB)", "max error"],
                        interactive=False,
                        wrap=True,  # the three columns fit a phone's width
                        column_widths=["45%", "25%", "30%"],
                        elem_id="quantization-outliers-table",
                    )
            with gr.Row():
                feat_plot = gr.Plot(label="Features", elem_id="quantization-features")
                sweep_plot = gr.Plot(label="Threshold sweep")

        gr.Markdown("### Your runs (this session)")
        summary_table = gr.Dataframe(**RUN_TABLE, elem_id="quantization-summary")
        clear_btn = gr.Button("Clear the table", size="sm")

        with gr.Accordion("The code behind this tab: quantization.py and nf4.py", open=False):
            for path in MATH_SOURCES:
                gr.Code(
                    path.read_text(),
                    language="python",
                    interactive=False,
                    label=f"plugins/quantization/{path.name}",
                )

        # -- events ---------------------------------------------------------------------
        heavy = dict(concurrency_id=CONCURRENCY, show_progress="minimal")
        lab_run = dict(
            fn=on.lab,
            inputs=[
                source,
                layer,
                matrix,
                fmt,
                mapping,
                granularity,
                group,
                outliers,
                outlier_scale,
                seed,
            ],
            outputs=[lab_md, hist, lab_table],
            **heavy,
        )
        lab_state = {
            "weights": source,
            "layer": layer,
            "matrix": matrix,
            "format": fmt,
            "mapping": mapping,
            "granularity": granularity,
            "group": group,
            "outliers": outliers,
            "outlier_size": outlier_scale,
            "seed": seed,
        }
        with lab_column:
            share.link(
                tab, "quantization", lab_state, load=dict(**lab_run, api_name="quantization_lab")
            )
            share.export(
                "quantization",
                on.export,
                lab_run["inputs"],
                lab_state,
                api_name="quantization_export",
                concurrency_id=CONCURRENCY,
            )
        gr.on(
            [source.input, matrix.input, fmt.input, mapping.input, granularity.input, seed.submit],
            **lab_run,
            api_visibility="private",
        )
        for slider in (layer, group, outliers, outlier_scale):
            slider.release(**lab_run, api_visibility="private")

        scope_btn.click(
            on.scope,
            [scope, s_fmt, s_mapping, s_gran, s_group, prompt, new_tokens, summary],
            [scope_table, scope_md, summary, summary_table],
            api_name="quantization_scope",
            **heavy,
        )
        ptq_btn.click(
            on.ptq,
            [timing, samples, calib, calib_seed, prompt, new_tokens, summary],
            [ptq_table, ptq_md, summary, summary_table],
            api_name="quantization_ptq",
            **heavy,
        )
        qat_btn.click(
            on.qat,
            [q_fmt, q_gran, q_steps, q_lr, q_seed, summary],
            [qat_md, qat_plot, summary, summary_table],
            api_name="quantization_qat",
            concurrency_id=CONCURRENCY,
        )
        stop_btn.click(**STOP)

        out_run = dict(
            fn=on.outliers,
            inputs=[o_layer, o_matrix, features, magnitude, threshold, o_seed],
            outputs=[out_md, out_table, feat_plot, sweep_plot],
            **heavy,
        )
        tab.load(**out_run, api_name="quantization_outliers")
        gr.on([o_matrix.input, o_seed.submit], **out_run, api_visibility="private")
        for slider in (o_layer, features, magnitude, threshold):
            slider.release(**out_run, api_visibility="private")
        clear_btn.click(on_clear, None, [summary, summary_table], api_visibility="private")
    return tab
