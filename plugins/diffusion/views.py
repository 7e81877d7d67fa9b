"""What each part of the diffusion tab shows, from its inputs: no gradio, and no torch on import.

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py turns
that into a gr.Error. The tensors come from compute.py, the pictures from images.py and the
plots from figures.py, each imported at first use. Text to image is in text_to_image.py.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playground import lazy_module
from playground.concept import Context
from playground.export import Export
from playground.inputs import BadInput, Result, check_choice, check_number, check_seed, check_whole
from plugins.models.paths import DIGITS_DIR

if TYPE_CHECKING:
    from PIL.Image import Image
    from plotly.graph_objects import Figure

    from plugins.diffusion.compute import Frames, Trajectories

compute = lazy_module("plugins.diffusion.compute")
diffusion = lazy_module("plugins.diffusion.diffusion")
figures = lazy_module("plugins.diffusion.figures")
images = lazy_module("plugins.diffusion.images")

T = 1000  # training timesteps of both bundled models
MAX_SAMPLES = 16  # per request
MIN_STEPS, MAX_STEPS = 1, 1000
FAST_MIN, FAST_MAX = 10, 100  # DDIM, Euler and DPM-Solver++ in the comparison
TOY_MAX_POINTS, TOY_MAX_STEPS = 2000, 200
TRAIN_MAX_STEPS, TRAIN_MAX_SECONDS = 2000, 30.0
TOY_BOUNDS = (-2.6, 2.6)  # the standardised moons fit inside
ARROW = 0.3  # length of the longest score arrow, in the plot's units

Gallery = list[tuple["Image", str]]  # pictures with their captions


# -- checking inputs, loading models ----------------------------------------------------------


def _update(**props: Any) -> dict:
    """A component update as Gradio reads it (what gr.update returns); no props: gr.skip()."""
    return {"__type__": "update", **props}


def load_model(context: Context, model_id: str):
    """A model of the context's registry on its device; ModelUnavailable says why it cannot load."""
    return context.model(model_id)


def _source_image(upload: str | None, digit: Any):
    """The picture to noise: the upload when there is one, else a bundled digit."""
    if upload:
        try:
            return images.load_upload(upload), False, Path(upload).name
        except images.BadImage as exc:
            raise BadInput(str(exc)) from None
    digits, labels = compute.digits()
    i = check_whole(digit, "The bundled digit", 0, len(digits) - 1)
    return digits[i], True, f"bundled digit {int(labels[i])}"


# -- 1. the forward process -------------------------------------------------------------------


@dataclass(frozen=True)
class Noised(Result):
    x0: Image
    noise: Image  # shown as ε/3
    x_t: Image
    numbers: str  # Markdown: ᾱ_t, one pixel's arithmetic, the correlation
    curves: Figure  # ᾱ_t of every schedule, t marked


def forward(upload, digit, schedule, t, seed) -> Noised:
    """x_0, ε and x_t at step t, their numbers, and ᾱ_t of every schedule (`diffusion_forward`)."""
    schedule = check_choice(schedule, "The schedule", diffusion.SCHEDULES)
    t = check_whole(t, "The timestep t", 0, T)
    seed = check_seed(seed)
    x0, ink, name = _source_image(upload, digit)
    out = compute.forward(x0, schedule, t, seed, ink)
    a = out.alpha_bar
    (r, c), (p0, pe, pt) = out.pixel, out.pixel_values
    halves = ", ".join(f"{s} at t = {compute.half_signal_step(s)}" for s in diffusion.SCHEDULES)
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
    curves = figures.signal_curves(compute.curves(), schedule, t)
    return Noised(out.x0, out.noise, out.x_t, numbers, curves)


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


def export(upload, digit, schedule, t, seed) -> Export:
    """The forward process's numbers on screen, and a script in which diffusers' DDPMScheduler
    computes them."""
    if upload:
        raise BadInput("The export recomputes a bundled digit: clear your image to export.")
    schedule = check_choice(schedule, "The schedule", diffusion.SCHEDULES)
    t = check_whole(t, "The timestep t", 0, T)
    seed = check_seed(seed)
    x0, ink, _ = _source_image(None, digit)
    out = compute.forward(x0, schedule, t, seed, ink)
    low_high = diffusion.BETA_RANGE.get(schedule)
    snippet = SNIPPET.format(
        path=str(DIGITS_DIR / "examples.safetensors"),
        digit=int(digit),
        seed=seed,
        steps=T,
        name=diffusion.DIFFUSERS_NAMES[schedule],
        t=t,
        beta_range=f", beta_start={low_high[0]}, beta_end={low_high[1]}" if low_high else "",
    )
    numbers = {
        "alpha_bar": out.alpha_bar,
        "pixel": list(out.pixel),
        "x0_noise_xt_at_pixel": list(out.pixel_values),
        "correlation_of_xt_with_x0": out.correlation,
    }
    return Export(numbers, snippet)


# -- 2. the reverse process -------------------------------------------------------------------


@dataclass(frozen=True)
class Step(Result):
    at: dict  # the step slider: this step, and the last one kept
    x_t: Image
    noise: Image  # ε_θ, shown as ε/3
    x0: Image  # x̂_0
    note: str


@dataclass(frozen=True)
class Sampled(Result):
    frames: Frames  # kept in the session for stepping through
    at: dict
    x_t: Image
    noise: Image
    x0: Image
    note: str
    samples: Gallery
    summary: str


def _show(frames: Frames, k: Any) -> Step:
    k = min(max(int(k), 0), frames.count - 1)
    x_t, noise, x0 = compute.frame(frames, k)
    index, t = frames.indices[k], frames.timesteps[k]
    note = (
        f"Step **{index + 1} of {frames.steps}** (timestep t = {t}) of "
        f"{frames.method.upper()}{f', η = {frames.eta:g}' if frames.method == 'ddim' else ''}, "
        f"seed {frames.seed}: left the input x_t, middle the noise the model predicts in it "
        "(shown as ε/3), right its guess of the clean digit x̂_0 = (x_t − √(1−ᾱ_t) ε̂)/√ᾱ_t."
    )
    if frames.count < frames.steps:
        note += f" {frames.count} of the {frames.steps} steps are kept for stepping through."
    # an update: a one-step run has a one-position slider, which gr.Slider() refuses
    return Step(_update(value=k, maximum=max(1, frames.count - 1)), x_t, noise, x0, note)


def sample(
    context: Context, method, steps, eta, seed, n, progress: Callable | None = None
) -> Sampled:
    """Our DDPM or DDIM on the digits UNet: samples and every step (`diffusion_sample`)."""
    method = check_choice(method, "The sampler", diffusion.METHODS)
    steps = check_whole(steps, "Steps", MIN_STEPS, MAX_STEPS)
    eta = check_number(eta, "η", 0, 1)
    seed = check_seed(seed)
    n = check_whole(n, "Samples", 1, MAX_SAMPLES)
    model = load_model(context, "digits-unet")
    frames = compute.reverse(model, n, steps, method, eta, seed, context.device(), progress)
    gallery = [(images.to_pil(x, ink=True, scale=4), f"#{i}") for i, x in enumerate(frames.final)]
    summary = (
        f"**{n} samples**, {method.upper()} with {steps} steps: **{frames.seconds:.2f} s**, "
        f"{steps} calls of the UNet on a batch of {n}."
    )
    first = _show(frames, 0)
    return Sampled(frames, first.at, first.x_t, first.noise, first.x0, first.note, gallery, summary)


def step_to(frames: Frames | None, k) -> Step:
    if frames is None:
        raise BadInput("Run the sampler first.")
    return _show(frames, k)


def animate(frames: Frames | None) -> dict:
    """The kept steps as a GIF, shown in the (until then hidden) animation image."""
    if frames is None:
        raise BadInput("Run the sampler first, then play it.")
    path = Path(tempfile.mkdtemp(prefix="diffusion-")) / "reverse.gif"
    return _update(value=str(compute.animation(frames, path)), visible=True)


# -- 3. schedulers side by side ---------------------------------------------------------------


@dataclass(frozen=True)
class Comparison(Result):
    table: list[list]  # scheduler, steps, model calls, wall time (s)
    samples: Gallery  # a grid per scheduler


def compare(
    context: Context, n, fast_steps, eta, ddpm_steps, seed, progress: Callable | None = None
) -> Iterator[Comparison]:
    """diffusers' DDPM, DDIM, Euler and DPM-Solver++ from the same noise (`diffusion_compare`)."""
    n = check_whole(n, "Samples", 1, MAX_SAMPLES)
    fast = check_whole(fast_steps, "Steps (DDIM, Euler, DPM++)", FAST_MIN, FAST_MAX)
    eta = check_number(eta, "η", 0, 1)
    ddpm = check_whole(ddpm_steps, "DDPM steps", MIN_STEPS, MAX_STEPS)
    seed = check_seed(seed)
    model = load_model(context, "digits-unet")
    steps = {"ddpm": ddpm, "ddim": fast, "euler": fast, "dpm++": fast}
    rows, gallery = [], []
    for row in compute.compare(model, n, steps, eta, seed, context.device(), progress):
        label = {"ddim": f"DDIM, η = {eta:g}", "dpm++": "DPM-Solver++"}.get(row.name, row.name)
        rows.append([label, row.steps, row.calls, round(row.seconds, 2)])
        gallery.append((images.grid(row.samples, ink=True), f"{label}: {row.steps} steps"))
        yield Comparison(rows, gallery)


# -- 4. the 2-D view --------------------------------------------------------------------------


@dataclass(frozen=True)
class Toy(Result):
    trajectories: Trajectories  # kept in the session for the step slider
    at: dict  # the step slider, at the end
    plot: Figure
    note: str


def _toy_figure(context: Context, traj: Trajectories, k: Any) -> Figure:
    k = min(max(int(k), 0), len(traj.timesteps))
    model = load_model(context, "two-moons")
    t = traj.timesteps[min(k, len(traj.timesteps) - 1)]
    arrows = compute.score_arrows(model, t, TOY_BOUNDS, ARROW, context.device())
    done = "x_0, finished" if k == len(traj.timesteps) else f"before the step at t = {t}"
    return figures.points_2d(
        compute.moons().tolist(),
        traj.points[k].tolist(),
        traj.trails(k),
        arrows,
        f"Step {k} of {len(traj.timesteps)} ({done}); arrows: the score at t = {t} (scaled)",
        TOY_BOUNDS,
    )


def toy(context: Context, n, steps, seed) -> Toy:
    """Points from a Gaussian blob back onto two moons, with the score field (`diffusion_toy`)."""
    n = check_whole(n, "Points", 1, TOY_MAX_POINTS)
    steps = check_whole(steps, "Steps", MIN_STEPS, TOY_MAX_STEPS)
    seed = check_seed(seed)
    model = load_model(context, "two-moons")
    traj = compute.toy_trajectories(model, n, steps, seed, context.device())
    moons = compute.moons()
    note = (
        f"{n} points, our DDIM with {steps} steps. Median distance to the nearest real point: "
        f"**{compute.nearest_distance(traj.points[-1], moons):.3f}** at the end, "
        f"{compute.nearest_distance(traj.points[0], moons):.3f} for the starting noise."
    )
    k = len(traj.timesteps)
    return Toy(traj, _update(value=k, maximum=k), _toy_figure(context, traj, k), note)


def toy_step(context: Context, traj: Trajectories | None, k) -> Figure:
    if traj is None:
        raise BadInput("Sample the points first.")
    return _toy_figure(context, traj, k)


# -- 5. train live ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingUpdate(Result):
    model: Any  # the toy denoiser being trained, kept in the session
    loss: Figure
    status: str  # Markdown
    samples: Figure | dict  # drawn once the run ends; an empty update (no change) until then


def _scatter(context: Context, model, title: str) -> Figure:
    points = compute.toy_samples(model, 1000, 0, context.device()).tolist()
    return figures.points_2d(compute.moons().tolist(), points, [], None, title, TOY_BOUNDS)


def train(
    context: Context, steps, seed, progress: Callable | None = None
) -> Iterator[TrainingUpdate]:
    """Train a fresh toy denoiser for a few seconds, then sample from it (`diffusion_train`)."""
    steps = check_whole(steps, "Training steps", 1, TRAIN_MAX_STEPS)
    seed = check_seed(seed)
    for state in compute.train_toy(steps, seed, TRAIN_MAX_SECONDS, context.device()):
        done = len(state.losses)
        if progress is not None:
            progress(done / steps, desc=f"step {done} of {steps}")
        status = (
            f"Step **{done} of {steps}** · {state.seconds:.1f} s · loss "
            f"{sum(state.losses[-25:]) / len(state.losses[-25:]):.4f} (mean of the last 25)"
        )
        curve = figures.loss_curve(state.losses, "Training loss")
        yield TrainingUpdate(state.model, curve, status, _update())
    if state.stopped_by_clock:
        status += f" · stopped at the {TRAIN_MAX_SECONDS:g} s limit"
    title = f"1000 samples after {len(state.losses)} training steps (our DDIM, 50 steps)"
    yield TrainingUpdate(state.model, curve, status, _scatter(context, state.model, title))


def trained_samples(context: Context, model) -> Figure:
    if model is None:
        raise BadInput("Train a model first (a stopped run can be sampled too).")
    return _scatter(context, model, "1000 samples from the model trained here (our DDIM, 50 steps)")
