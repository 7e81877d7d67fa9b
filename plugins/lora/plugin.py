"""LoRA, QLoRA and transfer learning: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Command, Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="lora",
            title="LoRA & Transfer learning",
            summary="Fine-tune the bundled Llama live with a low-rank adapter, see the update "
            "B·A it learned, merge it, shrink the base to 4-bit (QLoRA), and reuse MiniLM's "
            "features for a new task.",
            build=lazy("plugins.lora.tab:build"),
            order=60,
            area="llm",
            preload=("plugins.lora.views", "plugins.lora.lora", "plugins.lora.train"),
            bench=lazy("plugins.lora.bench:cases"),
            # ZeroGPU: a training run is capped at 180 s; the views are a few forwards
            gpu={"lora_train": 180, "lora_qlora": 180, "lora_generate": 20, "lora_merge": 20},
            quick={"lora_train": {"Steps": 10}, "lora_qlora": {"Steps": 10}},
            long=("lora_train", "lora_qlora", "lora_transfer"),
        )
    )


@hookimpl
def register_commands(register):
    register(
        Command(
            name="lora-train",
            help="the LoRA tab's run, headless, on any registry model (accelerate)",
            main=lazy("plugins.lora.cli:main"),
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.lora.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
