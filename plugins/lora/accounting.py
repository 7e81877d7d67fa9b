"""What fine-tuning costs in parameters and memory: computed from the shapes, and measured.

Per parameter in float32 with Adam: 4 bytes of weight, 4 of gradient, 8 of optimizer state
(the first and second moments). A full fine-tune pays all three for every weight; LoRA pays
the weight for the frozen base and the other two only for A and B; QLoRA also stores the
frozen linear layers in NF4 (4.5 bits a weight with its block scales, see nf4.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from plugins.lora.nf4 import BITS_PER_WEIGHT

FP32, ADAM = 4, 8  # bytes per value: a float32, Adam's two float32 moments


@dataclass(frozen=True)
class Budget:
    method: str
    trainable: int  # parameters that get a gradient
    weights: int  # bytes
    gradients: int
    optimizer: int

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer


def lora_parameters(model: nn.Module, targets: list[str], rank: int) -> int:
    """r (k + d) per targeted k → d linear layer: A is r × k, B is d × r."""
    return sum(
        rank * (m.in_features + m.out_features)
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) and n.rsplit(".", 1)[-1] in targets
    )


def budgets(model: nn.Module, targets: list[str], rank: int) -> list[Budget]:
    """Full fine-tune, LoRA and QLoRA, from the model's shapes (float32, Adam)."""
    total = sum(p.numel() for p in model.parameters())
    adapter = lora_parameters(model, targets, rank)
    # QLoRA quantizes the decoder's linear layers; embeddings, norms and the head stay float32
    linear = sum(
        m.weight.numel()
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) and not n.endswith("lm_head")
    )
    nf4_bytes = int(linear * BITS_PER_WEIGHT / 8) + (total - linear) * FP32
    return [
        Budget("full fine-tune", total, total * FP32, total * FP32, total * ADAM),
        Budget("LoRA", adapter, (total + adapter) * FP32, adapter * FP32, adapter * ADAM),
        Budget(
            "QLoRA (NF4 base)", adapter, nf4_bytes + adapter * FP32, adapter * FP32, adapter * ADAM
        ),
    ]


def _bytes(tensors) -> int:
    seen, size = set(), 0
    for t in tensors:
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:  # tied weights (embedding = head) count once
            seen.add(storage.data_ptr())
            size += storage.nbytes()
    return size


def measured(model: nn.Module, optimizer: torch.optim.Optimizer) -> Budget:
    """The bytes really held after a step: parameters and buffers, gradients, optimizer state."""
    weights = _bytes([*model.parameters(), *model.buffers()])
    grads = _bytes(p.grad for p in model.parameters() if p.grad is not None)
    state = _bytes(
        v for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v) and v.dim()
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Budget("measured", trainable, weights, grads, state)
