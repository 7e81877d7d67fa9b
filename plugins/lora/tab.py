"""The LoRA tab: layout, then events. The math lives in lora.py and nf4.py, the training loop in
train.py, transfer learning in transfer.py, what each view shows in views.py (settings, plan,
training) and adapter.py (a trained adapter)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import guard
from playground.ui import LATEX, STOP
from plugins.lora import adapter, views
from plugins.lora.data import PROMPTS, STYLES, style_text
from plugins.lora.views import (
    DEFAULT_STEPS,
    MAX_ALPHA,
    MAX_DROPOUT,
    MAX_PROMPT_CHARS,
    MAX_RANK,
    MAX_STEPS,
    MAX_TEXT_BYTES,
    MIN_RANK,
    MIN_STEPS,
    OWN_TEXT,
    TARGETS,
)

MATH_SOURCE = Path(__file__).with_name("lora.py")  # shown to the learner as it is
CONCURRENCY = "lora"  # its events take turns (training runs on the host's long lane)
DEFAULT_PRESET = "Pirate captain"
INTRO = """
**LoRA** fine-tunes a big model on a budget: every pretrained weight
$W \\in \\mathbb{R}^{d\\times k}$ stays frozen, and each chosen layer
learns a low-rank update instead,
$$h = W x + \\tfrac{\\alpha}{r} B A x, \\qquad A \\in \\mathbb{R}^{r\\times k},\\; B \\in
\\mathbb{R}^{d\\times r},\\; B = 0 \\text{ at the start},$$
so only $r(d + k)$ numbers per layer learn. **QLoRA** also stores the frozen $W$ in 4-bit NF4.
Here the bundled Llama learns a new voice, live, on this machine.
"""


on_inspect, on_save, on_compare, _preset = (
    guard(f) for f in (adapter.inspect, adapter.save, views.compare_qlora, views.preset)
)


def on_preset(name: str):
    """Your own text leaves the boxes as they are (no update)."""
    shown = _preset(name)
    return (gr.skip(), gr.skip()) if shown is None else shown


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    plan: Callable
    train: Callable
    qlora: Callable  # the same run with the frozen weights in NF4
    trained: Callable  # after a run or a load: the layers to inspect, ΔW, before/after text
    generate: Callable
    merge: Callable
    load: Callable  # an uploaded adapter
    transfer: Callable
    export: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    plan, generate, merge, load, transfer, export = (
        guard(context.bind(f))
        for f in (
            views.plan,
            adapter.generate,
            adapter.merge,
            adapter.load_adapter,
            views.transfer,
            views.export,
        )
    )
    train, trained = guard(context.bind(views.train)), guard(context.bind(adapter.trained))

    # Gradio hands a progress bar only to a handler that names gr.Progress() in its own signature.
    def training(qlora: bool):
        def run(
            text,
            model,
            rank,
            alpha,
            dropout,
            targets,
            steps,
            lr,
            seed,
            progress=gr.Progress(),  # noqa: B008
        ):
            """Train live: the loss curve and a summary after every few steps, until done or
            Stop."""
            yield from train(
                text, model, rank, alpha, dropout, targets, steps, lr, seed, qlora, progress
            )

        return run

    def on_trained(run, prompt, seed):
        """After a run: the adapted layers to inspect, the first one's ΔW, before/after text. The
        layers are the Layer dropdown's choices, a component update, so it is made here."""
        shown = trained(run, prompt, seed)
        if shown is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        names, *rest = shown
        return gr.Dropdown(choices=names, value=names[0]), *rest

    return Events(
        plan=plan,
        train=training(False),
        qlora=training(True),
        trained=on_trained,
        generate=generate,
        merge=merge,
        load=load,
        transfer=transfer,
        export=export,
    )


def _slider(low, high, value, step, label, **kw):
    return gr.Slider(low, high, value=value, step=step, label=label, **kw)


def build(context: Context) -> gr.Blocks:
    on = events(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        run_state, qlora_state = gr.State(None), gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                preset = gr.Dropdown([*STYLES, OWN_TEXT], value=DEFAULT_PRESET, label="Style")
                model = gr.Dropdown(
                    views.model_choices(context),
                    value=views.DEFAULT_MODEL,
                    label="Model",
                    info="hub models need the local cache",
                )
                rank = _slider(MIN_RANK, MAX_RANK, 8, 1, "Rank r", elem_id="lora-rank")
                alpha = _slider(0.5, MAX_ALPHA, 16, 0.5, "α (the update is scaled by α / r)")
                dropout = _slider(0, MAX_DROPOUT, 0, 0.05, "Dropout on the adapter's input")
                targets = gr.CheckboxGroup(
                    list(TARGETS),
                    value=list(TARGETS),
                    label="Target modules",
                    info="q, k, v, o: attention · gate, up, down: the MLP",
                    elem_id="lora-targets",
                )
                steps = _slider(
                    MIN_STEPS, MAX_STEPS, DEFAULT_STEPS, 10, "Steps", elem_id="lora-steps"
                )
                lr = gr.Number(3e-3, label="Learning rate (0, 1]", elem_id="lora-lr")
                seed = gr.Number(0, label="Seed", minimum=0, elem_id="lora-seed")
            with gr.Column(scale=2):
                plan_md = gr.Markdown(elem_id="lora-plan")
                plan_table = gr.Dataframe(
                    headers=["method", "trainable", "weights", "gradients", "AdamW state", "total"],
                    label="Memory to fine-tune, computed from the shapes",
                    interactive=False,
                    elem_id="lora-memory",
                )
                # plain: Gradio's shell colours are Nord's, made for a dark page (1.6:1 here)
                cmd = gr.Code(label="The same run, headless", language=None, elem_id="lora-cmd")
        text = gr.Textbox(
            style_text(DEFAULT_PRESET),
            label="Text in the style to learn",
            lines=4,
            max_lines=8,
            max_length=MAX_TEXT_BYTES,
            elem_id="lora-text",
            info="a preset, or paste a few hundred lines of your own (at most 200 kB)",
        )
        with gr.Row():
            train_btn = gr.Button("Train", variant="primary", elem_id="lora-train")
            stop_btn = gr.Button("Stop", variant="stop", elem_id="lora-stop")
        train_md = gr.Markdown(elem_id="lora-train-md")
        loss_plot = gr.Plot(label="Training loss", elem_id="lora-loss")
        with gr.Row():
            prompt = gr.Textbox(
                PROMPTS[DEFAULT_PRESET],
                label="Prompt",
                lines=1,
                max_lines=2,
                scale=3,
                max_length=MAX_PROMPT_CHARS,
                elem_id="lora-prompt",
            )
            gen_btn = gr.Button("Generate before / after", scale=1)
        with gr.Row():
            before = gr.Textbox(label="Before (the base model)", lines=3, elem_id="lora-before")
            after = gr.Textbox(label="After (base + adapter)", lines=3, elem_id="lora-after")

        with gr.Tab("What changed: ΔW = B·A"):
            layer = gr.Dropdown([], label="Layer", allow_custom_value=True, elem_id="lora-layer")
            delta_plot = gr.Plot(
                label="ΔW = B·A of the chosen layer, after training", elem_id="lora-delta"
            )
            delta_md = gr.Markdown(elem_id="lora-delta-md")
        with gr.Tab("Merge / unmerge"):
            merge_btn = gr.Button("Time both", elem_id="lora-merge")
            merge_md = gr.Markdown(elem_id="lora-merge-md")
        with gr.Tab("Save / load the adapter"):
            gr.Markdown(
                "The zip holds `adapter_model.safetensors` and `adapter_config.json`, as peft "
                "saves them: `PeftModel.from_pretrained(base, folder)` loads it."
            )
            with gr.Row():
                save_btn = gr.Button("Save adapter", elem_id="lora-save")
                saved = gr.File(label="Download", elem_id="lora-saved")
            upload = gr.File(
                label="Load an adapter (.zip, or .safetensors + .json)",
                file_count="multiple",
                file_types=[".zip", ".safetensors", ".json"],
                elem_id="lora-upload",
            )
            load_md = gr.Markdown(elem_id="lora-load-md")
        with gr.Tab("QLoRA: the base in NF4"):
            gr.Markdown(
                "The same settings, with every frozen decoder weight in 4-bit NF4 "
                "(bitsandbytes' `Linear4bit` on the CPU; our own `nf4.py` where bitsandbytes "
                "is not installed)."
            )
            qlora_btn = gr.Button("Train with an NF4 base", elem_id="lora-qlora")
            qlora_md = gr.Markdown(elem_id="lora-qlora-md")
            qlora_plot = gr.Plot(label="Training loss on the NF4 base")
            qlora_table = gr.Dataframe(
                headers=["run", "last loss", "held-out loss", "weights held", "total held", "time"],
                interactive=False,
                elem_id="lora-qlora-table",
            )
        with gr.Tab("Transfer learning"):
            gr.Markdown(
                "A new 4-topic classifier: a linear head on **frozen MiniLM** features, the same "
                "head on a **randomly initialised** MiniLM, and **fine-tuning all** 22.7 M weights."
            )
            with gr.Row():
                t_seed = gr.Number(0, label="Seed", minimum=0, scale=1)
                transfer_btn = gr.Button("Compare", elem_id="lora-transfer", scale=1)
            transfer_table = gr.Dataframe(
                headers=["method", "test accuracy", "training time", "trainable parameters"],
                interactive=False,
                elem_id="lora-transfer-table",
            )
            transfer_md = gr.Markdown(elem_id="lora-transfer-md")

        with gr.Accordion("The code behind this tab: plugins/lora/lora.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)

        # -- events ---------------------------------------------------------------------
        heavy = dict(concurrency_id=CONCURRENCY)
        settings = [model, rank, alpha, dropout, targets, steps, lr, seed]
        plan_run = dict(fn=on.plan, inputs=settings, outputs=[plan_md, plan_table, cmd], **heavy)
        state = {
            "preset": preset,
            "model": model,
            "rank": rank,
            "alpha": alpha,
            "dropout": dropout,
            "targets": targets,
            "steps": steps,
            "lr": lr,
            "seed": seed,
        }
        share.link(tab, "lora", state, load=dict(**plan_run, api_name="lora_plan"))
        # Compare only what changes the plan: steps, learning rate and seed do not
        planned = {k: state[k] for k in ("model", "rank", "alpha", "dropout", "targets")}
        share.export(
            "lora", on.export, [*settings, run_state], planned, api_name="lora_export", **heavy
        )
        for control in (rank, alpha, dropout, steps):
            control.change(**plan_run, trigger_mode="always_last", api_visibility="private")
        gr.on(
            [model.input, targets.input, lr.submit, seed.submit],
            **plan_run,
            api_visibility="private",
        )
        preset.input(on_preset, preset, [text, prompt], api_visibility="private")

        after_train = dict(
            fn=on.trained,
            inputs=[run_state, prompt, seed],
            outputs=[layer, delta_plot, delta_md, before, after],
            api_visibility="private",
            **heavy,
        )
        train_btn.click(
            on.train,
            [text, *settings],
            [loss_plot, train_md, run_state],
            api_name="lora_train",
            **heavy,
        ).then(**after_train)
        qlora_btn.click(
            on.qlora,
            [text, *settings],
            [qlora_plot, qlora_md, qlora_state],
            api_name="lora_qlora",
            **heavy,
        ).then(on_compare, [run_state, qlora_state], qlora_table, api_visibility="private")
        stop_btn.click(**STOP)

        gen = dict(fn=on.generate, inputs=[run_state, prompt, seed], outputs=[before, after])
        gr.on([gen_btn.click, prompt.submit], **gen, api_name="lora_generate", **heavy)
        layer.input(
            on_inspect, [run_state, layer], [delta_plot, delta_md], api_name="lora_inspect", **heavy
        )
        merge_btn.click(on.merge, [run_state, prompt], merge_md, api_name="lora_merge", **heavy)
        save_btn.click(on_save, run_state, saved, api_name="lora_save", **heavy)
        upload.upload(
            on.load, [upload, model], [load_md, run_state], api_name="lora_load", **heavy
        ).then(**after_train)
        transfer_btn.click(
            on.transfer, t_seed, [transfer_table, transfer_md], api_name="lora_transfer", **heavy
        )
    return tab
