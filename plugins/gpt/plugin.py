"""GPT next-token prediction and sampling: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="gpt",
            title="GPT: Next-Token Sampling",
            summary="Watch a trained GPT pick one token at a time, and change how it picks: "
            "greedy, temperature, top-k, top-p, min-p and beam search.",
            build=lazy("plugins.gpt.tab:build"),
            order=20,
            area="llm",
            preload=("plugins.gpt.trail",),
            shared_view=False,  # its first view is the visitor's own decode trail (a State)
            # The model is read in eval mode under no_grad; each visitor's trail holds its own
            # KV cache and generator: events of different visitors share nothing mutable.
            parallel=2,
            bench=lazy("plugins.gpt.bench:cases"),
            # ZeroGPU: tiny-llama steps take milliseconds; a hub model's 256 tokens, seconds
            gpu={
                "gpt_start": 20,
                "gpt_step": 20,
                "gpt_run": 60,
                "gpt_draws": 20,
                "gpt_cache_timing": 60,
                "gpt_compare": 120,
            },
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.gpt.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
