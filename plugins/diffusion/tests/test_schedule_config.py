"""Every key of a diffusers DDPM/DDIM scheduler config: implemented ones give diffusers' samples,
the rest are refused; and the figures diffusers' own scheduler tests pin, on our samplers."""

from __future__ import annotations

import functools
import inspect

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from plugins.diffusion import diffusion as ours
from plugins.diffusion.schedule_config import (
    CONFIG_DEFAULTS,
    rescale_zero_terminal_snr,
    schedule_from_config,
)
from plugins.models import denoisers as bundled

torch.set_num_threads(1)
SAME = dict(atol=1e-5, rtol=0)
SHAPE = (2, 1, 16, 16)
SCHEDULERS = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler}
# the digits model's own schedule, which the cases below change
BASE = dict(beta_schedule="squaredcos_cap_v2", clip_sample=True)


@pytest.fixture(scope="module")
def unet():
    return bundled.load_digits_unet("cpu")


def _theirs(unet, method, config, steps, seed, eta=0.0):
    scheduler = SCHEDULERS[method].from_config(config)  # which ignores the other's keys
    if eta:
        scheduler.step = functools.partial(scheduler.step, eta=eta)
    return bundled.sample(unet, scheduler, SHAPE, steps, torch.Generator().manual_seed(seed))


def _ours(unet, method, config, steps, seed, eta=0.0):
    schedule = schedule_from_config(config)
    return ours.sample(
        unet, schedule, SHAPE, steps, method, eta, torch.Generator().manual_seed(seed)
    )


# ---------------------------------------------------------------------------- what is read


def test_config_defaults_are_those_of_diffusers_ddpm_and_ddim_schedulers():
    """A new key in diffusers fails here, so that it is implemented or refused, never ignored."""
    theirs = {}
    for cls in SCHEDULERS.values():
        params = inspect.signature(cls.__init__).parameters.values()
        theirs |= {p.name: p.default for p in params if p.name != "self"}
    assert theirs == CONFIG_DEFAULTS


def test_a_missing_key_takes_diffusers_default_and_other_schedulers_keys_are_ignored():
    pndm_like = {"_class_name": "PNDMScheduler", "skip_prk_steps": True, "steps_offset": 1}
    mine = schedule_from_config(pndm_like)
    theirs = DDPMScheduler.from_config(pndm_like)
    torch.testing.assert_close(mine.alphas_cumprod, theirs.alphas_cumprod, atol=0, rtol=0)
    assert mine.clip_sample is True and mine.steps_offset == 1  # diffusers' default clip is on


CASES = [  # (method, keys changed from BASE, η): each is compared with those keys' defaults
    *[(m, {"steps_offset": 1}, 0.0) for m in ("ddpm", "ddim")],
    *[(m, {"timestep_spacing": "trailing"}, 0.0) for m in ("ddpm", "ddim")],
    ("ddpm", {"timestep_spacing": "linspace"}, 0.0),
    ("ddpm", {"variance_type": "fixed_large"}, 0.0),
    ("ddpm", {"variance_type": "fixed_large", "timestep_spacing": "trailing"}, 0.0),
    *[
        (m, {"thresholding": True, "dynamic_thresholding_ratio": 0.9, "sample_max_value": v}, 0.0)
        for m, v in (("ddpm", 0.5), ("ddpm", 1.5), ("ddim", 0.5))  # DDIM's x̂_0 stays under 1.5
    ],
    *[
        (m, {"beta_schedule": "linear", "rescale_betas_zero_snr": True}, 0.0)
        for m in ("ddpm", "ddim")
    ],
    ("ddim", {"set_alpha_to_one": False}, 0.0),
    ("ddim", {"set_alpha_to_one": False}, 0.8),
    *[(m, {"clip_sample": False}, 0.0) for m in ("ddpm", "ddim")],
    ("ddim", {"clip_sample_range": 0.5}, 0.3),
    *[
        (m, {"trained_betas": torch.linspace(1e-4, 0.03, 1000).tolist()}, 0.0)
        for m in ("ddpm", "ddim")
    ],
    ("ddim", {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}, 0.0),
    ("ddpm", {"beta_schedule": "linear", "num_train_timesteps": 500}, 0.0),
]


@pytest.mark.parametrize(("method", "change", "eta"), CASES)
def test_each_implemented_option_gives_diffusers_samples(unet, method, change, eta):
    config = BASE | change
    mine, theirs = (
        _ours(unet, method, config, 10, 3, eta),
        _theirs(unet, method, config, 10, 3, eta),
    )
    torch.testing.assert_close(mine, theirs, **SAME)
    plain = _ours(unet, method, config | {k: CONFIG_DEFAULTS[k] for k in change}, 10, 3, eta)
    assert (plain - mine).abs().max() > 1e-3  # the option changed the sample


@pytest.mark.parametrize(
    "change",
    [
        {"variance_type": "fixed_small_log"},  # the same σ_t, computed through its log
        {"set_alpha_to_one": False},  # a DDIM key, which DDPM does not use
    ],
)
def test_options_that_do_not_change_ddpm_give_diffusers_samples(unet, change):
    config = BASE | change
    mine, theirs = _ours(unet, "ddpm", config, 10, 5), _theirs(unet, "ddpm", config, 10, 5)
    torch.testing.assert_close(mine, theirs, **SAME)
    torch.testing.assert_close(mine, _ours(unet, "ddpm", BASE, 10, 5), **SAME)


def test_ddim_on_linspace_steps_to_the_next_listed_timestep(unet):
    """diffusers' DDIMScheduler steps by a fixed T // n, which is not where "linspace" puts the
    next timestep (diffusers issue #12633); ours goes to the next listed one. With η = 1 and no
    clipping DDIM is DDPM's sampler (DDIM section 4.1), and DDPMScheduler does step by the list."""
    config = {"timestep_spacing": "linspace", "clip_sample": False}  # linear β: ᾱ_999 is not ~0
    mine = _ours(unet, "ddim", config, 10, 4, eta=1.0)
    torch.testing.assert_close(mine, _theirs(unet, "ddpm", config, 10, 4), **SAME)
    leading = _ours(unet, "ddim", config | {"timestep_spacing": "leading"}, 10, 4, eta=1.0)
    assert (leading - mine).abs().max() > 0.1  # so the timesteps taken matter


# ---------------------------------------------------------------------------- what is refused


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("prediction_type", "v_prediction"),
        ("prediction_type", "sample"),
        ("variance_type", "fixed_large_log"),
        ("variance_type", "learned"),
        ("variance_type", "learned_range"),
        ("beta_schedule", "sigmoid"),
        ("beta_schedule", "laplace"),
        ("timestep_spacing", "karras"),
        ("steps_offset", -1),
        ("trained_betas", [1e-4, 0.02]),
    ],
)
def test_what_we_do_not_implement_is_refused_by_name(key, value):
    with pytest.raises(ValueError, match=key):
        schedule_from_config(BASE | {key: value})


def test_zero_terminal_snr_cannot_start_an_epsilon_model_from_the_last_timestep(unet):
    schedule = schedule_from_config(BASE | {"rescale_betas_zero_snr": True})
    assert schedule.alphas_cumprod[-1] == 0
    g = torch.Generator().manual_seed(0)
    assert ours.sample(unet, schedule, SHAPE, 4, "ddim", 0.0, g).isfinite().all()  # from t = 750
    trailing = schedule_from_config(
        BASE | {"rescale_betas_zero_snr": True, "timestep_spacing": "trailing"}
    )
    with pytest.raises(ValueError, match="zero terminal SNR"):
        ours.sample(unet, trailing, SHAPE, 4, "ddim")


def test_steps_offset_past_the_last_timestep_is_refused():
    with pytest.raises(ValueError, match="past the last trained timestep 999"):
        ours.spaced_timesteps(1000, 1000, "leading", offset=1)


# ---------------------------------------------------------------------------- timesteps


@pytest.mark.parametrize("spacing", ours.SPACINGS)
@pytest.mark.parametrize("train_steps", [1000, 999, 100])
def test_spaced_timesteps_match_diffusers(spacing, train_steps):
    scheduler = DDPMScheduler(
        num_train_timesteps=train_steps, timestep_spacing=spacing, steps_offset=1
    )
    for steps in range(1, train_steps):  # leading at T steps would pass T − 1 with the offset
        scheduler.set_timesteps(steps)
        theirs = scheduler.timesteps.tolist()
        assert ours.spaced_timesteps(train_steps, steps, spacing, offset=1) == theirs[:steps]
        # numpy's arange in diffusers sometimes makes one trailing step too many, at t = −1
        assert theirs[steps:] in ([], [-1])


def test_rescaled_betas_reach_zero_signal_and_keep_the_first_step():
    beta = ours.betas("scaled-linear")
    abar, rescaled = (
        ours.alphas_cumprod(beta),
        ours.alphas_cumprod(rescale_zero_terminal_snr(beta)),
    )
    assert rescaled[-1] == 0 and abar[-1] > 0.004
    torch.testing.assert_close(rescaled[0], abar[0])
    assert (rescaled[1:] < rescaled[:-1]).all()


# ------------------------------------------------- figures pinned by diffusers' scheduler tests
# From diffusers' tests/schedulers/test_scheduler_ddpm.py and test_scheduler_ddim.py: their
# deterministic sample and stand-in model (tests/schedulers/test_schedulers.py), their configs,
# and the sums and means of |x| they expect, to their tolerances (1e-2 and 1e-3).

UPSTREAM = dict(beta_start=0.0001, beta_end=0.02, beta_schedule="linear", clip_sample=True)


def _upstream_sample(flip: bool = False):
    n = 4 * 3 * 8 * 8
    values = torch.arange(n).flip(-1) if flip else torch.arange(n)
    return (values.reshape(3, 8, 8, 4) / n).permute(3, 0, 1, 2)  # (4, 3, 8, 8)


def _upstream_model(x, t):  # ε = x · t / (t + 1)
    t = t.reshape(-1, 1, 1, 1)
    return x * t / (t + 1)


def _run(method, timesteps, x, **config):
    schedule = schedule_from_config(UPSTREAM | config)
    g = torch.Generator().manual_seed(0)
    for step in ours.denoise(_upstream_model, schedule, x, timesteps, method, 0.0, g):
        x = step.output.prev_sample
    return x.abs().sum().item(), x.abs().mean().item()


@pytest.mark.parametrize(
    ("method", "timesteps", "noised", "config", "expected"),
    [
        ("ddpm", list(range(999, -1, -1)), False, {}, (258.9606, 0.3372)),
        ("ddpm", [1, 0], True, {}, (387.9466, 0.5051)),
        ("ddim", ours.spaced_timesteps(1000, 10), False, {}, (172.0067, 0.223967)),
        ("ddim", [100, 0], True, {}, (354.5418, 0.4616)),
        ("ddim", ours.spaced_timesteps(1000, 10), False,
         {"set_alpha_to_one": True, "beta_start": 0.01}, (149.8295, 0.1951)),
        ("ddim", ours.spaced_timesteps(1000, 10), False,
         {"set_alpha_to_one": False, "beta_start": 0.01}, (149.0784, 0.1941)),
    ],
)  # fmt: skip
def test_full_loops_give_the_figures_diffusers_tests_expect(
    method, timesteps, noised, config, expected
):
    x = _upstream_sample()
    if noised:  # their "with noise" loops start from the sample noised to the first timestep
        curve = schedule_from_config(UPSTREAM).alphas_cumprod
        x = ours.add_noise(x, _upstream_sample(flip=True), torch.tensor([timesteps[0]]), curve)
    total, mean = _run(method, timesteps, x, **config)
    assert abs(total - expected[0]) < 1e-2 and abs(mean - expected[1]) < 1e-3


def test_posterior_variance_gives_the_figures_diffusers_tests_expect():
    abar = schedule_from_config(UPSTREAM).alphas_cumprod
    pinned = {(420, 400): 0.14771, (980, 960): 0.32460, (487, 486): 0.00979, (999, 998): 0.02}
    for (t, t_prev), value in pinned.items():
        assert abs(ours.posterior_variance(abar[t], abar[t_prev]).item() - value) < 1e-5
    assert ours.posterior_variance(abar[0], torch.tensor(1.0)) == 0  # DDPM's last step: none


def test_steps_offset_gives_the_timesteps_diffusers_tests_expect():
    schedule = schedule_from_config(UPSTREAM | {"steps_offset": 1})
    timesteps = ours.spaced_timesteps(schedule.steps, 5, schedule.spacing, schedule.steps_offset)
    assert timesteps == [801, 601, 401, 201, 1]
