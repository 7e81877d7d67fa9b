"""Reading a diffusers scheduler config (scheduler_config.json) into our `Schedule`.

A pretrained pipeline ships its noise schedule and sampling options as a diffusers config;
`schedule_from_config` reads one the way diffusers' DDPMScheduler and DDIMScheduler do, and
refuses what our samplers (diffusion.py) do not implement. `rescale_zero_terminal_snr` is the
schedule fix such a config can ask for (``rescale_betas_zero_snr``).

References:
- Lin et al. (2024), "Common Diffusion Noise Schedules and Sample Steps are Flawed",
  arXiv:2305.08891 (algorithm 1, zero terminal SNR).
- diffusers' DDPMScheduler and DDIMScheduler: the config keys, their defaults and meanings.
"""

from __future__ import annotations

import torch
from torch import Tensor

from plugins.diffusion.diffusion import (
    DIFFUSERS_NAMES,
    SPACINGS,
    VARIANCES,
    Schedule,
    alphas_cumprod,
    betas,
)


def rescale_zero_terminal_snr(beta: Tensor) -> Tensor:
    """Lin et al. algorithm 1: shift and stretch √ᾱ_t so that ᾱ_T = 0 while ᾱ_1 stays put.

    Common schedules end at ᾱ_T ≈ 0.005, so training never shows the model pure noise, while
    sampling starts from it; with ᾱ_T = 0 the signal-to-noise ratio ᾱ/(1 − ᾱ) really is 0.
    """
    root = alphas_cumprod(beta).sqrt()
    first, last = root[0].clone(), root[-1].clone()
    root = (root - last) * (first / (first - last))
    abar = root**2
    return 1 - torch.cat([abar[:1], abar[1:] / abar[:-1]])  # back from ᾱ to β


# What diffusers' DDPMScheduler and DDIMScheduler assume for every key a config may leave out.
CONFIG_DEFAULTS = {
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "trained_betas": None,
    "rescale_betas_zero_snr": False,
    "prediction_type": "epsilon",
    "variance_type": "fixed_small",
    "set_alpha_to_one": True,
    "clip_sample": True,
    "clip_sample_range": 1.0,
    "thresholding": False,
    "dynamic_thresholding_ratio": 0.995,
    "sample_max_value": 1.0,
    "timestep_spacing": "leading",
    "steps_offset": 0,
}


def _supported(config: dict, key: str, allowed: tuple[str, ...], why: str) -> None:
    if config[key] not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{key}={config[key]!r} is not implemented; supported: {choices} ({why})")


def schedule_from_config(config: dict) -> Schedule:
    """Our Schedule for a diffusers scheduler config, read as DDPMScheduler and DDIMScheduler
    read it: a missing key takes their default, a key neither knows (another scheduler's) is
    ignored, and a value we do not implement is refused with a ValueError."""
    c = CONFIG_DEFAULTS | {k: v for k, v in config.items() if k in CONFIG_DEFAULTS}
    _supported(c, "prediction_type", ("epsilon",), "models that predict the noise ε")
    # fixed_small_log is fixed_small's σ_t computed through its log; the others need a model
    # that predicts its own variance, or are log-variances for other pipelines.
    _supported(c, "variance_type", (*VARIANCES, "fixed_small_log"), "σ_t² fixed by the schedule")
    _supported(c, "timestep_spacing", SPACINGS, "as diffusers spreads sampling steps")
    if c["steps_offset"] < 0:
        raise ValueError(f"steps_offset must be 0 or more, got {c['steps_offset']}")
    steps = int(c["num_train_timesteps"])
    if c["trained_betas"] is not None:  # the model's own β_1 … β_T; beta_schedule is unused
        beta = torch.tensor(c["trained_betas"], dtype=torch.float32)
        if beta.shape != (steps,):
            raise ValueError(
                f"trained_betas has {beta.numel()} values, not {steps} (num_train_timesteps)"
            )
    else:
        names = {v: k for k, v in DIFFUSERS_NAMES.items()}
        _supported(c, "beta_schedule", tuple(names), "or give trained_betas")
        beta = betas(names[c["beta_schedule"]], steps, c["beta_start"], c["beta_end"])
    if c["rescale_betas_zero_snr"]:
        beta = rescale_zero_terminal_snr(beta)
    curve = alphas_cumprod(beta)
    return Schedule(
        curve,
        bool(c["clip_sample"]),
        float(c["clip_sample_range"]),
        threshold=float(c["dynamic_thresholding_ratio"]) if c["thresholding"] else None,
        threshold_max=float(c["sample_max_value"]),
        variance="fixed_large" if c["variance_type"] == "fixed_large" else "fixed_small",
        spacing=c["timestep_spacing"],
        steps_offset=int(c["steps_offset"]),
        # set_alpha_to_one=False: DDIM's last step lands on timestep 0's ᾱ (a trace of noise left)
        final_alpha_cumprod=1.0 if c["set_alpha_to_one"] else float(curve[0]),
    )
