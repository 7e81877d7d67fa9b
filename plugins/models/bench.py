"""Greedy decoding: our plain loop over the model's forward pass against `model.generate`."""

from __future__ import annotations

import torch

from playground.bench import BenchCase
from playground.models import LanguageModel

PROMPT = "Once upon a time, the queen"
NEW_TOKENS = 64


@torch.no_grad()
def greedy(model, input_ids: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """Append the most likely next token ``new_tokens`` times, reusing the key/value cache."""
    out = model(input_ids=input_ids, use_cache=True)
    tokens = [input_ids]
    for _ in range(new_tokens):
        next_id = out.logits[:, -1].argmax(-1, keepdim=True)  # (B, 1)
        tokens.append(next_id)
        out = model(input_ids=next_id, cache=out.cache, use_cache=True)
    return torch.cat(tokens, dim=1)  # (B, T + new_tokens)


def cases(lm: LanguageModel, device: str) -> list[BenchCase]:
    ids = lm.tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(device)

    def reference() -> torch.Tensor:
        return lm.model.generate(
            ids,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=lm.tokenizer.eos_token_id,
        )

    return [
        BenchCase(
            f"greedy {NEW_TOKENS} tokens",
            lambda: greedy(lm.model, ids, NEW_TOKENS),
            "model.generate",
            reference,
        )
    ]
