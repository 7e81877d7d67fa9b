"""Transfer learning: a pretrained encoder's features under a new linear head, against the same
head on random features and against fine-tuning every weight.

Reference: Yosinski et al. 2014, "How transferable are features in deep neural networks?";
the encoder is all-MiniLM-L6-v2 (sentence-transformers), mean-pooled. The labelled set is
data.labelled_set: its test sentences use words the training sentences never do.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from plugins.lora.data import TOPICS, labelled_set
from plugins.models.seeding import seeded

HEAD_STEPS = 300  # full-batch Adam on the head: 240 × 384 features, milliseconds a step
HEAD_LR = 1e-2
FINETUNE_EPOCHS = 1  # 22.7 M weights with AdamW: ~1 s a step on a CPU; 96.9% at seed 0
FINETUNE_BATCH = 24
FINETUNE_LR = 2e-4


@dataclass(frozen=True)
class Result:
    method: str
    accuracy: float  # on the held-out test sentences
    seconds: float  # training, features included
    trainable: int  # parameters that got a gradient


def _features(encoder: Any, sentences: list[str]) -> Tensor:
    # encode runs in inference mode; a clone is an ordinary tensor autograd can use
    return encoder.encode(sentences, convert_to_tensor=True, batch_size=64).float().cpu().clone()


def _head(gen: torch.Generator, dim: int) -> nn.Linear:
    head = nn.Linear(dim, len(TOPICS))
    with torch.no_grad():
        bound = dim**-0.5
        head.weight.uniform_(-bound, bound, generator=gen)
        head.bias.zero_()
    return head


def train_head(x: Tensor, y: Tensor, gen: torch.Generator) -> nn.Linear:
    head = _head(gen, x.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=HEAD_LR)
    for _ in range(HEAD_STEPS):
        opt.zero_grad()
        F.cross_entropy(head(x), y).backward()
        opt.step()
    return head


def accuracy(logits: Tensor, y: Tensor) -> float:
    return (logits.argmax(-1) == y).float().mean().item()


def linear_probe(encoder: Any, method: str, seed: int) -> Result:
    """A head on frozen features: only the head's 384 × 4 + 4 weights learn."""
    train, test = labelled_set()
    gen = torch.Generator().manual_seed(seed)
    began = time.perf_counter()
    x = _features(encoder, [s for s, _ in train])
    y = torch.tensor([label for _, label in train])
    head = train_head(x, y, gen)
    seconds = time.perf_counter() - began
    with torch.no_grad():
        logits = head(_features(encoder, [s for s, _ in test]))
    y_test = torch.tensor([label for _, label in test])
    trainable = sum(p.numel() for p in head.parameters())
    return Result(method, accuracy(logits, y_test), seconds, trainable)


def random_encoder(encoder: Any, seed: int) -> Any:
    """The same architecture with every weight drawn afresh: no pretraining left."""
    fresh = copy.deepcopy(encoder)
    with seeded(seed):
        for module in fresh.modules():
            if hasattr(module, "reset_parameters") and module is not fresh:
                module.reset_parameters()
    return fresh.eval()


def _encode(encoder: Any, sentences: list[str]) -> Tensor:
    device = next(encoder.parameters()).device
    features = {
        k: v.to(device) if torch.is_tensor(v) else v
        for k, v in encoder.preprocess(sentences).items()
    }
    return encoder(features)["sentence_embedding"]  # (B, 384), with gradients


def full_finetune(encoder: Any, seed: int, epochs: int = FINETUNE_EPOCHS) -> Result:
    """Every weight of a copy of the encoder, and the head, learn end to end."""
    train, test = labelled_set()
    gen = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(encoder).train()
    head = _head(gen, model.get_embedding_dimension()).to(next(model.parameters()).device)
    params = [*model.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=FINETUNE_LR)
    began = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(train), generator=gen).tolist()
        for i in range(0, len(order), FINETUNE_BATCH):
            batch = [train[j] for j in order[i : i + FINETUNE_BATCH]]
            y = torch.tensor([label for _, label in batch], device=head.weight.device)
            logits = head(_encode(model, [s for s, _ in batch]))
            opt.zero_grad()
            F.cross_entropy(logits, y).backward()
            opt.step()
    seconds = time.perf_counter() - began
    model.eval()
    with torch.no_grad():
        logits = head(_encode(model, [s for s, _ in test])).cpu()
    y_test = torch.tensor([label for _, label in test])
    trainable = sum(p.numel() for p in params)
    steps = epochs * -(-len(train) // FINETUNE_BATCH)
    method = f"fine-tune everything ({epochs} epoch{'s' * (epochs > 1)}, {steps} AdamW steps)"
    return Result(method, accuracy(logits, y_test), seconds, trainable)


def compare(encoder: Any, seed: int, epochs: int = FINETUNE_EPOCHS) -> list[Result]:
    head = f"linear head ({HEAD_STEPS} steps)"
    return [
        linear_probe(encoder, f"frozen MiniLM + {head}", seed),
        linear_probe(random_encoder(encoder, seed), f"random features + {head}", seed),
        full_finetune(encoder, seed, epochs),
    ]
