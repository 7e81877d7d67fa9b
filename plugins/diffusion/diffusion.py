"""Diffusion from scratch in torch: the forward (noising) process, DDPM and DDIM sampling.

Training corrupts data x_0 in T small Gaussian steps, x_t = √(1 − β_t)·x_{t−1} + √β_t·ε.
Because Gaussians compose, any x_t has a closed form in x_0 (DDPM eq. 4):

    x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε,    ᾱ_t = ∏_{s ≤ t} (1 − β_s),    ε ~ N(0, I).

A network ε_θ(x_t, t) learns to predict that ε. Sampling starts from pure noise x_T and walks
back: DDPM draws x_{t−1} from the Gaussian posterior q(x_{t−1} | x_t, x̂_0) around the model's
guess x̂_0 (stochastic, many steps); DDIM takes a deterministic (η = 0) jump along the same
marginals, so it can skip most timesteps.

Timesteps are indexed as in diffusers, 0 … T−1 (the paper's t = 1 … T); `alpha_bar(curve, t)`
is the paper's ᾱ_t with t = 0 meaning clean data.

References:
- Ho, Jain, Abbeel (2020), "Denoising Diffusion Probabilistic Models", arXiv:2006.11239
  (eqs. 4, 6, 7, 11, 15; algorithms 1 and 2).
- Song, Meng, Ermon (2021), "Denoising Diffusion Implicit Models", arXiv:2010.02502
  (eqs. 12 and 16).
- Nichol, Dhariwal (2021), "Improved Denoising Diffusion Probabilistic Models",
  arXiv:2102.09672 (eq. 17, the cosine schedule).
- Rombach et al. (2022), latent diffusion / Stable Diffusion: the scaled-linear schedule.
- Song et al. (2021), "Score-Based Generative Modeling through SDEs", arXiv:2011.13456
  (the score ∇ log p_t(x) = −ε / √(1 − ᾱ_t)).
- Saharia et al. (2022), Imagen, arXiv:2205.11487 (section 2.3, dynamic thresholding).
- Lin et al. (2024), "Common Diffusion Noise Schedules and Sample Steps are Flawed",
  arXiv:2305.08891 (table 2, timestep spacings).

Reading a diffusers scheduler_config.json into a `Schedule` (and Lin et al.'s zero terminal
SNR rescaling it may ask for) lives in schedule_config.py.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor

from plugins.models.denoisers import lr_lambda

SCHEDULES = ("linear", "scaled-linear", "cosine")
# The beta range each schedule is known by: DDPM's linear, Stable Diffusion's scaled-linear.
BETA_RANGE = {"linear": (1e-4, 0.02), "scaled-linear": (0.00085, 0.012)}
COSINE_OFFSET = 0.008  # s in Nichol & Dhariwal eq. 17: keeps β_1 from being vanishingly small
MAX_BETA = 0.999  # their clip, so the last steps of the cosine schedule are not singular
# diffusers' names for the same schedules (scheduler_config.json's "beta_schedule")
DIFFUSERS_NAMES = {
    "linear": "linear",
    "scaled-linear": "scaled_linear",
    "cosine": "squaredcos_cap_v2",
}
METHODS = ("ddpm", "ddim")


# ---------------------------------------------------------------------------- noise schedules


def betas(
    schedule: str, steps: int = 1000, beta_start: float | None = None, beta_end: float | None = None
) -> Tensor:
    """β_1 … β_T for a named schedule, float32, shape (T,)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    if schedule == "cosine":
        # eq. 17: ᾱ(t) = f(t)/f(0), f(t) = cos²((t/T + s)/(1 + s) · π/2); β_t = 1 − ᾱ_t/ᾱ_{t−1}
        t = torch.arange(steps + 1, dtype=torch.float64) / steps
        f = torch.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
        return (1 - f[1:] / f[:-1]).clamp(max=MAX_BETA).float()
    low, high = BETA_RANGE[schedule]
    low = low if beta_start is None else beta_start
    high = high if beta_end is None else beta_end
    if schedule == "linear":  # Ho et al. 2020, section 4: β from 1e-4 to 0.02
        return torch.linspace(low, high, steps, dtype=torch.float32)
    # scaled-linear: linear in √β, so the noise grows more gently at first
    return torch.linspace(low**0.5, high**0.5, steps, dtype=torch.float32) ** 2


def alphas_cumprod(beta: Tensor) -> Tensor:
    """ᾱ_t = ∏_{s ≤ t} (1 − β_s): how much of the signal's variance survives to step t."""
    return torch.cumprod(1.0 - beta, dim=0)


def alpha_bar(curve: Tensor, t: int) -> float:
    """ᾱ_t for t in 0 … T in the paper's indexing: t = 0 is clean data (ᾱ_0 = 1)."""
    return 1.0 if t == 0 else float(curve[t - 1])


SPACINGS = ("leading", "trailing", "linspace")  # see `spaced_timesteps`
VARIANCES = ("fixed_small", "fixed_large")  # see `ddpm_step`


@dataclass(frozen=True)
class Schedule:
    """What a scheduler_config.json says: the model's noise schedule and how to sample it."""

    alphas_cumprod: Tensor  # ᾱ, (T,), float32
    clip_sample: bool  # clip x̂_0 to [−clip_range, clip_range]: the data lived there
    clip_range: float = 1.0
    threshold: float | None = None  # dynamic thresholding: the quantile of |x̂_0| to clip at
    threshold_max: float = 1.0  # the largest clip level dynamic thresholding may choose
    variance: str = "fixed_small"  # DDPM's σ_t², one of VARIANCES
    spacing: str = "leading"  # how the sampled timesteps spread over 0 … T−1, one of SPACINGS
    steps_offset: int = 0  # added to "leading" timesteps (Stable Diffusion's configs say 1)
    final_alpha_cumprod: float = 1.0  # DDIM's ᾱ after its last step: 1 is clean data

    @property
    def steps(self) -> int:
        return self.alphas_cumprod.shape[0]


# ---------------------------------------------------------------------------- forward process


def _per_sample(values: Tensor, like: Tensor) -> Tensor:
    """(B,) -> (B, 1, 1, ...) so one value scales each whole sample."""
    return values.reshape(-1, *([1] * (like.ndim - 1)))


def add_noise(x0: Tensor, noise: Tensor, timesteps: Tensor, curve: Tensor) -> Tensor:
    """x_t = √ᾱ_t · x_0 + √(1 − ᾱ_t) · ε (DDPM eq. 4), one timestep (0 … T−1) per sample."""
    abar = curve.to(device=x0.device, dtype=x0.dtype)[timesteps.to(x0.device)]  # (B,)
    return _per_sample(abar.sqrt(), x0) * x0 + _per_sample((1 - abar).sqrt(), x0) * noise


# ---------------------------------------------------------------------------- reverse steps


@dataclass(frozen=True)
class StepOutput:
    """One reverse step: what the tab plots, as diffusers' scheduler outputs carry it."""

    prev_sample: Tensor  # x_{t−1} (x_{t_prev} when steps are skipped)
    pred_original_sample: Tensor  # x̂_0, the model's current guess of the clean sample
    pred_noise: Tensor  # ε_θ(x_t, t)


def _alphas(curve: Tensor, t: int, t_prev: int, final: float = 1.0) -> tuple[Tensor, Tensor]:
    # After the last step (t_prev < 0) the sample is clean: ᾱ = 1 (DDIM may say otherwise).
    return curve[t], curve[t_prev] if t_prev >= 0 else curve.new_tensor(final)


def dynamic_threshold(x0: Tensor, quantile: float, max_level: float) -> Tensor:
    """Imagen's dynamic thresholding: per sample, s = that quantile of |x̂_0| (kept within
    [1, max_level]); clip x̂_0 to [−s, s] and divide by s, pulling saturated values inwards."""
    flat = x0.reshape(x0.shape[0], -1).float()  # (B, C·H·W); quantile needs float32 or more
    s = torch.quantile(flat.abs(), quantile, dim=1).clamp(1, max_level)  # (B,)
    s = _per_sample(s, flat)  # (B, 1)
    return (flat.clamp(-s, s) / s).reshape(x0.shape).to(x0.dtype)


def _x0_from_noise(x_t: Tensor, eps: Tensor, abar_t: Tensor, schedule: Schedule) -> Tensor:
    # DDPM eq. 15 / DDIM eq. 12: invert the closed form with the predicted noise.
    x0 = (x_t - (1 - abar_t) ** 0.5 * eps) / abar_t**0.5
    if schedule.threshold is not None:  # replaces the fixed clip, as in diffusers
        return dynamic_threshold(x0, schedule.threshold, schedule.threshold_max)
    return x0.clamp(-schedule.clip_range, schedule.clip_range) if schedule.clip_sample else x0


def posterior_variance(abar_t: Tensor, abar_prev: Tensor) -> Tensor:
    """β̃_t = (1 − ᾱ_prev)/(1 − ᾱ_t) · β_t, the variance of q(x_{t_prev} | x_t, x_0) (DDPM eq. 7),
    with β_t = 1 − ᾱ_t/ᾱ_prev over the whole span when steps are skipped."""
    return (1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)


def ddpm_step(
    eps: Tensor, t: int, t_prev: int, x_t: Tensor, schedule: Schedule, noise: Tensor | None
) -> StepOutput:
    """x_t -> x_{t_prev} by ancestral sampling from the posterior q(x_{t_prev} | x_t, x̂_0).

    ``noise`` is the z ~ N(0, I) of algorithm 2 (unused when t = 0).
    """
    # 1. ᾱ_t, ᾱ_prev, and the one-step β_t = 1 − α_t (over the skipped span, if steps skip)
    abar_t, abar_prev = _alphas(schedule.alphas_cumprod, t, t_prev)
    alpha_t = abar_t / abar_prev
    beta_t = 1 - alpha_t
    # 2. x̂_0 from the predicted noise (eq. 15), clipped to the data's range
    x0 = _x0_from_noise(x_t, eps, abar_t, schedule)
    # 3. posterior mean μ̃_t(x_t, x̂_0) (eq. 7)
    mean = (abar_prev**0.5 * beta_t / (1 - abar_t)) * x0 + (
        alpha_t**0.5 * (1 - abar_prev) / (1 - abar_t)
    ) * x_t
    # 4. add σ_t z, none at t = 0. Section 3.2 found σ_t² = β̃_t (the posterior's, eq. 7) and
    #    σ_t² = β_t (the forward step's, larger) equally good; diffusers calls them small/large.
    if t > 0:
        large = schedule.variance == "fixed_large"
        variance = beta_t if large else posterior_variance(abar_t, abar_prev)
        mean = mean + variance**0.5 * noise
    return StepOutput(mean, x0, eps)


def ddim_step(
    eps: Tensor,
    t: int,
    t_prev: int,
    x_t: Tensor,
    schedule: Schedule,
    eta: float = 0.0,
    noise: Tensor | None = None,
) -> StepOutput:
    """x_t -> x_{t_prev} by DDIM eq. 12; η = 0 is deterministic, η = 1 matches DDPM's noise."""
    # 1. ᾱ_t and ᾱ_prev (after the last step: 1, or ᾱ_0 if the config says set_alpha_to_one=False)
    abar_t, abar_prev = _alphas(schedule.alphas_cumprod, t, t_prev, schedule.final_alpha_cumprod)
    # 2. "predicted x_0" of eq. 12
    x0 = _x0_from_noise(x_t, eps, abar_t, schedule)
    # 3. σ_t(η) of eq. 16: η = 1 gives DDPM's posterior σ_t
    sigma = eta * posterior_variance(abar_t, abar_prev) ** 0.5
    # 4. "direction pointing to x_t", then x_prev = √ᾱ_prev x̂_0 + direction (+ σ_t z)
    direction = (1 - abar_prev - sigma**2) ** 0.5 * eps
    prev = abar_prev**0.5 * x0 + direction
    if eta > 0:
        prev = prev + sigma * noise
    return StepOutput(prev, x0, eps)


# ---------------------------------------------------------------------------- sampling loops


def spaced_timesteps(
    train_steps: int, steps: int, spacing: str = "leading", offset: int = 0
) -> list[int]:
    """The ``steps`` timesteps a sampler visits, from high to low, as diffusers spreads them.

    "leading" strides up from 0 (diffusers' default), so it never starts from the last,
    noisiest timestep T − 1; "trailing" strides down from T − 1; "linspace" spans both ends
    (Lin et al. table 2). ``offset`` shifts leading timesteps only, as in diffusers.
    """
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
    if not 1 <= steps <= train_steps:
        raise ValueError(f"steps must be from 1 to {train_steps}, got {steps}")
    if spacing == "leading":
        stride = train_steps // steps
        timesteps = [i * stride + offset for i in reversed(range(steps))]
        if timesteps[0] >= train_steps:
            raise ValueError(
                f"steps_offset {offset} puts the first of {steps} steps at t = {timesteps[0]}, "
                f"past the last trained timestep {train_steps - 1}"
            )
        return timesteps
    if spacing == "trailing":
        # numpy's arange, which diffusers uses, strides by (T − T/n) − T rather than −T/n; so do
        # we, so that timesteps falling on a .5 round as diffusers' do.
        delta = (train_steps - train_steps / steps) - train_steps
        return [round(train_steps + i * delta) - 1 for i in range(steps)]
    delta = (train_steps - 1) / (steps - 1) if steps > 1 else 0.0
    return [round(i * delta) for i in reversed(range(steps))]


def predict_noise(model: torch.nn.Module, x: Tensor, t: int) -> Tensor:
    """ε_θ(x_t, t) for a diffusers UNet (which returns ``.sample``) or a plain module."""
    out = model(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long))
    return out.sample if hasattr(out, "sample") else out


@dataclass(frozen=True)
class ReverseStep:
    """What the tab shows at one step of the reverse process."""

    index: int  # 0 for the first (noisiest) step
    timestep: int  # t, 0 … T−1
    x_t: Tensor  # the input of this step
    output: StepOutput  # x_{t_prev}, x̂_0, ε_θ


@torch.no_grad()
def denoise(
    model: torch.nn.Module,
    schedule: Schedule,
    x: Tensor,
    timesteps: list[int],
    method: str = "ddim",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> Iterator[ReverseStep]:
    """Walk ``x`` (at the first of ``timesteps``) down the timesteps, yielding every step.

    Each step goes to the next timestep listed, and the last to clean data. The noise of each
    stochastic step is drawn from ``generator`` on the CPU, in the order diffusers draws it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if schedule.alphas_cumprod[timesteps[0]] == 0:
        raise ValueError(
            f"ᾱ = 0 at t = {timesteps[0]} (zero terminal SNR): an ε-predicting model cannot "
            "recover x̂_0 from pure noise; start lower (leading spacing) or use v-prediction"
        )
    schedule = replace(schedule, alphas_cumprod=schedule.alphas_cumprod.to(x.device))

    def gaussian() -> Tensor:
        return torch.randn(x.shape, generator=generator).to(x.device)

    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        eps = predict_noise(model, x, t)
        if method == "ddpm":
            out = ddpm_step(eps, t, t_prev, x, schedule, gaussian() if t > 0 else None)
        else:
            out = ddim_step(eps, t, t_prev, x, schedule, eta, gaussian() if eta > 0 else None)
        yield ReverseStep(i, t, x, out)
        x = out.prev_sample


def reverse_process(
    model: torch.nn.Module,
    schedule: Schedule,
    shape: tuple[int, ...],
    steps: int,
    method: str = "ddim",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> Iterator[ReverseStep]:
    """Start from x_T ~ N(0, I) and yield every step down to x_0 (DDPM algorithm 2).

    x_T is drawn from ``generator`` on the CPU before any step's noise, as diffusers draws it,
    so the same seed gives diffusers' samples.
    """
    timesteps = spaced_timesteps(schedule.steps, steps, schedule.spacing, schedule.steps_offset)
    x_T = torch.randn(shape, generator=generator).to(device)
    return denoise(model, schedule, x_T, timesteps, method, eta, generator)


def sample(
    model: torch.nn.Module,
    schedule: Schedule,
    shape: tuple[int, ...],
    steps: int,
    method: str = "ddim",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> Tensor:
    """The final x_0 of `reverse_process`."""
    x = None
    for step in reverse_process(model, schedule, shape, steps, method, eta, generator, device):
        x = step.output.prev_sample
    return x


@torch.no_grad()
def score(model: torch.nn.Module, x: Tensor, t: int, schedule: Schedule) -> Tensor:
    """The learned score ∇_x log p_t(x) ≈ −ε_θ(x, t) / √(1 − ᾱ_t): where density rises."""
    abar = schedule.alphas_cumprod[t].to(x.device)
    return -predict_noise(model, x, t) / (1 - abar).sqrt()


# ---------------------------------------------------------------------------- training


def training_loss(model, x0: Tensor, schedule: Schedule, generator: torch.Generator) -> Tensor:
    """DDPM algorithm 1: random t and ε, then ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖²."""
    t = torch.randint(0, schedule.steps, (x0.shape[0],), generator=generator).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    x_t = add_noise(x0, noise, t, schedule.alphas_cumprod)
    out = model(x_t, t)
    return F.mse_loss(out.sample if hasattr(out, "sample") else out, noise)


def train(
    model: torch.nn.Module,
    data: Tensor,
    schedule: Schedule,
    *,
    steps: int,
    batch: int,
    lr: float,
    warmup: int,
    seed: int,
) -> Generator[float, None, None]:
    """Yield the loss of each AdamW step of `training_loss` on minibatches drawn from ``data``.

    The optimiser and learning-rate shape are the bundled models'
    (`plugins.models.denoisers.lr_lambda`); yielding lets a caller show progress and stop
    whenever it likes.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(warmup, steps))
    model.train()
    try:
        for _ in range(steps):
            x0 = data[torch.randint(0, data.shape[0], (batch,), generator=g)]
            loss = training_loss(model, x0, schedule, g)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            decay.step()
            yield loss.item()
    finally:
        model.eval()  # also when the caller stops early
