"""Embeddings & the Dot Product: the hookimpls, nothing else.

Every built-in plugin.py has this shape, deliberately: read one and you have read them all.
"""

from playground import Concept, hookimpl, lazy


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="embeddings",
            title="Embeddings & the Dot Product",
            summary="Do arithmetic on a real model's word vectors (king − man + woman), search "
            "nearest neighbours, and compare sentences by dot product and cosine.",
            build=lazy("plugins.embeddings.tab:build"),
            # MiniLM encodes under inference_mode in eval mode, and the word index is read-only.
            parallel=2,
            order=30,
            area="deep-learning",
            preload=("plugins.embeddings.encoding", "sentence_transformers"),
            bench=lazy("plugins.embeddings.bench:cases"),
            # ZeroGPU: the first analogy call may embed the whole vocabulary (seconds on a GPU);
            # the others run the 22 M-parameter encoder on at most 50 short sentences.
            gpu={
                "embeddings_analogy": 60,
                "embeddings_sentences": 10,
                "embeddings_search": 10,
                "embeddings_context": 10,
            },
        )
    )


@hookimpl
def register_exercises(register):
    from plugins.embeddings.exercises import EXERCISES  # records only: no torch until solved

    for exercise in EXERCISES:
        register(exercise)
