"""Our from-scratch softmax family against torch's fused kernels, on a GPT-2-sized vocabulary."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from playground.bench import BenchCase
from plugins.softmax import softmax as ours

VOCAB = 50_257  # GPT-2's vocabulary: one row of logits per next-token prediction
BATCHES = (1, 64)


def cases(device: str) -> list[BenchCase]:
    gen = torch.Generator().manual_seed(0)
    found = []
    for batch in BATCHES:
        logits = (torch.randn(batch, VOCAB, generator=gen) * 4).to(device)
        found.append(
            BenchCase(
                f"softmax {batch}x{VOCAB}",
                lambda x=logits: ours.softmax(x),
                "torch.softmax",
                lambda x=logits: torch.softmax(x, -1),
            )
        )
    logits = (torch.randn(64, VOCAB, generator=gen) * 4).to(device)
    half = logits.half()
    target = torch.randint(VOCAB, (64,), generator=gen).to(device)
    found += [
        BenchCase(
            f"log_softmax 64x{VOCAB}",
            lambda: ours.log_softmax(logits),
            "torch.log_softmax",
            lambda: torch.log_softmax(logits, -1),
        ),
        BenchCase(
            f"cross_entropy 64x{VOCAB}",
            lambda: ours.cross_entropy(logits, target),
            "F.cross_entropy",
            lambda: F.cross_entropy(logits, target),
        ),
        BenchCase(
            f"softmax fp16 64x{VOCAB}",
            lambda: ours.softmax(half),
            "torch.softmax",
            lambda: torch.softmax(half, -1),
        ),
    ]
    return found
