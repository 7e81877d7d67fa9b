"""4-bit NormalFloat (NF4) layers: the frozen base of QLoRA, stored in half a byte a weight.

Reference: Dettmers et al. 2023, "QLoRA: Efficient Finetuning of Quantized LLMs" (arXiv
2305.14314), section 3: NF4's 16 levels are quantiles of N(0, 1) rescaled to [−1, 1] (with an
exact 0), and each block of 64 weights is scaled by its absolute maximum before it is rounded
to the nearest level. The NF4 math itself lives once, in the Quantization concept
(`plugins/quantization/nf4.py`: `nf4_quantize`, `nf4_dequantize`, checked there against
bitsandbytes' `quantize_4bit(quant_type="nf4")`); this module turns it into a frozen linear
layer. Not done here: double quantization of the block scales (QLoRA section 3, another ~0.37
bit a weight; the Quantization tab shows it).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from plugins.quantization.nf4 import NF4_BLOCK as BLOCK
from plugins.quantization.nf4 import nf4_dequantize, nf4_quantize

BITS_PER_WEIGHT = 4 + 32 / BLOCK  # 4-bit codes plus one float32 scale per block: 4.5 bits


class NF4Linear(nn.Module):
    """A frozen linear layer whose weight is kept in NF4 and dequantized for each forward.

    Any weight size works: as in bitsandbytes, the last block is shorter when the size is not a
    multiple of ``block``."""

    def __init__(self, linear: nn.Linear, block: int = BLOCK) -> None:
        super().__init__()
        self.in_features, self.out_features, self.block = (
            linear.in_features,
            linear.out_features,
            block,
        )
        self.shape = linear.weight.shape
        packed, absmax = nf4_quantize(linear.weight, block)
        self.register_buffer("packed", packed)
        self.register_buffer("absmax", absmax)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone())

    @property
    def weight(self) -> Tensor:
        return nf4_dequantize(self.packed, self.absmax, self.shape, self.block)

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
