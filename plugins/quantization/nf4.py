"""NF4 and double quantization from scratch: QLoRA's 4-bit NormalFloat code book, and the 8-bit
quantization of its block scales.

This is the math of the Quantization concept's "nf4" format (quantization.py's `quantize`
calls `nf4_quantize` for it, and `double_quantize` for ``Scheme(double_quant=True)``). It lives
here once: the LoRA concept's frozen QLoRA base, `plugins/lora/nf4.py` (a layer, not math),
imports `nf4_quantize` and `nf4_dequantize` from this module.

    1. split the weights into blocks of 64 (`NF4_BLOCK`); each block's absmax is its scale
    2. each x / absmax goes to the nearest of 16 levels at quantiles of N(0, 1) (`NF4`)
    3. double quantization: the absmax values, less their mean, go through the signed dynamic
       8-bit code book in blocks of 256, leaving ~0.127 bit a weight for scales instead of 0.5

References: Dettmers et al. 2023 ("QLoRA", section 3 and appendix E) for NF4 and double
quantization, Dettmers 2015 ("8-Bit Approximations for Parallelism in Deep Learning") for the
dynamic code book. The tests check both against bitsandbytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from plugins.quantization.bits import absmax, pack_4bit

NF4_BLOCK = 64  # QLoRA's block: 64 weights share one absmax
DOUBLE_QUANT_BLOCK = 256  # QLoRA's second level: 256 absmax values share one scale
ABSMAX_FLOOR = 1e-38  # bitsandbytes' floor under a code-book block's absmax before dividing by it


# -- the code books: NF4 and the dynamic 8-bit map -----------------------------------------


# NormalFloat4's 16 levels as QLoRA publishes them (appendix E); `normal_float_levels` derives
# them, and the tests check both against bitsandbytes.
# fmt: off
NF4 = (
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
)
# fmt: on


def nf4_levels() -> Tensor:
    return torch.tensor(NF4)


def nf4_pairs() -> Tensor:
    """(256, 2): the two levels a packed byte stands for, high nibble first. Dequantizing is
    then one gather per byte instead of an unpack and a gather per code."""
    levels = nf4_levels()
    return torch.stack([levels.repeat_interleave(16), levels.repeat(16)], -1)


def normal_float_levels() -> Tensor:
    """NormalFloat4: 16 levels at quantiles of N(0, 1), scaled to [−1, 1], with an exact 0.

    8 positive quantiles and 7 negative ones (asymmetric, so that 0 is a level), each taken
    at evenly spaced probabilities from 1 − δ to ½ with δ = ½(1/32 + 1/30) (QLoRA, appendix E):
    each level then carries about the same share of normally distributed weights.
    """
    delta = 0.5 * (1 / 32 + 1 / 30)
    p_pos = torch.linspace(1 - delta, 0.5, 9, dtype=torch.float64)[:-1]
    p_neg = torch.linspace(1 - delta, 0.5, 8, dtype=torch.float64)[:-1]
    normal = torch.special.ndtri
    levels = torch.cat([normal(p_pos), -normal(p_neg), torch.zeros(1, dtype=torch.float64)])
    levels = levels / levels.max()
    return levels.sort().values.float()


def dynamic_levels() -> Tensor:
    """The signed dynamic 8-bit code book (Dettmers 2015) QLoRA uses for its second level.

    Decade i of 10⁻⁶..10⁰ gets a linear run of 2ⁱ mid-points of [0.1, 1] (finer steps for
    larger magnitudes), mirrored for negatives; with 0 and 1 that is 2·127 + 2 = 256 levels.
    """
    values: list[Tensor] = []
    for i in range(7):
        edges = torch.linspace(0.1, 1, 2**i + 1)
        mids = 10.0 ** (i - 6) * (edges[:-1] + edges[1:]) / 2
        values += [mids, -mids]
    values.append(torch.tensor([0.0, 1.0]))
    return torch.cat(values).sort().values


# -- quantize to the nearest level ----------------------------------------------------------


def nearest(x: Tensor, levels: Tensor) -> Tensor:
    """Index of the nearest level (sorted ``levels``): the midpoints are the decision edges.
    A NaN compares below no edge and takes the top level, as in bitsandbytes."""
    levels = levels.to(x.device)
    edges = (levels[:-1] + levels[1:]) / 2
    return torch.bucketize(x, edges)


def _scaled(b: Tensor) -> tuple[Tensor, Tensor]:
    """Each row over its absmax, in [−1, 1], times one reciprocal per block (as bitsandbytes):
    (scaled, absmax). An inf makes its block's reciprocal 0: inf · 0 is NaN, the rest 0."""
    top = absmax(b)
    return b * (1 / top.clamp_min(ABSMAX_FLOOR)), top


def _code_book_quantize(b: Tensor, levels: Tensor) -> tuple[Tensor, Tensor]:
    """absmax per row, then each x / absmax to its nearest level: (indices, absmax)."""
    scaled, top = _scaled(b)
    return nearest(scaled, levels), top


def double_quantize(absmax: Tensor) -> tuple[Tensor, int]:
    """QLoRA's double quantization of the block scales: subtract their mean, then the dynamic
    8-bit code book in blocks of 256. Returns the scales as stored, and their bytes."""
    flat = absmax.reshape(-1)
    offset = flat.mean()
    centred = flat - offset
    pad = -len(centred) % DOUBLE_QUANT_BLOCK
    b = F.pad(centred, (0, pad)).reshape(-1, DOUBLE_QUANT_BLOCK)
    levels = dynamic_levels()
    idx, absmax2 = _code_book_quantize(b, levels)
    restored = (levels.to(idx.device)[idx] * absmax2).reshape(-1)[: len(flat)] + offset
    stored = len(flat) + 4 * absmax2.numel() + 4  # 1 byte a scale, fp32 per 256, the offset
    return restored.reshape(absmax.shape), stored


def nf4_quantize(x: Tensor, block: int = NF4_BLOCK) -> tuple[Tensor, Tensor]:
    """NF4 as bitsandbytes' ``quantize_4bit(quant_type="nf4")`` stores it: ``x`` flattened into
    blocks of ``block`` values (the last one shorter when the size is not a multiple), each over
    its absmax to the nearest NF4 level. Returns (codes two a byte, high nibble first; float32
    absmax per block)."""
    if block < 1:
        raise ValueError(f"the NF4 block size must be a positive whole number, not {block}")
    flat = x.detach().reshape(-1).float()
    n = flat.numel()
    # zeros fill the short last block: they change no absmax, and their codes are dropped
    b = F.pad(flat, (0, -n % block)).view(-1, block)  # (blocks, block)
    scaled, top = _scaled(b)
    codes = nearest(scaled, nf4_levels()).view(-1)[:n]
    return pack_4bit(codes, pad=NF4.index(0.0)), top.view(-1)  # bitsandbytes pads with 0's code


def nf4_dequantize(
    packed: Tensor, absmax: Tensor, shape: Sequence[int], block: int = NF4_BLOCK
) -> Tensor:
    """The float32 tensor of ``shape`` that `nf4_quantize`'s output stands for: level × absmax."""
    n = math.prod(shape)
    pairs = nf4_pairs().to(packed.device).index_select(0, packed.reshape(-1).int())  # (bytes, 2)
    values = pairs.view(-1)[:n]
    if n % block:  # the short last block, padded to a whole row; the padding is cut off below
        values = F.pad(values, (0, -n % block))
    return values.view(-1, block).mul_(absmax.reshape(-1, 1)).view(-1)[:n].view(*shape)
