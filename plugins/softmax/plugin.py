"""Softmax & Logits: the hookimpls, nothing else."""

from playground import Concept, hookimpl


def _build():
    from plugins.softmax.tab import build

    return build()


def _bench(device: str):
    from plugins.softmax.bench import cases

    return cases(device)


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="softmax",
            title="Softmax & Logits",
            summary="Turn a model's raw scores into probabilities, and see what temperature, "
            "overflow and cross-entropy do to them.",
            build=_build,
            order=10,
            area="deep-learning",
            preload=("plugins.softmax.softmax",),
            bench=_bench,
            gpu={"softmax_compute": 10},  # ZeroGPU: ms of math, plus a cold worker's CUDA start
        )
    )
