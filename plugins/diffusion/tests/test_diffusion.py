"""Our forward process, DDPM and DDIM against diffusers, on fresh seeded inputs and the real
bundled models; and the invariants of the schedules, the score and the training loop."""

from __future__ import annotations

import functools
import itertools
import math

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from plugins.diffusion import compute
from plugins.diffusion import diffusion as ours
from plugins.models import denoisers as bundled
from plugins.models.paths import DIGITS_DIR, TOY_DIR

torch.set_num_threads(1)
SEEDS = range(3)
SAME = dict(atol=1e-5, rtol=0)  # the tolerance for whole sampling runs


def reference(schedule: str, **config) -> DDPMScheduler:
    low, high = ours.BETA_RANGE.get(schedule, (1e-4, 0.02))
    return DDPMScheduler(
        beta_schedule=ours.DIFFUSERS_NAMES[schedule], beta_start=low, beta_end=high, **config
    )


@pytest.fixture(scope="module")
def unet():
    return bundled.load_digits_unet("cpu")


@pytest.fixture(scope="module")
def toy():
    return bundled.load_toy_denoiser("cpu")


# ---------------------------------------------------------------------------- schedules


@pytest.mark.parametrize("schedule", ours.SCHEDULES)
@pytest.mark.parametrize("steps", [10, 1000])
def test_alphas_cumprod_match_diffusers(schedule, steps):
    mine = ours.alphas_cumprod(ours.betas(schedule, steps))
    theirs = reference(schedule, num_train_timesteps=steps).alphas_cumprod
    torch.testing.assert_close(mine, theirs, atol=1e-7, rtol=1e-6)


@pytest.mark.parametrize("schedule", ours.SCHEDULES)
def test_alpha_bar_falls_monotonically_from_one_towards_zero(schedule):
    abar = ours.alphas_cumprod(ours.betas(schedule))
    assert (abar[1:] < abar[:-1]).all(), "ᾱ_t must strictly decrease"
    assert 0.99 < abar[0] < 1 and 0 <= abar[-1] < 0.01
    assert ours.alpha_bar(abar, 0) == 1.0 and ours.alpha_bar(abar, 1000) == float(abar[-1])


def test_cosine_keeps_more_signal_early_than_linear():
    half = {s: compute.half_signal_step(s) for s in ours.SCHEDULES}
    assert half["cosine"] > half["linear"] + 100  # Nichol & Dhariwal's point, figure 5
    linear, cosine = compute.curves()["linear"], compute.curves()["cosine"]
    assert cosine[250] > linear[250] + 0.1


def test_the_bundled_models_schedules_are_read_as_diffusers_reads_them():
    for folder in (DIGITS_DIR, TOY_DIR):
        mine = compute.model_schedule(folder)
        theirs = bundled.scheduler_for(folder, "ddpm")
        torch.testing.assert_close(mine.alphas_cumprod, theirs.alphas_cumprod, atol=0, rtol=0)
        assert mine.clip_sample == theirs.config.clip_sample


# ---------------------------------------------------------------------------- forward process


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(64, 2), (8, 1, 16, 16), (3, 3, 40, 24)])
@pytest.mark.parametrize("schedule", ours.SCHEDULES)
def test_add_noise_equals_diffusers(seed, shape, schedule):
    g = torch.Generator().manual_seed(seed)
    x0, noise = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    t = torch.randint(0, 1000, (shape[0],), generator=g)
    curve = ours.alphas_cumprod(ours.betas(schedule))
    theirs = reference(schedule).add_noise(x0, noise, t)
    torch.testing.assert_close(ours.add_noise(x0, noise, t, curve), theirs, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------- single steps


def _random_step_inputs(seed: int, shape=(4, 1, 16, 16)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g) * 1.5


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("steps", [1000, 37])  # every timestep, and strided
def test_ddpm_step_equals_diffusers(seed, clip, steps):
    sched = reference("cosine", clip_sample=clip)
    sched.set_timesteps(steps)
    mine = ours.Schedule(sched.alphas_cumprod, clip)
    timesteps = sched.timesteps.tolist()
    for i in (0, len(timesteps) // 2, len(timesteps) - 1):  # first, middle, last (no noise)
        t, t_prev = timesteps[i], timesteps[i + 1] if i + 1 < len(timesteps) else -1
        x, eps = _random_step_inputs(seed + i)
        theirs = sched.step(eps, t, x, generator=torch.Generator().manual_seed(seed))
        # the same z: diffusers draws it from its generator, we are handed it
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
        out = ours.ddpm_step(eps, t, t_prev, x, mine, z)
        torch.testing.assert_close(out.prev_sample, theirs.prev_sample, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out.pred_original_sample, theirs.pred_original_sample)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("clip", [True, False])
def test_ddim_step_equals_diffusers(seed, eta, clip):
    sched = DDIMScheduler.from_config(reference("linear", clip_sample=clip).config)
    sched.set_timesteps(20)
    mine = ours.Schedule(sched.alphas_cumprod, clip)
    timesteps = sched.timesteps.tolist()
    assert timesteps == ours.spaced_timesteps(1000, 20)
    for i in (0, 9, 19):
        t, t_prev = timesteps[i], timesteps[i + 1] if i + 1 < 20 else -1
        x, eps = _random_step_inputs(seed + i)
        z = torch.randn(x.shape, generator=torch.Generator().manual_seed(100 + seed))
        theirs = sched.step(eps, t, x, eta=eta, variance_noise=z if eta > 0 else None)
        out = ours.ddim_step(eps, t, t_prev, x, mine, eta, z)
        torch.testing.assert_close(out.prev_sample, theirs.prev_sample, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(out.pred_original_sample, theirs.pred_original_sample)


@pytest.mark.parametrize("steps", [1, 3, 7, 50, 333, 1000])
def test_leading_timesteps_match_diffusers(steps):
    sched = DDPMScheduler()
    sched.set_timesteps(steps)
    assert ours.spaced_timesteps(1000, steps) == sched.timesteps.tolist()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        ours.betas("quadratic")
    with pytest.raises(ValueError, match="steps must be from 1 to 1000"):
        ours.spaced_timesteps(1000, 0)
    with pytest.raises(ValueError, match="unknown method"):
        next(ours.reverse_process(None, compute.model_schedule(TOY_DIR), (1, 2), 5, "euler"))


# ---------------------------------------------------------------------------- whole runs


def _diffusers_loop(model, folder, method, shape, steps, seed, eta=0.0):
    """diffusers' scheduler driven by the bundled models' own loop, from a generator seeded
    like ours: both draw x_T first and then one noise tensor per stochastic step, in order."""
    scheduler = bundled.scheduler_for(folder, method)
    if eta:
        scheduler.step = functools.partial(scheduler.step, eta=eta)
    return bundled.sample(model, scheduler, shape, steps, torch.Generator().manual_seed(seed))


def _ours(model, folder, method, shape, steps, seed, eta=0.0):
    g = torch.Generator().manual_seed(seed)
    return ours.sample(model, compute.model_schedule(folder), shape, steps, method, eta, g)


@pytest.mark.parametrize(
    ("method", "steps", "eta"), [("ddim", 20, 0.0), ("ddim", 10, 0.7), ("ddpm", 25, 0.0)]
)
def test_our_samplers_give_diffusers_samples_on_the_digits_unet(unet, method, steps, eta):
    seed = 11
    args = (unet, DIGITS_DIR, method, (3, 1, 16, 16), steps, seed, eta)
    mine, theirs = _ours(*args), _diffusers_loop(*args)
    torch.testing.assert_close(mine, theirs, **SAME)
    other = _ours(unet, DIGITS_DIR, method, (3, 1, 16, 16), steps, seed + 1, eta)
    assert (other - mine).abs().max() > 0.1  # a different seed is a different sample


def test_ddpm_with_all_1000_steps_matches_diffusers_on_the_toy_model(toy):
    args = (toy, TOY_DIR, "ddpm", (64, 2), 1000, 5)
    torch.testing.assert_close(_ours(*args), _diffusers_loop(*args), **SAME)


def test_reverse_process_shows_x_t_noise_and_x0_of_each_step(toy):
    g = torch.Generator().manual_seed(0)
    run = list(
        ours.reverse_process(toy, compute.model_schedule(TOY_DIR), (32, 2), 10, "ddim", 0, g)
    )
    assert [s.timestep for s in run] == ours.spaced_timesteps(1000, 10)
    for before, after in itertools.pairwise(run):
        torch.testing.assert_close(after.x_t, before.output.prev_sample)
    first = run[0]  # ε̂ and x̂_0 reassemble x_t through the closed form
    abar = compute.model_schedule(TOY_DIR).alphas_cumprod[first.timestep]
    rebuilt = abar.sqrt() * first.output.pred_original_sample
    rebuilt = rebuilt + (1 - abar).sqrt() * first.output.pred_noise
    torch.testing.assert_close(rebuilt, first.x_t)


# ---------------------------------------------------------------------------- score, training


@pytest.mark.parametrize("t", [0, 300, 999])
def test_score_of_the_ideal_denoiser_is_the_gradient_of_log_density(t):
    """For data N(0, σ²I), x_t ~ N(0, (ᾱσ² + 1 − ᾱ)I) and the best ε̂ is known in closed form;
    our score must then equal autograd's ∇ log p_t."""
    schedule = compute.model_schedule(TOY_DIR)
    abar, var0 = schedule.alphas_cumprod[t], 0.7**2
    total = abar * var0 + 1 - abar

    def ideal(x, _t):  # E[ε | x_t]
        return (1 - abar).sqrt() * x / total

    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(t)).requires_grad_()
    log_p = (-0.5 * (x**2).sum(-1) / total - math.log(2 * math.pi * total)).sum()
    (grad,) = torch.autograd.grad(log_p, x)
    torch.testing.assert_close(ours.score(ideal, x.detach(), t, schedule), grad)


def test_training_lowers_the_loss_and_leaves_eval_mode_even_when_stopped():
    from plugins.models.toy2d import ToyDenoiser

    torch.manual_seed(0)
    model = ToyDenoiser()
    data = compute.moons()
    loop = ours.train(
        model,
        data,
        compute.model_schedule(TOY_DIR),
        steps=300,
        batch=256,
        lr=2e-3,
        warmup=20,
        seed=0,
    )
    losses = [next(loop) for _ in range(200)]
    assert model.training
    loop.close()
    assert not model.training
    assert sum(losses[-25:]) / 25 < 0.6 * sum(losses[:25]) / 25
