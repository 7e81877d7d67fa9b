"""Our from-scratch softmax family against torch's fused kernels, on a GPT-2-sized vocabulary.

The targets are for the readable version, which writes softmax as the formula's steps: max,
subtract, exp, sum, divide, each one pass over the logits. torch's kernel does the same work in
about three passes over a row while it sits in cache. exp is most of the work on both sides, so
the extra passes cost a bounded factor: at most 2x in float32. In float16 ours also upcasts to
float32 and casts back, two more passes over the whole tensor, so it gets 3x. Both sides are
called the same way, on the same tensors, and return the same dtype: the ratio is the price of
readability, not of the harness.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from playground.bench import BenchCase
from playground.concept import Context
from plugins.softmax import softmax as ours

VOCAB = 50_257  # GPT-2's vocabulary: one row of logits per next-token prediction
BATCHES = (1, 64)
FLOAT32_TARGET = "ratio <= 2.0"  # five passes against a fused kernel's three, exp on both sides
FLOAT16_TARGET = "ratio <= 3.0"  # and the upcast to float32 and the cast back


def cases(context: Context) -> list[BenchCase]:
    device = context.device()
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
                target=FLOAT32_TARGET,
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
            target=FLOAT32_TARGET,
        ),
        BenchCase(
            f"cross_entropy 64x{VOCAB}",
            lambda: ours.cross_entropy(logits, target),
            "F.cross_entropy",
            lambda: F.cross_entropy(logits, target),
            target=FLOAT32_TARGET,
        ),
        BenchCase(
            f"softmax fp16 64x{VOCAB}",
            lambda: ours.softmax(half),
            "torch.softmax",
            lambda: torch.softmax(half, -1),
            target=FLOAT16_TARGET,
        ),
    ]
    return found
