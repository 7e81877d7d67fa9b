"""Our DDIM loop against diffusers' DDIMScheduler loop on the digits UNet, and the tab's grid."""

from __future__ import annotations

import torch

from playground.bench import BenchCase
from playground.concept import Context
from plugins.diffusion import compute, diffusion
from plugins.models import denoisers as bundled
from plugins.models.paths import DIGITS_DIR

STEPS, SAMPLES, SEED = 50, 16, 0
SHAPE = (SAMPLES, *compute.DIGIT_SHAPE)


def cases(context: Context) -> list[BenchCase]:
    device = context.device()
    unet = context.models.get("digits-unet", device)
    schedule = compute.model_schedule(DIGITS_DIR)
    reference = bundled.scheduler_for(DIGITS_DIR, "ddim")

    def ours() -> torch.Tensor:
        g = torch.Generator().manual_seed(SEED)
        return diffusion.sample(unet, schedule, SHAPE, STEPS, "ddim", 0.0, g, device)

    def theirs() -> torch.Tensor:
        g = torch.Generator().manual_seed(SEED)
        return bundled.sample(unet, reference, SHAPE, STEPS, g, device)

    return [
        BenchCase(
            f"DDIM {STEPS} steps, {SAMPLES} digits, digits-unet",
            ours,
            "diffusers DDIMScheduler loop",
            theirs,
            target="ratio <= 1.05",
        ),
        BenchCase(
            f"tab: {STEPS}-step {SAMPLES}-sample grid with every step kept (server side)",
            lambda: compute.reverse(unet, SAMPLES, STEPS, "ddim", 0.0, SEED, device).final,
            target="ours_ms <= 2000",
        ),
    ]
