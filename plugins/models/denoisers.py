"""Load the bundled diffusion models, draw samples from them with diffusers' schedulers, and
the learning-rate shape they were trained with (the diffusion tab's own training reuses it).

Two models ship inside the package, both trained by ``plugins.models.train_diffusion``:

- ``digits-unet``: a diffusers ``UNet2DModel`` that denoises 16x16 handwritten digits;
- ``two-moons``: a ``ToyDenoiser`` MLP that denoises 2-D points from the two-moons distribution.

Each folder holds the weights (safetensors) and the ``scheduler_config.json`` of the DDPM
noise schedule it was trained under; every sampler here is built from that same file, so the
samplers differ only in how they walk back through the schedule, never in the schedule itself.

References:
- Ho, Jain, Abbeel (2020), DDPM, arXiv:2006.11239.
- Song, Meng, Ermon (2021), DDIM, arXiv:2010.02502.
- Karras et al. (2022), "Elucidating the Design Space...", arXiv:2206.00364 (Euler sampler).
- Lu et al. (2022), "DPM-Solver++", arXiv:2211.01095.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from plugins.models.paths import DIGITS_DIR, TOY_DIR
from plugins.models.toy2d import ToyDenoiser

SCHEDULER_CONFIG = "scheduler_config.json"
UNET_CONFIG = "config.json"
UNET_WEIGHTS = "diffusion_pytorch_model.safetensors"
SCHEDULER_NAMES = ("ddpm", "ddim", "euler", "dpm++")


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"bundled diffusion model file not found: {path}")
    return path


def load_digits_unet(device: str = "cpu", model_dir: str | Path | None = None):
    """The 16x16 digits UNet (diffusers.UNet2DModel), float32, in eval mode, on ``device``."""
    from diffusers import UNet2DModel

    model_dir = Path(model_dir or DIGITS_DIR)
    _require(model_dir / UNET_CONFIG)
    weights = _require(model_dir / UNET_WEIGHTS)
    try:
        # use_safetensors=True: never fall back to a pickle file if the safetensors one is bad.
        unet = UNet2DModel.from_pretrained(
            model_dir, use_safetensors=True, torch_dtype=torch.float32
        )
    except Exception as err:  # diffusers and safetensors raise several types for a bad file
        raise ValueError(f"could not load the digits UNet from {weights}: {err}") from err
    return unet.to(device).eval()


def load_toy_denoiser(device: str = "cpu", model_dir: str | Path | None = None) -> ToyDenoiser:
    """The two-moons ToyDenoiser, in eval mode, on ``device``."""
    return ToyDenoiser.from_pretrained(model_dir or TOY_DIR).to(device).eval()


def scheduler_for(model_dir: str | Path, name: str):
    """A fresh diffusers scheduler ``name`` (one of SCHEDULER_NAMES) on the model's schedule."""
    from diffusers import (
        DDIMScheduler,
        DDPMScheduler,
        DPMSolverMultistepScheduler,
        EulerDiscreteScheduler,
    )

    classes = {
        "ddpm": DDPMScheduler,
        "ddim": DDIMScheduler,
        "euler": EulerDiscreteScheduler,
        "dpm++": DPMSolverMultistepScheduler,
    }
    if name not in classes:
        raise ValueError(f"unknown scheduler {name!r}; choose one of {', '.join(SCHEDULER_NAMES)}")
    path = _require(Path(model_dir) / SCHEDULER_CONFIG)
    try:
        config = DDPMScheduler.load_config(path.parent)
    except Exception as err:
        raise ValueError(f"scheduler config is not valid: {path} ({err})") from err
    # from_config keeps the shared keys (betas, timesteps, prediction type) and drops the rest.
    return classes[name].from_config(config)


@dataclass
class SampleStep:
    """What one reverse step produced: the values the diffusion tab plots."""

    timestep: float
    prev_sample: torch.Tensor  # x_{t-1}, on the CPU
    pred_original_sample: torch.Tensor | None  # the model's guess of x_0 (None for DPM++)


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    scheduler,
    shape: tuple[int, ...],
    steps: int,
    generator: torch.Generator | None = None,
    device: str = "cpu",
    return_steps: bool = False,
):
    """Run the reverse process from Gaussian noise for ``steps`` scheduler steps.

    Works for any epsilon-prediction model called as ``model(x, t)``: the UNet (whose output
    is a dataclass with ``.sample``) and the ToyDenoiser (which returns a tensor). Returns the
    final sample, or ``(sample, [SampleStep, ...])`` when ``return_steps`` is true.
    """
    from diffusers.utils.torch_utils import randn_tensor

    scheduler.set_timesteps(steps, device=device)
    # randn_tensor draws on the generator's device, so a CPU generator gives the same noise
    # whichever device the model runs on.
    x = randn_tensor(shape, generator=generator, device=torch.device(device))
    x = x * scheduler.init_noise_sigma  # 1 for DDPM/DDIM, sigma_max for Euler
    history: list[SampleStep] = []
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(x, t)  # identity except for Euler
        out = model(model_input, t.expand(shape[0]))
        noise_pred = out.sample if hasattr(out, "sample") else out
        step = scheduler.step(noise_pred, t, x, generator=generator)
        x = step.prev_sample
        if return_steps:
            x0 = getattr(step, "pred_original_sample", None)
            history.append(
                SampleStep(
                    timestep=float(t),
                    prev_sample=x.detach().cpu(),
                    pred_original_sample=None if x0 is None else x0.detach().cpu(),
                )
            )
    return (x, history) if return_steps else x


def lr_lambda(warmup: int, steps: int):
    """Linear warm-up, then cosine decay to 10%: a short run still ends on small steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor
