"""Our top-k search against sentence-transformers' `semantic_search` over the real word index,
the analogy set's accuracy, and what building and loading the index costs."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import torch
from sentence_transformers import util

from playground.bench import BenchCase, Measure
from playground.concept import Context
from plugins.embeddings import analogies, encoding
from plugins.embeddings import embeddings as ours

K = 10


def _as_tensors(found: list[list[dict]]) -> tuple[torch.Tensor, torch.Tensor]:
    """semantic_search's dicts as (scores, indices), so the bench can compare the outputs."""
    scores = torch.tensor([[hit["score"] for hit in found[0]]])
    return scores, torch.tensor([[hit["corpus_id"] for hit in found[0]]])


def _index_rows(context: Context, device: str) -> list[Measure]:
    """Build the index from nothing into a fresh folder, then load it back from there."""
    model = context.models.get(encoding.MODEL_ID, device)
    folder = Path(tempfile.mkdtemp(prefix="embeddings-bench-"))
    words = encoding.vocabulary(model.tokenizer)

    def build() -> float:
        start = time.perf_counter()
        encoding.load_or_build(model, device, words, folder=folder)
        return round(time.perf_counter() - start, 2)

    def load() -> float:
        index = encoding.load_or_build(model, device, words, folder=folder)
        shutil.rmtree(folder, ignore_errors=True)  # the user's own cache is left alone
        assert not index.built, "the bench's index build left no cache file"
        return round(index.seconds, 3)

    threads = torch.get_num_threads()
    return [
        Measure(f"index build, {len(words):,} words, {threads} CPU thread(s)", build, "s"),
        Measure("index load from its cache file", load, "s", target="value <= 1.0"),
    ]


def cases(context: Context) -> list[BenchCase | Measure]:
    device = context.device()
    index = encoding.shared_index(context)
    n = len(index.words)
    rows = [index.rows[w] for w in ("king", "man", "woman")]
    query = ours.combine(index.unit[rows], torch.tensor([1.0, -1.0, 1.0], device=index.unit.device))

    def search():
        return ours.top_k(query[None], index.unit, K, "cosine", corpus_norms=index.unit_norms)

    found = [
        BenchCase(
            f"top-{K} cosine search over {n:,} words",
            search,
            "util.semantic_search",
            lambda: _as_tensors(util.semantic_search(query[None], index.unit, top_k=K)),
            target="ratio <= 1.0",
        ),
        BenchCase(f"top-{K} cosine search over {n:,} words, ours", search, target="ours_ms <= 10"),
    ]
    for exclude in (True, False):
        how = "inputs excluded" if exclude else "inputs allowed"
        result = {}

        def accuracy(field: str, exclude=exclude, result=result) -> float:
            if not result:  # one evaluation gives both figures
                result["acc"] = analogies.evaluate(index, exclude)
            return round(100 * getattr(result["acc"], field), 1)

        count = len(analogies.items())
        found += [
            Measure(f"analogy top-1, {how} ({count} items)", lambda a=accuracy: a("top1"), "%"),
            Measure(f"analogy top-5, {how} ({count} items)", lambda a=accuracy: a("top5"), "%"),
        ]
    return found + _index_rows(context, device)
