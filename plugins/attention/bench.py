"""Our attention against torch's fused scaled_dot_product_attention, and the tab's grid."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from playground.bench import BenchCase
from playground.concept import Context
from plugins.attention import attention as ours

SHAPES = ((1, 8, 256, 64), (8, 12, 512, 64))  # (B, H, T, D)
GRID_TOKENS = 64
# Words MiniLM keeps whole, so the text is GRID_TOKENS tokens with [CLS] and [SEP].
# fmt: off
WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "the", "dog", "ran", "to", "park"]
# fmt: on


def grid_text(tokens: int = GRID_TOKENS) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 2))


def _grid_case(context: Context) -> BenchCase:
    from plugins.attention import tab, views  # gradio: only when the bench runs

    text = grid_text()
    on_grid = tab.events(context).grid  # the tab's handler, as its build binds it

    def full_grid():
        views.clear_cache()  # time the model run too, not a cached capture
        return on_grid(text, "minilm", 0, 0, 1)

    return BenchCase(
        f"full grid handler, MiniLM, {GRID_TOKENS} tokens", full_grid, target="ours_ms <= 300"
    )


def cases(context: Context) -> list[BenchCase]:
    device = context.device()
    gen = torch.Generator().manual_seed(0)
    found = []
    for b, h, t, d in SHAPES:
        q, k, v = (torch.randn(b, h, t, d, generator=gen).to(device) for _ in range(3))
        for causal in (False, True):
            found.append(
                BenchCase(
                    f"attention B={b} H={h} T={t} D={d}{' causal' if causal else ''}",
                    lambda q=q, k=k, v=v, c=causal: ours.attention_fast(q, k, v, causal=c),
                    "F.scaled_dot_product_attention",
                    lambda q=q, k=k, v=v, c=causal: F.scaled_dot_product_attention(
                        q, k, v, is_causal=c
                    ),
                    target="ratio <= 1.3",
                )
            )
    return [*found, _grid_case(context)]
