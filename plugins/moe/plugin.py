"""Mixture of Experts: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="moe",
            title="Mixture of Experts",
            summary="Watch a real sparse MoE route each token to 2 of its 8 experts, compare it "
            "with its dense twin, and break routing yourself: capacity, noise, load balancing.",
            build=lazy("plugins.moe.tab:build"),
            order=50,
            area="llm",
            preload=("plugins.moe.capture", "plugins.moe.lab", "plugins.moe.views"),
            bench=lazy("plugins.moe.bench:cases"),
            # ZeroGPU: a forward of tiny-mixtral, or two short decodes. The lab and its
            # training run are small CPU tensors and never touch the device.
            gpu={"moe_route": 10, "moe_compare": 20},
            quick={"moe_train": {"Steps": 10}, "moe_compare": {"New tokens": 4}},
            long=("moe_train",),
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.moe.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
