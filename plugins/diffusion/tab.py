"""The Diffusion tab: layout, then events. The math lives in diffusion.py, what each part
computes in views.py, pictures in images.py and plots in figures.py."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from playground import devices, share

T = 1000  # training timesteps of both bundled models
MAX_SAMPLES = 16  # per request
MIN_STEPS, MAX_STEPS = 1, 1000
FAST_MIN, FAST_MAX = 10, 100  # DDIM, Euler and DPM-Solver++ in the comparison
MAX_SEED = 2**31 - 1
TOY_MAX_POINTS, TOY_MAX_STEPS = 2000, 200
TRAIN_MAX_STEPS, TRAIN_MAX_SECONDS = 2000, 30.0
MAX_PROMPT_CHARS, T2I_MAX_STEPS = 300, 50
TOY_BOUNDS = (-2.6, 2.6)  # the standardised moons fit inside
ARROW = 0.3  # length of the longest score arrow, in the plot's units
CONCURRENCY = "diffusion"  # every heavy event of this tab shares one worker queue
MATH_SOURCE = Path(__file__).with_name("diffusion.py")  # shown to the learner as it is
LATEX = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "$", "right": "$", "display": False},
]

INTRO = """
A diffusion model learns to **undo noise**. Training takes real data $x_0$ and adds Gaussian
noise in $T = 1000$ small steps until nothing is left but static; any step has a closed form,
$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\varepsilon$, and a network
$\\varepsilon_\\theta(x_t, t)$ learns to predict the $\\varepsilon$ that was added. Generation
runs the other way: start from pure noise and remove a little predicted noise at every step.
The models here are real and small: a 651 k-parameter UNet trained on 16×16 handwritten digits
and a 171 k-parameter network on a 2-D toy distribution.
"""


def _math():
    from playground.models import IMPORTING

    with IMPORTING:  # torch and diffusers load on first use, never beside another import
        from plugins.diffusion import diffusion, figures, views

    return diffusion, views, figures


# -- input checks ---------------------------------------------------------------------------


def _whole(value: Any, what: str, low: int, high: int) -> int:
    allowed = f"a whole number from {low} to {high:,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{what} must be {allowed}, not {value!r}.") from None
    if not math.isfinite(x) or x != int(x) or not low <= x <= high:
        raise gr.Error(f"{what} must be {allowed}, not {value!r}.")
    return int(x)


def _fraction(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{what} must be a number from 0 to 1, not {value!r}.") from None
    if not (math.isfinite(x) and 0 <= x <= 1):
        raise gr.Error(f"{what} must be a number from 0 to 1, not {value!r}.")
    return x


def _choice(value: Any, what: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise gr.Error(f"{what} must be one of {', '.join(allowed)}, not {value!r}.")
    return value


def _model(model_id: str):
    from playground.models import REGISTRY, ModelUnavailable

    try:
        return REGISTRY.get(model_id, devices.device())
    except ModelUnavailable as exc:
        raise gr.Error(str(exc)) from None


def _source_image(upload: str | None, digit: Any):
    """The picture to noise: the upload when there is one, else a bundled digit."""
    from plugins.diffusion import images

    _, views, _ = _math()
    if upload:
        try:
            return images.load_upload(upload), False, Path(upload).name
        except images.BadImage as exc:
            raise gr.Error(str(exc)) from None
    digits, labels = views.digits()
    i = _whole(digit, "The bundled digit", 0, len(digits) - 1)
    return digits[i], True, f"bundled digit {int(labels[i])}"


# -- 1. the forward process -----------------------------------------------------------------


def forward(upload, digit, schedule, t, seed):
    """x_0, ε and x_t at step t, their numbers, and ᾱ_t of every schedule (`diffusion_forward`)."""
    diffusion, views, figures = _math()
    schedule = _choice(schedule, "The schedule", diffusion.SCHEDULES)
    t = _whole(t, "The timestep t", 0, T)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    x0, ink, name = _source_image(upload, digit)
    out = views.forward(x0, schedule, t, seed, ink)
    a = out.alpha_bar
    (r, c), (p0, pe, pt) = out.pixel, out.pixel_values
    halves = ", ".join(f"{s} at t = {views.half_signal_step(s)}" for s in diffusion.SCHEDULES)
    snr = f"{10 * math.log10(a / (1 - a)):.1f} dB" if 0 < a < 1 else ("∞" if a == 1 else "−∞")
    numbers = (
        f"**{name}**, {schedule} schedule, **t = {t}**: ᾱ_t = **{a:.4f}**, so "
        f"$x_t = {a**0.5:.4f}\\,x_0 + {(1 - a) ** 0.5:.4f}\\,\\varepsilon$ "
        f"(signal-to-noise ratio ᾱ/(1−ᾱ) = {snr}).\n\n"
        f"At the brightest pixel (row {r}, column {c}): $x_0 = {p0:.3f}$, "
        f"$\\varepsilon = {pe:.3f}$, so "
        f"$x_t = {a**0.5:.4f} \\times {p0:.3f} + {(1 - a) ** 0.5:.4f} \\times {pe:.3f} = "
        f"{pt:.3f}$. Correlation of x_t with x_0 over all pixels: **{out.correlation:.3f}**.\n\n"
        f"Half the signal's variance is gone (ᾱ_t < 0.5) for {halves}: the cosine schedule "
        "destroys information more evenly, where the linear one has wiped most of it out early."
    )
    return out.x0, out.noise, out.x_t, numbers, figures.signal_curves(views.curves(), schedule, t)


SNIPPET = '''"""The Diffusion tab's forward process, by diffusers' DDPMScheduler (ML Playground)."""
import json

import torch
from diffusers import DDPMScheduler
from safetensors.torch import load_file

x0 = load_file({path!r})["digits"][{digit}]  # (1, 16, 16) in [-1, 1]: bundled digit #{digit}
noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed({seed}))
scheduler = DDPMScheduler(num_train_timesteps={steps}, beta_schedule={name!r}{beta_range})
t = {t}  # 0 is the clean image; diffusers counts its steps from 0, so step t is index t - 1
if t == 0:
    alpha_bar, x_t = 1.0, x0
else:
    alpha_bar = scheduler.alphas_cumprod[t - 1].item()
    x_t = scheduler.add_noise(x0[None], noise[None], torch.tensor([t - 1]))[0]
r, c = divmod(int(x0[0].argmax()), x0.shape[2])  # the brightest pixel
correlation = torch.corrcoef(torch.stack([x0.flatten(), x_t.flatten()]))[0, 1].item()
print(json.dumps({{
    "alpha_bar": alpha_bar,
    "pixel": [r, c],
    "x0_noise_xt_at_pixel": [x0[0, r, c].item(), noise[0, r, c].item(), x_t[0, r, c].item()],
    "correlation_of_xt_with_x0": correlation,
}}))
'''


def export(upload, digit, schedule, t, seed) -> share.Export:
    """The forward process's numbers on screen, and diffusers' DDPMScheduler computing them."""
    from plugins.models.paths import DIGITS_DIR

    diffusion, views, _ = _math()
    if upload:
        raise gr.Error("The export recomputes a bundled digit: clear your image to export.")
    schedule = _choice(schedule, "The schedule", diffusion.SCHEDULES)
    t = _whole(t, "The timestep t", 0, T)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    x0, ink, _ = _source_image(None, digit)
    out = views.forward(x0, schedule, t, seed, ink)
    low_high = diffusion.BETA_RANGE.get(schedule)
    snippet = SNIPPET.format(
        path=str(DIGITS_DIR / "examples.safetensors"), digit=int(digit), seed=seed, steps=T,
        name=diffusion.DIFFUSERS_NAMES[schedule], t=t,
        beta_range=f", beta_start={low_high[0]}, beta_end={low_high[1]}" if low_high else "",
    )  # fmt: skip
    numbers = {
        "alpha_bar": out.alpha_bar,
        "pixel": list(out.pixel),
        "x0_noise_xt_at_pixel": list(out.pixel_values),
        "correlation_of_xt_with_x0": out.correlation,
    }
    return share.Export(numbers, snippet)


# -- 2. the reverse process -----------------------------------------------------------------


def _reverse_args(method, steps, eta, seed, n):
    diffusion, _, _ = _math()
    return (
        _choice(method, "The sampler", diffusion.METHODS),
        _whole(steps, "Steps", MIN_STEPS, MAX_STEPS),
        _fraction(eta, "η"),
        _whole(seed, "The seed", 0, MAX_SEED),
        _whole(n, "Samples", 1, MAX_SAMPLES),
    )


def _show(frames, k: int):
    _, views, _ = _math()
    k = min(max(int(k), 0), frames.count - 1)
    x_t, noise, x0 = views.frame(frames, k)
    index, t = frames.indices[k], frames.timesteps[k]
    note = (
        f"Step **{index + 1} of {frames.steps}** (timestep t = {t}) of "
        f"{frames.method.upper()}{f', η = {frames.eta:g}' if frames.method == 'ddim' else ''}, "
        f"seed {frames.seed}: left the input x_t, middle the noise the model predicts in it "
        "(shown as ε/3), right its guess of the clean digit x̂_0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t."
    )
    if frames.count < frames.steps:
        note += f" {frames.count} of the {frames.steps} steps are kept for stepping through."
    # gr.update: a one-step run has a one-position slider, which gr.Slider() refuses
    return gr.update(value=k, maximum=max(1, frames.count - 1)), x_t, noise, x0, note


def sample(method, steps, eta, seed, n, progress=gr.Progress()):  # noqa: B008 (gradio's way)
    """Our DDPM or DDIM on the digits UNet: samples and every step (`diffusion_sample`)."""
    from plugins.diffusion import images

    _, views, _ = _math()
    method, steps, eta, seed, n = _reverse_args(method, steps, eta, seed, n)
    model = _model("digits-unet")
    frames = views.reverse(model, n, steps, method, eta, seed, devices.device(), progress)
    gallery = [(images.to_pil(x, ink=True, scale=4), f"#{i}") for i, x in enumerate(frames.final)]
    summary = (
        f"**{n} samples**, {method.upper()} with {steps} steps: **{frames.seconds:.2f} s**, "
        f"{steps} calls of the UNet on a batch of {n}."
    )
    return frames, *_show(frames, 0), gallery, summary


def step_to(frames, k):
    if frames is None:
        raise gr.Error("Run the sampler first.")
    return _show(frames, k)


def animate(frames):
    _, views, _ = _math()
    if frames is None:
        raise gr.Error("Run the sampler first, then play it.")
    path = Path(tempfile.mkdtemp(prefix="diffusion-")) / "reverse.gif"
    return gr.update(value=str(views.animation(frames, path)), visible=True)


# -- 3. schedulers side by side -------------------------------------------------------------


def compare(n, fast_steps, eta, ddpm_steps, seed, progress=gr.Progress()):  # noqa: B008
    """diffusers' DDPM, DDIM, Euler and DPM-Solver++ from the same noise (`diffusion_compare`)."""
    from plugins.diffusion import images

    _, views, _ = _math()
    n = _whole(n, "Samples", 1, MAX_SAMPLES)
    fast = _whole(fast_steps, "Steps (DDIM, Euler, DPM++)", FAST_MIN, FAST_MAX)
    eta = _fraction(eta, "η")
    ddpm = _whole(ddpm_steps, "DDPM steps", MIN_STEPS, MAX_STEPS)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    model = _model("digits-unet")
    steps = {"ddpm": ddpm, "ddim": fast, "euler": fast, "dpm++": fast}
    rows, gallery = [], []
    for row in views.compare(model, n, steps, eta, seed, devices.device(), progress):
        label = {"ddim": f"DDIM, η = {eta:g}", "dpm++": "DPM-Solver++"}.get(row.name, row.name)
        rows.append([label, row.steps, row.calls, round(row.seconds, 2)])
        gallery.append((images.grid(row.samples, ink=True), f"{label}: {row.steps} steps"))
        yield rows, gallery


# -- 4. the 2-D view ------------------------------------------------------------------------


def _toy_figure(traj, k: int):
    _, views, figures = _math()
    k = min(max(int(k), 0), len(traj.timesteps))
    model = _model("two-moons")
    t = traj.timesteps[min(k, len(traj.timesteps) - 1)]
    field = views.score_field(model, t, TOY_BOUNDS, devices.device())
    # the score grows like 1/√(1 − ᾱ_t): scale so the longest arrow is ARROW long at every t
    vectors = field[1] * (ARROW / field[1].norm(dim=1).max().clamp_min(1e-12))
    arrows = (field[0].tolist(), vectors.tolist())
    trails = traj.points[: k + 1, : views.TRAILS].permute(1, 0, 2).tolist()
    done = "x_0, finished" if k == len(traj.timesteps) else f"before the step at t = {t}"
    return figures.points_2d(
        views.moons().tolist(),
        traj.points[k].tolist(),
        trails,
        arrows,
        f"Step {k} of {len(traj.timesteps)} ({done}); arrows: the score at t = {t} (scaled)",
        TOY_BOUNDS,
    )


def toy(n, steps, seed):
    """Points from a Gaussian blob back onto two moons, with the score field (`diffusion_toy`)."""
    _, views, _ = _math()
    n = _whole(n, "Points", 1, TOY_MAX_POINTS)
    steps = _whole(steps, "Steps", MIN_STEPS, TOY_MAX_STEPS)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    traj = views.toy_trajectories(_model("two-moons"), n, steps, seed, devices.device())
    final = traj.points[-1]
    note = (
        f"{n} points, our DDIM with {steps} steps. Median distance to the nearest real point: "
        f"**{views.nearest_distance(final, views.moons()):.3f}** at the end, "
        f"{views.nearest_distance(traj.points[0], views.moons()):.3f} for the starting noise."
    )
    k = len(traj.timesteps)
    return traj, gr.update(value=k, maximum=k), _toy_figure(traj, k), note


def toy_step(traj, k):
    if traj is None:
        raise gr.Error("Sample the points first.")
    return _toy_figure(traj, k)


# -- 5. train live --------------------------------------------------------------------------


def _scatter(model, title: str):
    _, views, figures = _math()
    points = views.toy_samples(model, 1000, 0, devices.device())
    return figures.points_2d(views.moons().tolist(), points.tolist(), [], None, title, TOY_BOUNDS)


def train(steps, seed, progress=gr.Progress()):  # noqa: B008
    """Train a fresh toy denoiser for a few seconds, then sample from it (`diffusion_train`)."""
    _, views, figures = _math()
    steps = _whole(steps, "Training steps", 1, TRAIN_MAX_STEPS)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    run = views.train_toy(steps, seed, TRAIN_MAX_SECONDS, devices.device())
    for state in run:
        done = len(state.losses)
        progress(done / steps, desc=f"step {done} of {steps}")
        status = (
            f"Step **{done} of {steps}** · {state.seconds:.1f} s · loss "
            f"{sum(state.losses[-25:]) / len(state.losses[-25:]):.4f} (mean of the last 25)"
        )
        curve = figures.loss_curve(state.losses, "Training loss")
        yield state.model, curve, status, gr.skip()
    if state.stopped_by_clock:
        status += f" · stopped at the {TRAIN_MAX_SECONDS:g} s limit"
    title = f"1000 samples after {len(state.losses)} training steps (our DDIM, 50 steps)"
    yield state.model, curve, status, _scatter(state.model, title)


def trained_samples(model):
    if model is None:
        raise gr.Error("Train a model first (a stopped run can be sampled too).")
    return _scatter(model, "1000 samples from the model trained here (our DDIM, 50 steps)")


# -- 6. text to image -----------------------------------------------------------------------


def _t2i_specs():
    from playground.models import REGISTRY

    return REGISTRY.specs(task="text-to-image")


def _t2i_unavailable(model_id: str) -> str | None:
    """Why text-to-image cannot run here, or None."""
    reasons = []
    if devices.device() != "cuda":
        reasons.append(f"it needs a GPU and this machine runs on {devices.device()}")
    spec = next((s for s in _t2i_specs() if s.id == model_id), None)
    if spec is None:
        return "no text-to-image model is registered"
    reason = spec.unavailable()
    if reason:
        reasons.append(reason)
    return "; ".join(reasons) or None


def t2i_note(model_id):
    reason = _t2i_unavailable(model_id) if model_id else "no text-to-image model is registered"
    return f"**Not available here:** {reason}." if reason else "Ready: runs on the GPU."


def text_to_image(model_id, prompt, steps, seed):
    """A hub Stable Diffusion image with its steps, where a GPU and the model are there."""
    _, views, _ = _math()
    ids = tuple(s.id for s in _t2i_specs())
    model_id = _choice(model_id, "The model", ids or ("(none registered)",))
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        raise gr.Error(f"The prompt must be 1 to {MAX_PROMPT_CHARS} characters of text.")
    steps = _whole(steps, "Steps", 1, T2I_MAX_STEPS)
    seed = _whole(seed, "The seed", 0, MAX_SEED)
    reason = _t2i_unavailable(model_id)
    if reason:
        raise gr.Error(f"Text-to-image is not available here: {reason}.")
    image, shown = views.text_to_image(_model(model_id), prompt, steps, seed)
    return image, shown


# -- layout ---------------------------------------------------------------------------------


def _image(label: str, elem_id: str | None = None) -> gr.Image:
    return gr.Image(label=label, type="pil", interactive=False, elem_id=elem_id, format="png")


def build() -> gr.Blocks:
    heavy = dict(concurrency_id=CONCURRENCY)
    t2i_choices = [(s.title, s.id) for s in _t2i_specs()]
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
                        MIN_STEPS, MAX_STEPS, value=50, step=1, label="Steps",
                        elem_id="diffusion-steps",
                    )  # fmt: skip
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
                    height="auto",
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
                c_gallery = gr.Gallery(
                    label="Samples", columns=4, height="auto", object_fit="contain"
                )

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
                toy_plot = gr.Plot(elem_id="diffusion-toy-plot")

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
                        max_length=MAX_PROMPT_CHARS,
                    )
                    t2i_steps = gr.Slider(1, T2I_MAX_STEPS, value=25, step=1, label="Steps")
                    t2i_seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                t2i_run = gr.Button("Generate", variant="primary")
                with gr.Row():
                    t2i_image = gr.Image(label="Image", type="pil", interactive=False)
                    t2i_steps_view = gr.Gallery(label="Decoded latents along the way", columns=4)

        with gr.Accordion("The code behind this tab: plugins/diffusion/diffusion.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)

        # -- events
        fwd = dict(
            fn=forward,
            inputs=[upload, digit, schedule, t, noise_seed],
            outputs=[x0_img, eps_img, xt_img, numbers, curves],
            show_progress="hidden",  # cheap: its own queue, so it never waits behind a sampler
        )
        state = {
            "digit": digit, "schedule": schedule, "t": t, "noise_seed": noise_seed,
            "method": method, "steps": steps, "eta": eta, "seed": seed, "n": count,
            "compare_n": c_count, "fast_steps": c_fast, "compare_eta": c_eta,
            "ddpm_steps": c_ddpm, "compare_seed": c_seed, "points": toy_n,
            "toy_steps": toy_steps, "toy_seed": toy_seed, "train_steps": tr_steps,
            "train_seed": tr_seed, "t2i_model": t2i_model, "prompt": prompt,
            "t2i_steps": t2i_steps, "t2i_seed": t2i_seed,
        }  # fmt: skip
        # A link restores every setting and redraws the forward process; the samplers and the
        # training run (seconds of work each) wait for their buttons.
        share.link(tab, "diffusion", state, load=dict(**fwd, api_name="diffusion_forward"),
                   also=[dict(fn=t2i_note, inputs=t2i_model, outputs=t2i_status,
                              api_visibility="private")])  # fmt: skip
        share.export("diffusion", export, fwd["inputs"], state, api_name="diffusion_export")
        gr.on([digit.input, upload.change, schedule.input, noise_seed.submit], **fwd,
              api_visibility="private")  # fmt: skip
        t.change(**fwd, trigger_mode="always_last", api_visibility="private")
        t2i_model.input(t2i_note, t2i_model, t2i_status, api_visibility="private")

        shown = [at, r_xt, r_eps, r_x0, step_note]
        run.click(
            sample,
            [method, steps, eta, seed, count],
            [frames, *shown, final, summary],
            api_name="diffusion_sample",
            **heavy,
        )
        at.input(step_to, [frames, at], shown, api_visibility="private")
        back.click(lambda f, k: step_to(f, k - 1), [frames, at], shown, api_visibility="private")
        ahead.click(lambda f, k: step_to(f, k + 1), [frames, at], shown, api_visibility="private")
        play.click(animate, frames, movie, api_visibility="private", **heavy)

        comparing = c_run.click(
            compare,
            [c_count, c_fast, c_eta, c_ddpm, c_seed],
            [c_table, c_gallery],
            api_name="diffusion_compare",
            **heavy,
        )
        c_stop.click(None, cancels=[comparing], api_visibility="private")

        toy_run.click(
            toy,
            [toy_n, toy_steps, toy_seed],
            [traj, toy_at, toy_plot, toy_note],
            api_name="diffusion_toy",
            **heavy,
        )
        toy_at.input(toy_step, [traj, toy_at], toy_plot, api_visibility="private", **heavy)

        training = tr_run.click(
            train,
            [tr_steps, tr_seed],
            [trained, tr_loss, tr_status, tr_points],
            api_name="diffusion_train",
            **heavy,
        )
        tr_stop.click(None, cancels=[training], api_visibility="private")
        tr_sample.click(trained_samples, trained, tr_points, api_visibility="private", **heavy)

        t2i_run.click(
            text_to_image,
            [t2i_model, prompt, t2i_steps, t2i_seed],
            [t2i_image, t2i_steps_view],
            api_name="diffusion_text_to_image",
            **heavy,
        )
    return tab
