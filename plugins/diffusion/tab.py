"""The Diffusion tab: layout, then events. The math lives in diffusion.py, the tensors each part
computes in compute.py, what each part shows (checked inputs in, results out) in views.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import MAX_SEED, guard
from playground.ui import LATEX, STOP
from plugins.diffusion import text_to_image as t2i
from plugins.diffusion import views
from plugins.diffusion.views import (
    FAST_MAX,
    FAST_MIN,
    MAX_SAMPLES,
    MAX_STEPS,
    MIN_STEPS,
    TOY_MAX_POINTS,
    TOY_MAX_STEPS,
    TRAIN_MAX_SECONDS,
    TRAIN_MAX_STEPS,
    T,
)

CONCURRENCY = "diffusion"  # every heavy event of this tab shares one worker queue
MATH_SOURCE = Path(__file__).with_name("diffusion.py")  # shown to the learner as it is

INTRO = """
A diffusion model learns to **undo noise**. Training takes real data $x_0$ and adds Gaussian
noise in $T = 1000$ small steps until nothing is left but static; any step has a closed form,
$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$, and a network
$\\varepsilon_\\theta(x_t, t)$ learns to predict the $\\varepsilon$ that was added. Generation
runs the other way: start from pure noise and remove a little predicted noise at every step.
The models here are real and small: a 651 k-parameter UNet trained on 16×16 handwritten digits
and a 171 k-parameter network on a 2-D toy distribution.
"""


# The views that need no model and no device; those that do are bound to the context in events.
on_forward, on_step_to, on_animate = (
    guard(fn) for fn in (views.forward, views.step_to, views.animate)
)


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    sample: Callable
    compare: Callable
    toy: Callable
    toy_step: Callable
    train: Callable
    trained: Callable  # samples from the model the learner trained
    t2i_note: Callable  # whether text-to-image can run here, and why not
    t2i: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    sample, compare, train = (
        guard(context.bind(fn)) for fn in (views.sample, views.compare, views.train)
    )

    # Gradio hands a progress bar only to a handler that names gr.Progress() in its own signature.
    def on_sample(method, steps, eta, seed, n, progress=gr.Progress()):  # noqa: B008 (gradio's way)
        return sample(method, steps, eta, seed, n, progress)

    def on_compare(n, fast_steps, eta, ddpm_steps, seed, progress=gr.Progress()):  # noqa: B008
        yield from compare(n, fast_steps, eta, ddpm_steps, seed, progress)

    def on_train(steps, seed, progress=gr.Progress()):  # noqa: B008
        yield from train(steps, seed, progress)

    toy, toy_step, trained, t2i_note, t2i_generate = (
        guard(context.bind(fn))
        for fn in (views.toy, views.toy_step, views.trained_samples, t2i.note, t2i.generate)
    )
    return Events(
        sample=on_sample,
        compare=on_compare,
        toy=toy,
        toy_step=toy_step,
        train=on_train,
        trained=trained,
        t2i_note=t2i_note,
        t2i=t2i_generate,
    )


# -- layout ---------------------------------------------------------------------------------


# Gradio floats an image's label (34 px) and its buttons over the picture's top. The pictures
# are at most 266 px and are never enlarged, so a box this tall centres them below the label;
# the buttons (download, share, full screen) go: they covered the picture and cut the label.
IMAGE_BOX_PX = 350
# A gallery's "auto" height is at least 450 px on a wide screen, which left a band of white
# under two rows of samples; this height is the rows' own.
FIT = "fit-content"


def _image(label: str, elem_id: str | None = None) -> gr.Image:
    return gr.Image(
        label=label,
        type="pil",
        interactive=False,
        elem_id=elem_id,
        format="png",
        height=IMAGE_BOX_PX,
        buttons=[],
    )


def build(context: Context) -> gr.Blocks:
    on = events(context)
    heavy = dict(concurrency_id=CONCURRENCY)
    t2i_choices = t2i.choices(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        with gr.Tabs():
            with gr.Tab("1 · Add noise", elem_id="diffusion-forward-tab"), gr.Row():
                with gr.Column(scale=1, min_width=280):
                    digit = gr.Dropdown(
                        [(f"digit #{i}", i) for i in range(16)],
                        value=0,
                        label="Bundled digit",
                    )
                    upload = gr.File(
                        label="…or your own image (≤ 5 MB, shrunk to ≤ 256 px)",
                        file_types=["image"],
                        type="filepath",
                        elem_id="diffusion-upload",
                    )
                    schedule = gr.Radio(
                        ["linear", "scaled-linear", "cosine"],
                        value="linear",
                        label="β schedule",
                    )
                    t = gr.Slider(
                        0, T, value=250, step=1, label="Timestep t", elem_id="diffusion-t"
                    )
                    noise_seed = gr.Number(0, label="Noise seed", minimum=0, maximum=MAX_SEED)
                with gr.Column(scale=2):
                    with gr.Row():
                        x0_img = _image("x_0 (clean)")
                        eps_img = _image("noise ε (shown as ε/3)")
                        xt_img = _image("x_t", "diffusion-xt")
                    numbers = gr.Markdown(elem_id="diffusion-numbers", latex_delimiters=LATEX)
                    curves = gr.Plot(label="Signal retention", elem_id="diffusion-curves")

            with gr.Tab("2 · Remove noise", elem_id="diffusion-reverse-tab"):
                frames = gr.State(None)
                with gr.Row():
                    method = gr.Radio(["ddim", "ddpm"], value="ddim", label="Sampler (ours)")
                    steps = gr.Slider(
                        MIN_STEPS,
                        MAX_STEPS,
                        value=50,
                        step=1,
                        label="Steps",
                        elem_id="diffusion-steps",
                    )
                    eta = gr.Slider(0, 1, value=0, step=0.05, label="η (DDIM: 0 deterministic)")
                    seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                    count = gr.Slider(1, MAX_SAMPLES, value=MAX_SAMPLES, step=1, label="Samples")
                run = gr.Button("Denoise from noise", variant="primary", elem_id="diffusion-run")
                summary = gr.Markdown(elem_id="diffusion-summary")
                with gr.Row():
                    back = gr.Button("◀ step", size="sm")
                    at = gr.Slider(0, 1, value=0, step=1, label="Step", elem_id="diffusion-at")
                    ahead = gr.Button("step ▶", size="sm", elem_id="diffusion-next")
                    play = gr.Button("Play as animation", size="sm")
                step_note = gr.Markdown()
                with gr.Row():
                    r_xt = _image("x_t (input of this step)")
                    r_eps = _image("ε_θ(x_t, t), predicted noise")
                    r_x0 = _image("x̂_0, predicted clean digits")
                movie = gr.Image(label="Animation: x_t · ε_θ · x̂_0", type="filepath", visible=False)
                final = gr.Gallery(
                    label="The samples",
                    columns=8,
                    height=FIT,
                    object_fit="contain",
                    elem_id="diffusion-samples",
                )

            with gr.Tab("3 · Schedulers side by side", elem_id="diffusion-compare-tab"):
                gr.Markdown(
                    "The same model and the same starting noise through diffusers' four "
                    "schedulers. DDPM needs every one of its steps; DDIM, Euler and DPM-Solver++ "
                    "skip most. DDIM (η = 0), Euler and DPM-Solver++ all follow the same "
                    "deterministic path, so they land on nearly the same digits; DDPM adds fresh "
                    "noise at every step and lands elsewhere. Euler and DPM-Solver++ do not clip "
                    "x̂_0 to the digits' range, so some of their samples stay noisy."
                )
                with gr.Row():
                    c_count = gr.Slider(1, MAX_SAMPLES, value=1, step=1, label="Samples")
                    c_fast = gr.Slider(
                        FAST_MIN, FAST_MAX, value=25, step=1, label="Steps: DDIM, Euler, DPM++"
                    )
                    c_eta = gr.Slider(0, 1, value=0, step=0.05, label="DDIM η")
                    c_ddpm = gr.Slider(MIN_STEPS, MAX_STEPS, value=T, step=1, label="DDPM steps")
                    c_seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                with gr.Row():
                    c_run = gr.Button("Compare", variant="primary", elem_id="diffusion-compare")
                    c_stop = gr.Button("Stop")
                c_table = gr.Dataframe(
                    headers=["scheduler", "steps", "model calls", "wall time (s)"],
                    interactive=False,
                    elem_id="diffusion-compared",
                )
                c_gallery = gr.Gallery(label="Samples", columns=4, height=FIT, object_fit="contain")

            with gr.Tab("4 · 2-D view", elem_id="diffusion-toy-tab"):
                traj = gr.State(None)
                with gr.Row():
                    toy_n = gr.Slider(1, TOY_MAX_POINTS, value=500, step=1, label="Points")
                    toy_steps = gr.Slider(
                        MIN_STEPS, TOY_MAX_STEPS, value=50, step=1, label="DDIM steps"
                    )
                    toy_seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                    toy_run = gr.Button("Sample", variant="primary", elem_id="diffusion-toy-run")
                toy_at = gr.Slider(0, 1, value=0, step=1, label="Step (0: the Gaussian blob)")
                toy_note = gr.Markdown()
                toy_plot = gr.Plot(
                    label="The points at the chosen step", elem_id="diffusion-toy-plot"
                )

            with gr.Tab("5 · Train live", elem_id="diffusion-train-tab"):
                trained = gr.State(None)
                gr.Markdown(
                    "Train a fresh two-moons denoiser on 2000 real points, right here: DDPM's "
                    "algorithm 1 (random t, random ε, regress ε) with AdamW, batch 256. "
                    f"At most {TRAIN_MAX_STEPS} steps or {TRAIN_MAX_SECONDS:g} s."
                )
                with gr.Row():
                    tr_steps = gr.Slider(
                        1, TRAIN_MAX_STEPS, value=300, step=1, label="Training steps"
                    )
                    tr_seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                    tr_run = gr.Button("Train", variant="primary", elem_id="diffusion-train")
                    tr_stop = gr.Button("Stop", elem_id="diffusion-train-stop")
                    tr_sample = gr.Button("Sample from it")
                tr_status = gr.Markdown(elem_id="diffusion-train-status")
                with gr.Row():
                    tr_loss = gr.Plot(label="Loss")
                    tr_points = gr.Plot(label="Samples")

            with gr.Tab("6 · Text to image", elem_id="diffusion-t2i-tab"):
                t2i_model = gr.Dropdown(
                    t2i_choices,
                    value=t2i_choices[0][1] if t2i_choices else None,
                    label="Stable Diffusion model (hub)",
                )
                t2i_status = gr.Markdown(elem_id="diffusion-t2i-note")
                with gr.Row():
                    prompt = gr.Textbox(
                        "a watercolour painting of a lighthouse",
                        label="Prompt",
                        lines=1,
                        max_length=t2i.MAX_PROMPT_CHARS,
                    )
                    t2i_steps = gr.Slider(1, t2i.MAX_STEPS, value=25, step=1, label="Steps")
                    t2i_seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                t2i_run = gr.Button("Generate", variant="primary")
                with gr.Row():
                    t2i_image = gr.Image(label="Image", type="pil", interactive=False)
                    t2i_steps_view = gr.Gallery(label="Decoded latents along the way", columns=4)

        with gr.Accordion("The code behind this tab: plugins/diffusion/diffusion.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)

        # -- events
        fwd = dict(
            fn=on_forward,
            inputs=[upload, digit, schedule, t, noise_seed],
            outputs=[x0_img, eps_img, xt_img, numbers, curves],
            show_progress="hidden",  # cheap: its own queue, so it never waits behind a sampler
        )
        state = {
            "digit": digit,
            "schedule": schedule,
            "t": t,
            "noise_seed": noise_seed,
            "method": method,
            "steps": steps,
            "eta": eta,
            "seed": seed,
            "n": count,
            "compare_n": c_count,
            "fast_steps": c_fast,
            "compare_eta": c_eta,
            "ddpm_steps": c_ddpm,
            "compare_seed": c_seed,
            "points": toy_n,
            "toy_steps": toy_steps,
            "toy_seed": toy_seed,
            "train_steps": tr_steps,
            "train_seed": tr_seed,
            "t2i_model": t2i_model,
            "prompt": prompt,
            "t2i_steps": t2i_steps,
            "t2i_seed": t2i_seed,
        }
        # A link restores every setting and redraws the forward process; the samplers and the
        # training run (seconds of work each) wait for their buttons.
        share.link(
            tab,
            "diffusion",
            state,
            load=dict(**fwd, api_name="diffusion_forward"),
            also=[
                dict(fn=on.t2i_note, inputs=t2i_model, outputs=t2i_status, api_visibility="private")
            ],
        )
        share.export(
            "diffusion", guard(views.export), fwd["inputs"], state, api_name="diffusion_export"
        )
        gr.on(
            [digit.input, upload.change, schedule.input, noise_seed.submit],
            **fwd,
            api_visibility="private",
        )
        t.change(**fwd, trigger_mode="always_last", api_visibility="private")
        t2i_model.input(on.t2i_note, t2i_model, t2i_status, api_visibility="private")

        shown = [at, r_xt, r_eps, r_x0, step_note]
        run.click(
            on.sample,
            [method, steps, eta, seed, count],
            [frames, *shown, final, summary],
            api_name="diffusion_sample",
            **heavy,
        )
        stepping = [frames, at]
        at.input(on_step_to, stepping, shown, api_visibility="private")
        back.click(lambda f, k: on_step_to(f, k - 1), stepping, shown, api_visibility="private")
        ahead.click(lambda f, k: on_step_to(f, k + 1), stepping, shown, api_visibility="private")
        play.click(on_animate, frames, movie, api_visibility="private", **heavy)

        comparing = c_run.click(
            on.compare,
            [c_count, c_fast, c_eta, c_ddpm, c_seed],
            [c_table, c_gallery],
            api_name="diffusion_compare",
            **heavy,
        )
        c_stop.click(None, cancels=[comparing], api_visibility="private")

        toy_run.click(
            on.toy,
            [toy_n, toy_steps, toy_seed],
            [traj, toy_at, toy_plot, toy_note],
            api_name="diffusion_toy",
            **heavy,
        )
        toy_at.input(on.toy_step, [traj, toy_at], toy_plot, api_visibility="private", **heavy)

        tr_run.click(
            on.train,
            [tr_steps, tr_seed],
            [trained, tr_loss, tr_status, tr_points],
            api_name="diffusion_train",
            **heavy,
        )
        tr_stop.click(**STOP)
        tr_sample.click(on.trained, trained, tr_points, api_visibility="private", **heavy)

        t2i_run.click(
            on.t2i,
            [t2i_model, prompt, t2i_steps, t2i_seed],
            [t2i_image, t2i_steps_view],
            api_name="diffusion_text_to_image",
            **heavy,
        )
    return tab
