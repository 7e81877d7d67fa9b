"""Reading a real Mixtral's routing: each layer's router logits, and its MoE block's input and
output, through forward hooks; then the same inputs through our own layer (moe.from_mixtral)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from plugins.models.hooks import this_thread
from plugins.moe import moe


@dataclass(frozen=True)
class Layer:
    logits: Tensor  # (T, E) the model's router logits, as output_router_logits returns them
    x: Tensor  # (T, d) what the MoE block read (after the layer's RMSNorm)
    y: Tensor  # (T, d) what the block wrote


@dataclass(frozen=True)
class Check:
    logits_err: float  # max |ours - model| over every layer's router logits
    output_err: float  # the same for the blocks' outputs
    choices_agree: float  # share of (token, layer) whose top-k set is the same as the model's


def moe_blocks(model) -> list[torch.nn.Module]:
    return [layer.mlp for layer in model.model.layers]


@torch.no_grad()
def capture(model, input_ids: Tensor) -> list[Layer]:
    """One forward of a MixtralForCausalLM on (1, T) ids."""
    seen: list[tuple[Tensor, Tensor]] = []

    def hook(_module, args, output):
        seen.append((args[0][0].float(), output[0].float()))  # batch 1: (T, d) each

    handles = [block.register_forward_hook(this_thread(hook)) for block in moe_blocks(model)]
    try:
        out = model(input_ids=input_ids, output_router_logits=True, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return [Layer(lg.float(), x, y) for lg, (x, y) in zip(out.router_logits, seen, strict=True)]


@torch.no_grad()
def check(model, layers: list[Layer]) -> Check:
    """Our from-scratch layer, holding each block's weights, on the inputs that block read."""
    logits_err = output_err = 0.0
    agree = total = 0
    for block, layer in zip(moe_blocks(model), layers, strict=True):
        ours = moe.from_mixtral(block)(layer.x)
        logits_err = max(logits_err, (ours.routing.logits - layer.logits).abs().max().item())
        output_err = max(output_err, (ours.y - layer.y).abs().max().item())
        theirs = layer.logits.topk(block.top_k, dim=-1).indices.sort(-1).values
        agree += (ours.routing.experts.sort(-1).values == theirs).all(-1).sum().item()
        total += theirs.shape[0]
    return Check(logits_err, output_err, agree / total)
