"""Softmax & Logits: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="softmax",
            title="Softmax & Logits",
            summary="Turn a model's raw scores into probabilities, and see what temperature, "
            "overflow and cross-entropy do to them.",
            build=lazy("plugins.softmax.tab:build"),
            # Pure arithmetic on each request's own tensors: nothing shared to race on.
            parallel=4,
            order=10,
            area="ml",
            preload=("plugins.softmax.softmax",),
            bench=lazy("plugins.softmax.bench:cases"),
            gpu={"softmax_compute": 10},  # ZeroGPU: ms of math, plus a cold worker's CUDA start
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.softmax.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
