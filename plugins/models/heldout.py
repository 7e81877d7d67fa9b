"""The held-out text both bundled language models are measured on, and how they are measured.

The model cards, the MoE tab and the quantization tab all report perplexity on this text, so
it is computed in one place: non-overlapping SEQ_LEN-token windows, eval mode, no gradients.
"""

from __future__ import annotations

import math

import torch

from plugins.models.language import load_tokenizer
from plugins.models.paths import HELDOUT

SEQ_LEN = 128  # the training context; the evaluation windows have the same length


def encode_lines(text: str) -> torch.Tensor:
    """Every paragraph followed by the end-of-text token, as one long stream of ids."""
    tok = load_tokenizer()
    ids: list[int] = []
    for line in text.splitlines():
        if line.strip():
            ids += tok(line)["input_ids"] + [tok.eos_token_id]
    return torch.tensor(ids, dtype=torch.long)


def heldout_ids() -> torch.Tensor:
    return encode_lines(HELDOUT.read_text(encoding="utf-8"))


@torch.no_grad()
def evaluate(model, ids: torch.Tensor, batch: int = 64) -> dict[str, float]:
    """Held-out perplexity and mean next-token entropy, over non-overlapping windows."""
    model.eval()
    n = (len(ids) - 1) // SEQ_LEN
    x = ids[: n * SEQ_LEN].view(n, SEQ_LEN)  # (N, T)
    y = ids[1 : n * SEQ_LEN + 1].view(n, SEQ_LEN)  # (N, T), shifted by one
    nll = entropy = 0.0
    for i in range(0, n, batch):
        logits = model(input_ids=x[i : i + batch]).logits.float()  # (B, T, V)
        log_p = torch.log_softmax(logits, -1)
        nll += -log_p.gather(-1, y[i : i + batch, :, None]).sum().item()
        entropy += -(log_p.exp() * log_p).sum().item()
    tokens = n * SEQ_LEN
    return {
        "perplexity": math.exp(nll / tokens),
        "entropy_nats": entropy / tokens,
        "tokens": tokens,
    }


def perplexity(model, ids: torch.Tensor) -> float:
    """exp(mean next-token negative log-likelihood) over the windows of ``ids``."""
    return evaluate(model, ids)["perplexity"]
