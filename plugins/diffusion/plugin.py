"""Diffusion: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="diffusion",
            title="Diffusion",
            summary="Add noise to an image step by step, then watch a trained model take it "
            "away: DDPM, DDIM, Euler and DPM-Solver++ on real digits and 2-D points.",
            build=lazy("plugins.diffusion.tab:build"),
            order=70,
            area="deep-learning",
            preload=("plugins.diffusion.compute",),
            bench=lazy("plugins.diffusion.bench:cases"),
            long=("diffusion_compare", "diffusion_train", "diffusion_text_to_image"),
            quick={
                "diffusion_sample": {"Steps": 5, "Samples": 1},
                "diffusion_compare": {"Steps: DDIM, Euler, DPM++": 5, "DDPM steps": 10},
                "diffusion_toy": {"Points": 50, "DDIM steps": 5},
                "diffusion_train": {"Training steps": 5},
            },
            # ZeroGPU: a 16-sample grid is a second; DDPM's 1000 steps and SD take longer
            gpu={
                "diffusion_sample": 30,
                "diffusion_compare": 120,
                "diffusion_toy": 20,
                "diffusion_train": 60,
                "diffusion_text_to_image": 120,
            },
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.diffusion.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
