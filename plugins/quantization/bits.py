"""The bit-level pieces every quantization format here shares: a block's absmax, and codes
narrower than a byte packed into bytes.

`absmax` is where symmetric int scales and the code books' scales (NF4, the dynamic 8-bit map)
start from. `pack_4bit` / `unpack_4bit` store int4 and NF4 codes two to a byte, high nibble first
(bitsandbytes' order); `pack_2bit` / `unpack_2bit` store int2 codes four to a byte. Both
quantization.py (the schemes: int, FP8, and quantize / dequantize) and nf4.py (NF4 and double
quantization) build on these, so they live below both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def absmax(b: Tensor) -> Tensor:
    """max |x| per row of ``b``, (rows, 1): max(max x, −min x) reads ``b`` twice and writes no
    |b| temporary; the values are exactly those of ``b.abs().amax(-1)``."""
    return torch.maximum(b.amax(-1, keepdim=True), b.amin(-1, keepdim=True).neg_())


# -- 4-bit and 2-bit packing ----------------------------------------------------------------


def pack_4bit(u: Tensor, pad: int = 0) -> Tensor:
    """Two 4-bit codes per byte, the first in the high nibble (bitsandbytes' order); an odd
    count ends with ``pad`` in the last low nibble."""
    u = u.reshape(-1).to(torch.uint8)
    if u.numel() % 2:
        u = F.pad(u, (0, 1), value=pad)
    return (u[0::2] << 4) | u[1::2]


def unpack_4bit(packed: Tensor, count: int) -> Tensor:
    """The first ``count`` 4-bit codes, as uint8 values 0..15."""
    out = torch.empty(2 * packed.numel(), dtype=torch.uint8, device=packed.device)
    torch.bitwise_right_shift(packed, 4, out=out[0::2])
    torch.bitwise_and(packed, 0xF, out=out[1::2])
    return out[:count]


def pack_2bit(u: Tensor) -> Tensor:
    """Four 2-bit codes per byte, the first in the highest bits."""
    u = u.reshape(-1).to(torch.uint8)
    if u.numel() % 4:
        u = F.pad(u, (0, -u.numel() % 4))
    u = u.view(-1, 4)
    return (u[:, 0] << 6) | (u[:, 1] << 4) | (u[:, 2] << 2) | u[:, 3]


def unpack_2bit(packed: Tensor, count: int) -> Tensor:
    """The first ``count`` 2-bit codes, as uint8 values 0..3."""
    out = torch.empty(packed.numel(), 4, dtype=torch.uint8, device=packed.device)
    for i, shift in enumerate((6, 4, 2, 0)):
        torch.bitwise_and(packed >> shift, 3, out=out[:, i])
    return out.view(-1)[:count]
