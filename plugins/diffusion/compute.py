"""What each part of the diffusion tab computes, on tensors: torch, no gradio.

views.py checks the inputs and calls these; the bench times them as the server-side work of
the tab. Our own samplers (plugins.diffusion.diffusion) drive the step-by-step view, since
it shows the predicted noise that diffusers' step outputs do not carry; the side-by-side
comparison runs diffusers' schedulers on the same model and the same starting noise.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import torch
from PIL import Image
from torch import Tensor

from plugins.diffusion import diffusion, images, schedule_config
from plugins.models import denoisers as bundled
from plugins.models.paths import DIGITS_DIR, TOY_DIR
from plugins.models.seeding import seeded
from plugins.models.toy2d import ToyDenoiser, ToyDenoiserConfig

MAX_FRAMES = 200  # frames kept of a long run for stepping through: ~2.4 MB for 16 digits
DIGIT_SHAPE = (1, 16, 16)
FIELD_POINTS = 15  # arrows per side of the score field
TRAILS = 48  # points whose whole trajectory is drawn
COMPARED = ("ddpm", "ddim", "euler", "dpm++")


# ---------------------------------------------------------------------------- data and models


@functools.cache
def model_schedule(model_dir: Path) -> diffusion.Schedule:
    """Our ᾱ for a bundled model, from the same scheduler_config.json diffusers reads."""
    from diffusers import DDPMScheduler

    return schedule_config.schedule_from_config(dict(DDPMScheduler.load_config(model_dir)))


@functools.cache
def digits() -> tuple[Tensor, Tensor]:
    """The 16 real 16x16 digits shipped with the model, (16, 1, 16, 16) in [-1, 1], and labels."""
    from safetensors.torch import load_file

    data = load_file(str(DIGITS_DIR / "examples.safetensors"))
    return data["digits"], data["labels"]


@functools.cache
def moons() -> Tensor:
    """The 2000 shipped two-moons points, standardised, (2000, 2)."""
    from safetensors.torch import load_file

    return load_file(str(TOY_DIR / "data.safetensors"))["points"]


@functools.cache
def curves(steps: int = 1000) -> dict[str, list[float]]:
    """ᾱ_t for t = 0 … T (t = 0: clean) under each schedule."""
    found = {}
    for name in diffusion.SCHEDULES:
        abar = diffusion.alphas_cumprod(diffusion.betas(name, steps))
        found[name] = [1.0, *abar.tolist()]
    return found


_FAST: dict[int, torch.nn.Module] = {}
_FAST_LOCK = threading.Lock()  # two first visitors at once make one copy, not two
# A diffusers pipeline keeps its scheduler's timesteps on itself: one image at a time each.
_PIPELINE_LOCK = threading.Lock()


def fast_unet(model: torch.nn.Module) -> torch.nn.Module:
    """A channels-last copy of the UNet (about 30% faster convolutions on a CPU), kept per model.

    A copy, so the registry's shared model is never changed under another concept.
    """
    with _FAST_LOCK:
        if id(model) not in _FAST:
            import copy

            _FAST[id(model)] = copy.deepcopy(model).to(memory_format=torch.channels_last)
        return _FAST[id(model)]


# ---------------------------------------------------------------------------- forward process


@dataclass(frozen=True)
class Forward:
    x0: Image.Image
    noise: Image.Image
    x_t: Image.Image
    alpha_bar: float
    pixel: tuple[int, int]  # (row, column) of the pixel whose numbers are shown
    pixel_values: tuple[float, float, float]  # x_0, ε, x_t there (first channel)
    correlation: float  # between x_0 and x_t over all pixels


def forward(x0: Tensor, schedule: str, t: int, seed: int, ink: bool) -> Forward:
    """x_t of one (C, H, W) image in [-1, 1] at step t (0 … T) of a schedule, seeded noise."""
    abar = diffusion.alpha_bar(torch.tensor(curves()[schedule][1:]), t)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    # t = 0 is the clean image; otherwise our add_noise at diffusers' index t − 1
    curve = torch.tensor([abar])
    x_t = diffusion.add_noise(x0[None], noise[None], torch.zeros(1, dtype=torch.long), curve)[0]
    brightest = divmod(int(x0[0].argmax()), x0.shape[2])  # on a digit: a stroke, not paper
    values = (float(x0[0][brightest]), float(noise[0][brightest]), float(x_t[0][brightest]))
    a, b = x0.flatten(), x_t.flatten()
    corr = float(torch.corrcoef(torch.stack([a, b]))[0, 1]) if a.std() > 0 else float("nan")
    scale = max(1, 256 // max(x0.shape[1:]))  # a 16x16 digit is shown 256 px wide
    return Forward(
        images.to_pil(x0, ink, scale),
        images.to_pil(images.noise_view(noise), False, scale),
        images.to_pil(x_t, ink, scale),
        abar,
        brightest,
        values,
        corr,
    )


def half_signal_step(schedule: str) -> int:
    """The first t at which ᾱ_t falls below 1/2: noise now carries more variance than signal."""
    return next(t for t, a in enumerate(curves()[schedule]) if a < 0.5)


# ---------------------------------------------------------------------------- reverse process


def _quantise(x: Tensor) -> Tensor:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def _dequantise(q: Tensor) -> Tensor:
    return q.float() / 127.5 - 1


@dataclass(frozen=True)
class Frames:
    """A finished reverse run, kept per session so a slider can step through it."""

    method: str
    steps: int
    eta: float
    seed: int
    timesteps: list[int]  # of the kept frames
    indices: list[int]  # which step each kept frame is
    x_t: Tensor  # (F, N, 1, 16, 16) uint8
    noise: Tensor  # ε_θ shown as ε/3, uint8
    x0: Tensor  # x̂_0, uint8
    final: Tensor  # (N, 1, 16, 16) float, the samples
    seconds: float

    @property
    def count(self) -> int:
        return len(self.indices)


def kept_steps(steps: int, limit: int = MAX_FRAMES) -> list[int]:
    """Which steps to keep: all of a short run, an even spread (first and last) of a long one."""
    if steps <= limit:
        return list(range(steps))
    return sorted({round(i * (steps - 1) / (limit - 1)) for i in range(limit)})


def reverse(
    model, n: int, steps: int, method: str, eta: float, seed: int, device: str, progress=None
) -> Frames:
    """Our DDPM or DDIM from seeded noise, keeping x_t, ε_θ and x̂_0 of the kept steps."""
    start = time.perf_counter()
    keep = set(kept_steps(steps))
    kept: list[diffusion.ReverseStep] = []
    x = None
    generator = torch.Generator().manual_seed(seed)
    schedule = model_schedule(DIGITS_DIR)
    run = diffusion.reverse_process(
        fast_unet(model), schedule, (n, *DIGIT_SHAPE), steps, method, eta, generator, device
    )
    for step in run:
        if step.index in keep:
            kept.append(step)
        x = step.output.prev_sample
        if progress is not None:
            progress((step.index + 1) / steps)
    assert x is not None  # steps ≥ 1, so the loop ran
    return Frames(
        method,
        steps,
        eta,
        seed,
        [s.timestep for s in kept],
        [s.index for s in kept],
        torch.stack([_quantise(s.x_t) for s in kept]),
        torch.stack([_quantise(images.noise_view(s.output.pred_noise)) for s in kept]),
        torch.stack([_quantise(s.output.pred_original_sample) for s in kept]),
        x.clamp(-1, 1).cpu(),
        time.perf_counter() - start,
    )


def frame(frames: Frames, k: int) -> tuple[Image.Image, Image.Image, Image.Image]:
    """The grids of x_t, ε_θ and x̂_0 at kept frame k."""
    return (
        images.grid(_dequantise(frames.x_t[k]), ink=True),
        images.grid(_dequantise(frames.noise[k])),
        images.grid(_dequantise(frames.x0[k]), ink=True),
    )


def animation(frames: Frames, path: Path) -> Path:
    """x_t, ε_θ and x̂_0 side by side over every kept step, as a GIF."""
    pictures = []
    for k in range(frames.count):
        row = frame(frames, k)
        canvas = Image.new("L", (sum(im.width for im in row) + 16, row[0].height), 255)
        x = 0
        for im in row:
            canvas.paste(im, (x, 0))
            x += im.width + 8
        pictures.append(canvas)
    return images.gif(pictures, path)


# ---------------------------------------------------------------------------- schedulers


class _Counted:
    """A model that counts its calls: each call is one network evaluation."""

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def __call__(self, *args):
        self.calls += 1
        return self.model(*args)


@dataclass(frozen=True)
class Compared:
    name: str
    steps: int
    calls: int
    seconds: float
    samples: Tensor  # (N, 1, 16, 16) in [-1, 1]


def compare(
    model, n: int, steps: dict[str, int], eta: float, seed: int, device: str, progress=None
) -> Iterator[Compared]:
    """diffusers' four schedulers on the digits model, each from the same seeded noise."""
    for i, name in enumerate(COMPARED):
        scheduler = bundled.scheduler_for(DIGITS_DIR, name)
        if name == "ddim":  # bundled.sample calls step() without η; bind it
            scheduler.step = functools.partial(scheduler.step, eta=eta)
        counted = _Counted(fast_unet(model))
        start = time.perf_counter()
        x = bundled.sample(
            counted,
            scheduler,
            (n, *DIGIT_SHAPE),
            steps[name],
            torch.Generator().manual_seed(seed),
            device,
        )
        yield Compared(name, steps[name], counted.calls, time.perf_counter() - start, x.cpu())
        if progress is not None:
            progress((i + 1) / len(COMPARED))


# ---------------------------------------------------------------------------- 2-D toy


@dataclass(frozen=True)
class Trajectories:
    timesteps: list[int]  # the timestep of each kept position but the last (x_0)
    points: Tensor  # (S + 1, N, 2): x_T, then after each step

    def trails(self, k: int) -> list:
        """The paths of the first TRAILS points up to position k, as lists, (P, k + 1, 2)."""
        return self.points[: k + 1, :TRAILS].permute(1, 0, 2).tolist()


def toy_trajectories(model, n: int, steps: int, seed: int, device: str) -> Trajectories:
    """Points from a Gaussian blob back onto the toy distribution with our DDIM."""
    schedule = model_schedule(TOY_DIR)
    generator = torch.Generator().manual_seed(seed)
    positions, timesteps = [], []
    for step in diffusion.reverse_process(
        model, schedule, (n, 2), steps, "ddim", 0.0, generator, device
    ):
        positions.append(step.x_t.cpu())
        timesteps.append(step.timestep)
    positions.append(step.output.prev_sample.cpu())
    return Trajectories(timesteps, torch.stack(positions))


def score_arrows(
    model, t: int, bounds: tuple[float, float], longest: float, device: str
) -> tuple[list, list]:
    """Grid points (M², 2) and the learned score there at timestep t, (M², 2), as lists: arrows
    scaled so the longest is ``longest`` long, since the score grows like 1/√(1 − ᾱ_t)."""
    axis = torch.linspace(*bounds, FIELD_POINTS)
    grid = torch.cartesian_prod(axis, axis).to(device)  # (M², 2)
    field = diffusion.score(model, grid, t, model_schedule(TOY_DIR)).cpu()
    vectors = field * (longest / field.norm(dim=1).max().clamp_min(1e-12))
    return grid.cpu().tolist(), vectors.tolist()


# ---------------------------------------------------------------------------- live training


@dataclass(frozen=True)
class Training:
    model: ToyDenoiser
    losses: list[float]
    seconds: float
    stopped_by_clock: bool


class TrainSettings(TypedDict):
    batch: int
    lr: float
    warmup: int


TRAIN: TrainSettings = dict(batch=256, lr=2e-3, warmup=50)


def train_toy(
    steps: int, seed: int, max_seconds: float, device: str, report_every: int = 25
) -> Iterator[Training]:
    """Train a fresh two-moons denoiser on the shipped points, reporting every few steps."""
    with seeded(seed):  # the initial weights
        model = ToyDenoiser(ToyDenoiserConfig()).to(device)
    data = moons().to(device)
    losses: list[float] = []
    start = time.perf_counter()
    loop = diffusion.train(model, data, model_schedule(TOY_DIR), steps=steps, seed=seed, **TRAIN)
    for i, loss in enumerate(loop, 1):
        losses.append(loss)
        late = time.perf_counter() - start > max_seconds
        if late or i % report_every == 0 or i == steps:
            yield Training(model, list(losses), time.perf_counter() - start, late)
        if late:
            loop.close()  # back to eval mode
            return


def toy_samples(model, n: int, seed: int, device: str) -> Tensor:
    """n samples of a toy denoiser with our 50-step DDIM, (n, 2) on the CPU."""
    g = torch.Generator().manual_seed(seed)
    return diffusion.sample(
        model, model_schedule(TOY_DIR), (n, 2), 50, "ddim", 0.0, g, device
    ).cpu()


def nearest_distance(a: Tensor, b: Tensor) -> float:
    """Median distance from each point of a to its nearest point of b."""
    return float(torch.cdist(a, b).min(dim=1).values.median())


# ---------------------------------------------------------------------------- text to image


def text_to_image(pipe, prompt: str, steps: int, seed: int, shown: int = 8):
    """A Stable Diffusion pipeline's image, with its latents x_t decoded at a few steps."""
    views: list[tuple[Image.Image, str]] = []
    every = max(1, math.ceil(steps / shown))

    def on_step(pipeline, i, t, tensors):
        if i % every == 0 or i == steps - 1:
            latents = tensors["latents"] / pipeline.vae.config.scaling_factor
            with torch.no_grad():
                decoded = pipeline.vae.decode(latents.to(pipeline.vae.dtype)).sample
            views.append((images.to_pil(decoded[0].float()), f"after step {i + 1}, t = {int(t)}"))
        return tensors

    with _PIPELINE_LOCK:
        image = pipe(
            prompt,
            num_inference_steps=steps,
            generator=torch.Generator(pipe.device).manual_seed(seed),
            callback_on_step_end=on_step,
            callback_on_step_end_tensor_inputs=["latents"],
        ).images[0]
    return image, views
