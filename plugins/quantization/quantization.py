"""Quantization from scratch: map float weights to a few bits, and back.

Every scheme here is the same three steps on blocks of numbers that share one scale:

    1. choose a scale s (and a zero-point z) per block           the *granularity*: one block per
       tensor, per output channel (row), or per group of g inputs
    2. q = clamp(round(x / s) + z, q_min, q_max)                  the *mapping*: an integer grid
       (int8, int4, int2) or a fixed code book (NF4, FP8) of levels
    3. x̂ = (q − z) · s                                            dequantize: the value the
                                                                  quantized model computes with

Symmetric (absmax) mapping puts 0 on the grid with z = 0 and s = max|x| / q_max; asymmetric
(min/max) spends the whole grid on [min, max] (always widened to hold 0, so that 0 stays exact,
as PyTorch's observers and torchao do). References: Jacob et al. 2018 ("Quantization and
Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference"), Dettmers et al.
2022 ("LLM.int8()") for mixed precision, Dettmers et al. 2023 ("QLoRA") for NF4 and double
quantization, Micikevicius et al. 2022 ("FP8 Formats for Deep Learning") for e4m3 / e5m2.
The tests check NF4 against bitsandbytes and int8 / int4 / FP8 against torchao. NF4 and double
quantization live in nf4.py, the absmax and bit packing every format shares in bits.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from plugins.quantization.bits import absmax, pack_2bit, pack_4bit, unpack_2bit, unpack_4bit
from plugins.quantization.limits import FORMATS, GRANULARITIES
from plugins.quantization.nf4 import double_quantize, nf4_dequantize, nf4_levels, nf4_quantize

FP8_DTYPES = {"fp8-e4m3": torch.float8_e4m3fn, "fp8-e5m2": torch.float8_e5m2}
BITS = {"int8": 8, "int4": 4, "int2": 2, "nf4": 4, "fp8-e4m3": 8, "fp8-e5m2": 8}
# the least scale an int or FP8 block gets, so that a block of zeros divides by something: the
# smallest normal float32, torchao's default `eps` in choose_qparams_affine. A larger floor (1e-12)
# would coarsen the grid of a real block whose values are all below ~1e-10.
SCALE_FLOOR = torch.finfo(torch.float32).smallest_normal


@dataclass(frozen=True)
class Scheme:
    """How to quantize one tensor."""

    format: str = "int8"  # one of FORMATS
    symmetric: bool = True  # absmax with z = 0, or min/max with a zero-point (int formats only)
    granularity: str = "channel"  # one scale per tensor, per output row, or per group of inputs
    group_size: int = 64  # inputs per scale when granularity == "group" (must divide the row)
    double_quant: bool = False  # NF4: store the block scales in 8 bits too (QLoRA)

    @property
    def bits(self) -> int:
        return BITS[self.format]


@dataclass(frozen=True)
class Quantized:
    """A quantized tensor: what is stored, and enough to rebuild x̂."""

    codes: Tensor  # int8 values, packed 4-bit pairs (uint8), or a float8 tensor
    scale: Tensor  # (blocks, 1) float32, one per block (dequantized when double-quantized)
    zero_point: Tensor | None  # (blocks, 1) integers, asymmetric mapping only
    shape: tuple[int, ...]  # the original tensor's shape
    scheme: Scheme
    scale_bytes: int  # what the scales really take: 4 per block, or ~1 when double-quantized

    @property
    def nbytes(self) -> int:
        zp = 0 if self.zero_point is None else self.zero_point.numel()  # one byte each
        return self.codes.numel() * self.codes.element_size() + self.scale_bytes + zp


# -- step 1: blocks and scales -----------------------------------------------------------


def blocks(x: Tensor, scheme: Scheme) -> Tensor:
    """View ``x`` as (blocks, block length): each row of the result shares one scale."""
    if scheme.granularity == "tensor":
        return x.reshape(1, -1)
    if scheme.granularity == "channel":
        return x.reshape(x.shape[0], -1)  # (out, in): one row per output channel
    g = scheme.group_size
    if x.shape[-1] % g:
        raise ValueError(f"group size {g} does not divide the row length {x.shape[-1]}")
    return x.reshape(-1, g)  # consecutive inputs of a row, g at a time


def valid_group_sizes(length: int, low: int = 1, high: int | None = None) -> list[int]:
    """Every group size in [low, high] that divides ``length``."""
    high = length if high is None else min(high, length)
    return [g for g in range(low, high + 1) if length % g == 0]


def int_range(bits: int, symmetric: bool) -> tuple[int, int]:
    """The integer grid: symmetric keeps it balanced (int8: −127..127), asymmetric unsigned."""
    if symmetric:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def int_params(b: Tensor, bits: int, symmetric: bool) -> tuple[Tensor, Tensor | None]:
    """Scale (and zero-point) per row of ``b``: absmax / q_max, or (max − min) / (levels − 1)."""
    q_min, q_max = int_range(bits, symmetric)
    if symmetric:
        return (absmax(b) / q_max).clamp_min_(SCALE_FLOOR), None
    lo = b.amin(-1, keepdim=True).clamp_max(0)  # widen to hold 0: zero stays exactly zero
    hi = b.amax(-1, keepdim=True).clamp_min(0)
    scale = ((hi - lo) / (q_max - q_min)).clamp_min(SCALE_FLOOR)
    zero_point = (q_min - torch.round(lo / scale)).clamp(q_min, q_max)
    return scale, zero_point


# -- FP8's code book (NF4's and the dynamic 8-bit map's: nf4.py) --------------------------


def fp8_levels(fmt: str) -> Tensor:
    """Every finite value an FP8 format holds, sorted (from all 256 bit patterns)."""
    every = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(FP8_DTYPES[fmt]).float()
    return every[torch.isfinite(every)].unique()


# -- step 2: quantize, step 3: dequantize ----------------------------------------------------


def check(scheme: Scheme, shape: tuple[int, ...]) -> None:
    """Raise ValueError when ``scheme`` cannot quantize a tensor of ``shape``."""
    if scheme.format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {scheme.format!r}")
    if scheme.granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if not scheme.symmetric and not scheme.format.startswith("int"):
        raise ValueError(
            f"{scheme.format} is a signed code book around 0: it has no zero-point, so only "
            "symmetric (absmax) mapping applies; choose int8, int4 or int2 for asymmetric"
        )
    if scheme.double_quant and scheme.format != "nf4":
        raise ValueError("double quantization of the scales is NF4's (QLoRA); choose nf4")
    if scheme.granularity == "group" and shape[-1] % scheme.group_size:
        raise ValueError(
            f"group size {scheme.group_size} does not divide the row length {shape[-1]}"
        )


def quantize(x: Tensor, scheme: Scheme) -> Quantized:
    """Quantize ``x`` (any shape; rows are its first dimension) with ``scheme``."""
    check(scheme, tuple(x.shape))
    b = blocks(x.detach().float(), scheme)
    fmt, zero_point = scheme.format, None
    if fmt.startswith("int"):
        q_min, q_max = int_range(scheme.bits, scheme.symmetric)
        scale, zero_point = int_params(b, scheme.bits, scheme.symmetric)
        # times one reciprocal per block, as torchao and bitsandbytes do: ties round alike
        q = (b * (1 / scale)).round_()
        if zero_point is not None:
            q += zero_point
        q.clamp_(q_min, q_max)
        if fmt == "int8":
            codes = q.to(torch.uint8 if zero_point is not None else torch.int8)
        else:  # int4 / int2: shift a signed grid (−7..7, −1..1) to start at 0, then pack
            pack = pack_4bit if fmt == "int4" else pack_2bit
            codes = pack(q - q_min if zero_point is None else q)
    elif fmt == "nf4":  # the rows of b are consecutive runs of x: bitsandbytes' blocks
        codes, top = nf4_quantize(b, b.shape[1])
        scale = top.view(-1, 1)
    else:  # FP8: scale the block's absmax onto the format's largest value, then round
        dtype = FP8_DTYPES[fmt]
        scale = (b.abs().amax(-1, keepdim=True) / torch.finfo(dtype).max).clamp_min(SCALE_FLOOR)
        codes = (b / scale).to(dtype)
    scale_bytes = 4 * scale.numel()
    if scheme.double_quant:
        scale, scale_bytes = double_quantize(scale)
    zp = None if zero_point is None else zero_point.to(torch.uint8)  # 0..255 fits a byte
    return Quantized(codes, scale, zp, tuple(x.shape), scheme, scale_bytes)


def integer_codes(q: Quantized) -> Tensor:
    """The stored integers (before − z), shaped like the blocks: unpacked, signed where signed."""
    fmt, n = q.scheme.format, math.prod(q.shape)
    rows = q.scale.shape[0]
    if fmt == "int8":
        return q.codes.reshape(rows, -1)
    if fmt in ("int4", "int2", "nf4"):
        unpack = unpack_2bit if fmt == "int2" else unpack_4bit
        u = unpack(q.codes, n).to(torch.int32).reshape(rows, -1)
        if fmt != "nf4" and q.zero_point is None:
            u = u + int_range(q.scheme.bits, True)[0]  # back from the nibble's 1..15 to −7..7
        return u
    raise ValueError("FP8 stores floats, not integers")


def dequantize(q: Quantized) -> Tensor:
    """x̂: the float tensor the quantized one stands for, in its original shape."""
    fmt = q.scheme.format
    if fmt.startswith("int"):
        codes = integer_codes(q)
        if q.zero_point is None:
            x = codes * q.scale  # int8 times float32 promotes: one pass, no float copy
        else:
            x = codes.float().sub_(q.zero_point).mul_(q.scale)
    elif fmt == "nf4":
        return nf4_dequantize(q.codes, q.scale, q.shape, math.prod(q.shape) // q.scale.shape[0])
    else:
        x = q.codes.reshape(q.scale.shape[0], -1).float() * q.scale
    return x.reshape(q.shape)


def levels(q: Quantized, block: int) -> Tensor:
    """Every value block ``block`` can take after dequantization: the grid on the histogram."""
    fmt, s = q.scheme.format, q.scale[block, 0]
    if fmt.startswith("int"):
        q_min, q_max = int_range(q.scheme.bits, q.scheme.symmetric)
        z = 0.0 if q.zero_point is None else float(q.zero_point[block, 0])
        return (torch.arange(q_min, q_max + 1, dtype=torch.float32) - z) * s
    if fmt == "nf4":
        return nf4_levels() * s
    return fp8_levels(fmt) * s


def fake_quantize(x: Tensor, scheme: Scheme) -> Tensor:
    """x̂ in the forward pass, the identity in the backward pass (the straight-through
    estimator, Bengio et al. 2013): what quantization-aware training trains through."""
    return x + (dequantize(quantize(x, scheme)).to(x.dtype) - x).detach()


# -- how much was lost ---------------------------------------------------------------------


@dataclass(frozen=True)
class Error:
    mse: float
    max_abs: float
    snr_db: float  # 10·log10(Σx² / Σ(x − x̂)²): every 6 dB is one more bit's worth


def error(x: Tensor, x_hat: Tensor) -> Error:
    diff = (x.float() - x_hat.float()).reshape(-1)
    noise = diff.pow(2).sum().item()
    signal = x.float().pow(2).sum().item()
    snr = math.inf if noise == 0 else 10 * math.log10(max(signal, 1e-30) / noise)
    return Error(diff.pow(2).mean().item(), diff.abs().max().item(), snr)


# -- activations: int8 at run time ----------------------------------------------------------


def quantize_activations(x: Tensor, scale: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Symmetric int8 activations: per token (dynamic, scale from this x) or with a fixed
    calibrated per-tensor scale (static; values beyond it clip). Returns (int8, scale)."""
    if scale is None:
        scale = (x.abs().amax(-1, keepdim=True) / 127).clamp_min(SCALE_FLOOR)  # (..., 1)
    return torch.round(x / scale).clamp(-127, 127).to(torch.int8), scale


def int8_matmul(x_q: Tensor, x_scale: Tensor, w_q: Tensor, w_scale: Tensor) -> Tensor:
    """y = (x_q · w_qᵀ) · s_x · s_w: the W8A8 product of integers, rescaled once at the end.

    x_q (..., in) int8; w_q (out, in) int8 per output channel with w_scale (out, 1). The integer
    sums run in float32, where they are exact while |Σ| < 2²⁴ (127² · 1 040 inputs): on CPU
    that is ~30x faster than torch._int_mm's int32 kernel and gives the same integers.
    """
    acc = x_q.to(torch.float32) @ w_q.to(torch.float32).t()  # (..., out) whole numbers
    return acc * x_scale * w_scale.reshape(-1)


def int8_mixed_matmul(x: Tensor, w: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """LLM.int8(): input features where any |x| ≥ threshold stay in float (a small product of
    those columns), the rest go through int8 per token × per channel. Returns (y, outliers).

    x (..., in), w (out, in). ``outliers`` is the boolean mask of the input features kept in
    float; with threshold = inf it is empty and this is plain int8 W8A8.
    """
    flat = x.reshape(-1, x.shape[-1])
    outliers = (flat.abs() >= threshold).any(0)  # (in,)
    keep = ~outliers
    if not keep.any():  # every feature is an outlier: nothing left for int8
        return (flat @ w.t()).reshape(*x.shape[:-1], -1), outliers
    x_q, x_s = quantize_activations(flat[:, keep])
    w_q, w_s = quantize_activations(w[:, keep])  # per output channel: absmax over inputs
    y = int8_matmul(x_q, x_s, w_q, w_s)
    if outliers.any():
        y = y + flat[:, outliers] @ w[:, outliers].t()
    return y.reshape(*x.shape[:-1], -1), outliers


# -- a quantized linear layer ---------------------------------------------------------------


def is_int8_per_channel(scheme: Scheme) -> bool:
    """The scheme whose per-row scale factors out of the matmul: integer products work."""
    return scheme.format == "int8" and scheme.symmetric and scheme.granularity == "channel"


class QuantLinear(torch.nn.Module):
    """nn.Linear with a quantized weight, dequantized on the fly in each forward.

    ``activations``: "none" (weight-only), "dynamic" (int8 per token, scales at run time) or
    "static" (int8 with the fixed per-tensor scale ``act_scale`` from calibration). With int8
    symmetric per-channel weights and int8 activations the product runs in integers
    (`int8_matmul`). ``output`` quantizes what the layer returns (the KV cache: a k or v
    projection's output is what the cache stores), per ``output.group_size`` values per token.
    """

    def __init__(
        self,
        linear: torch.nn.Linear,
        scheme: Scheme | None,
        activations: str = "none",
        act_scale: float | None = None,
        output: Scheme | None = None,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        w = linear.weight.detach()
        self.qweight = None if scheme is None else quantize(w, scheme)
        self.float_weight = w if scheme is None else None
        self.bias = None if linear.bias is None else linear.bias.detach()
        self.activations, self.output = activations, output
        self.act_scale = None
        if act_scale is not None:  # static: the calibrated absmax onto int8's 127
            self.act_scale = torch.tensor(max(act_scale / 127, SCALE_FLOOR), device=w.device)
        self.per_channel_int8 = scheme is not None and is_int8_per_channel(scheme)

    @property
    def nbytes(self) -> int:
        if self.qweight is not None:
            w = self.qweight.nbytes
        else:
            assert self.float_weight is not None  # no scheme: the float weight is kept
            w = 4 * self.float_weight.numel()
        return w + (0 if self.bias is None else 4 * self.bias.numel())

    def weight_hat(self) -> Tensor:
        return self.float_weight if self.qweight is None else dequantize(self.qweight)

    def forward(self, x: Tensor) -> Tensor:
        if self.activations != "none":
            x_q, x_s = quantize_activations(x, self.act_scale)
            if self.per_channel_int8:
                w = self.qweight
                assert w is not None  # per_channel_int8 implies a scheme
                y = int8_matmul(x_q, x_s, w.codes.reshape(self.out_features, -1), w.scale)
                y = y if self.bias is None else y + self.bias
                return self._output(y.to(x.dtype))
            x = x_q.to(x.dtype) * x_s
        elif self.per_channel_int8:
            # int8 per channel: the scale of row o factors out of Σ_i x_i q_oi s_o
            q = self.qweight
            assert q is not None  # per_channel_int8 implies a scheme
            y = F.linear(x, q.codes.to(x.dtype)) * q.scale.reshape(-1).to(x.dtype)
            return self._output(y if self.bias is None else y + self.bias)
        return self._output(F.linear(x, self.weight_hat().to(x.dtype), self.bias))

    def _output(self, y: Tensor) -> Tensor:
        if self.output is None:
            return y
        flat = y.reshape(-1, y.shape[-1])  # (tokens, heads · head_dim): per token, per head
        return dequantize(quantize(flat, self.output)).reshape(y.shape).to(y.dtype)


class FakeQuantLinear(torch.nn.Module):
    """nn.Linear whose forward sees fake-quantized weights: the float weights train, the
    straight-through estimator passes their gradient through the rounding (QAT)."""

    def __init__(self, linear: torch.nn.Linear, scheme: Scheme) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(linear.weight.detach().clone())
        self.bias = None if linear.bias is None else torch.nn.Parameter(linear.bias.detach())
        self.scheme = scheme

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, fake_quantize(self.weight, self.scheme), self.bias)
