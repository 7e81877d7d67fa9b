"""Quantization: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="quantization",
            title="Quantization",
            summary="Store a real model in 8, 4 or fewer bits: choose how values map to the "
            "grid, what to quantize and when, and measure size, perplexity and speed.",
            build=lazy("plugins.quantization.tab:build"),
            order=65,
            area="llm",
            preload=("plugins.quantization.views", "plugins.quantization.llm"),
            bench=lazy("plugins.quantization.bench:cases"),
            long=("quantization_qat", "quantization_ptq", "quantization_scope"),
            quick={
                "quantization_qat": {"QAT steps": 2},
                "quantization_scope": {"New tokens": 4},
                "quantization_ptq": {"Calibration samples": 2, "New tokens": 4},
            },
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.quantization.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
