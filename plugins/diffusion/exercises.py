"""Predict, then reveal: three exercises on the forward process, run on the real schedules."""

from __future__ import annotations

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

MIDDLE = 500
SCHEDULE_CHOICES = ("linear", "cosine", "about the same")
CORRELATION_CHOICES = ("close to 1", "about 0.5", "close to 0")


# Each solve(context) reads the schedules and a bundled digit on the CPU: no model, no device.
def half_signal(context: Context) -> Answer:
    from plugins.diffusion import compute

    t = compute.half_signal_step("linear")
    curve = compute.curves()["linear"]
    return Answer(
        t,
        f"Under DDPM's linear schedule (β from 1e-4 to 0.02 over 1 000 steps) ᾱ_t falls to "
        f"{curve[t - 1]:.4f} at t = {t - 1} and {curve[t]:.4f} at t = **{t}**: a quarter of "
        "the way in, noise already carries more variance than the image. That early wipe-out "
        "is why the cosine schedule was proposed.",
    )


def schedule_at_middle(context: Context) -> Answer:
    from plugins.diffusion import compute

    curves = compute.curves()
    linear, cosine = curves["linear"][MIDDLE], curves["cosine"][MIDDLE]
    truth = (
        SCHEDULE_CHOICES[2]
        if abs(linear - cosine) < 0.02
        else (SCHEDULE_CHOICES[0] if linear > cosine else SCHEDULE_CHOICES[1])
    )
    return Answer(
        truth,
        f"At t = {MIDDLE}: ᾱ_t = {linear:.4f} (linear) and {cosine:.4f} (cosine). The cosine "
        "schedule removes the signal evenly, so half-way through it keeps about half of it; the "
        "linear one has destroyed nearly all of it by then.",
    )


def correlation_at_the_end(context: Context) -> Answer:
    from plugins.diffusion import compute

    x0 = compute.digits()[0][0]
    out = compute.forward(x0, "linear", 1000, 0, True)
    r = out.correlation
    truth = CORRELATION_CHOICES[0 if r > 0.8 else 1 if r > 0.2 else 2]
    return Answer(
        truth,
        f"At t = 1000, ᾱ_t = {out.alpha_bar:.1e}: x_t = {out.alpha_bar**0.5:.4f}·x_0 + "
        f"{(1 - out.alpha_bar) ** 0.5:.4f}·ε. The correlation of x_t with the digit is "
        f"**{r:.3f}**: what the sampler starts from is, for all purposes, pure noise.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="diffusion-half-signal",
        concept="diffusion",
        title="When is half the signal gone?",
        question="The linear schedule of DDPM, 1 000 steps. **At which timestep t does ᾱ_t "
        "first fall below 0.5** (noise carrying more variance than the image)?",
        solve=lazy("plugins.diffusion.exercises:half_signal"),
    ),
    Exercise(
        id="diffusion-schedules",
        concept="diffusion",
        title="Linear or cosine at t = 500?",
        question=f"Half-way, at t = {MIDDLE} of 1 000: **which schedule keeps more of the "
        "image** (the larger ᾱ_t)?",
        solve=lazy("plugins.diffusion.exercises:schedule_at_middle"),
        choices=SCHEDULE_CHOICES,
    ),
    Exercise(
        id="diffusion-last-step",
        concept="diffusion",
        title="What is left at t = 1000?",
        question="A bundled digit, noised to the very last step of the linear schedule. "
        "**How strongly does x_1000 still correlate with the digit?**",
        solve=lazy("plugins.diffusion.exercises:correlation_at_the_end"),
        choices=CORRELATION_CHOICES,
    ),
]
