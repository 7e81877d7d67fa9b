"""Attention & the Transformer Block: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="attention",
            title="Attention & the Transformer Block",
            summary="Every head of a real model at once, one head's arithmetic with its real "
            "numbers, and where a transformer block's parameters and FLOPs go.",
            build=lazy("plugins.attention.tab:build"),
            order=40,
            area="llm",
            preload=("plugins.attention.capture", "plugins.attention.views"),
            bench=lazy("plugins.attention.bench:cases"),
            # ZeroGPU: one forward of a small model plus our attention, well under a second
            gpu={"attention_grid": 10, "attention_head": 10, "attention_positions": 10},
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.attention.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
