"""4-bit NormalFloat (NF4) from scratch: the frozen base of QLoRA, stored in half a byte a weight.

Reference: Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs" (arXiv
2305.14314), section 3: NF4's 16 levels are quantiles of N(0, 1) rescaled to [−1, 1] (with an
exact 0), and each block of 64 weights is scaled by its absolute maximum before it is rounded
to the nearest level. bitsandbytes' `quantize_4bit(quant_type="nf4")` is the library version;
tests check that ours gives the same levels and the same dequantized weights. Not done here:
double quantization of the block scales (QLoRA section 3, saves another ~0.37 bit a weight).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

BLOCK = 64  # weights per absmax scale, as in QLoRA and bitsandbytes' default
# NF4's levels, as QLoRA's appendix and bitsandbytes list them
# fmt: off
LEVELS = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)
# fmt: on
BITS_PER_WEIGHT = 4 + 32 / BLOCK  # 4-bit codes plus one float32 scale per block: 4.5 bits


def levels(device: torch.device | str = "cpu") -> Tensor:
    return torch.tensor(LEVELS, device=device)


def quantize(weight: Tensor, block: int = BLOCK) -> tuple[Tensor, Tensor]:
    """(packed uint8 codes, two per byte, first in the high nibble; float32 absmax per block)."""
    flat = weight.detach().float().reshape(-1, block)  # (n / block, block)
    absmax = flat.abs().amax(dim=1)  # (n / block,)
    scaled = flat / absmax.clamp_min(torch.finfo(torch.float32).tiny)[:, None]  # in [−1, 1]
    # nearest level: the midpoints between sorted levels are the decision thresholds
    mids = (levels(weight.device)[1:] + levels(weight.device)[:-1]) / 2
    codes = torch.bucketize(scaled, mids).to(torch.uint8).reshape(-1, 2)  # (n / 2, 2)
    return (codes[:, 0] << 4) | codes[:, 1], absmax


def dequantize(packed: Tensor, absmax: Tensor, shape: torch.Size, block: int = BLOCK) -> Tensor:
    """W ≈ level[code] · absmax of its block, in float32."""
    codes = torch.stack([packed >> 4, packed & 0x0F], dim=1).reshape(-1, block).long()
    return (levels(packed.device)[codes] * absmax[:, None]).reshape(shape)


class NF4Linear(nn.Module):
    """A frozen linear layer whose weight is kept in NF4 and dequantized for each forward."""

    def __init__(self, linear: nn.Linear, block: int = BLOCK) -> None:
        super().__init__()
        if linear.weight.numel() % block:
            raise ValueError(f"NF4 needs the weight's size to be a multiple of {block}")
        self.in_features, self.out_features, self.block = (
            linear.in_features,
            linear.out_features,
            block,
        )
        self.shape = linear.weight.shape
        packed, absmax = quantize(linear.weight, block)
        self.register_buffer("packed", packed)
        self.register_buffer("absmax", absmax)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())

    @property
    def weight(self) -> Tensor:
        return dequantize(self.packed, self.absmax, self.shape, self.block)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight.to(x.dtype), self.bias)


def quantize_linears(model: nn.Module, skip: tuple[str, ...] = ("lm_head",)) -> int:
    """Replace every nn.Linear (but those named in ``skip``) with an NF4Linear; bytes saved."""
    saved = 0
    for name, module in list(model.named_modules()):
        if type(module) is nn.Linear and name.rsplit(".", 1)[-1] not in skip:
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, NF4Linear(module))
            saved += int(module.weight.numel() * (4 - BITS_PER_WEIGHT / 8))
    return saved
