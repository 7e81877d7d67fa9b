"""The mapping lab's numbers, and a script that recomputes them with the public libraries:
torchao for int8 / int4 / int2, bitsandbytes for NF4, torch for FP8. No gradio here: views.py
hands them over as an Export."""

from __future__ import annotations

from typing import Any

SNIPPET = '''"""The Quantization tab's mapping lab, recomputed with {library}.

An ML Playground export: it prints the numbers on screen as JSON.
"""
import json
import math

import torch
from transformers import AutoModelForCausalLM

source, layer, matrix = {source!r}, {layer!r}, {matrix!r}
outliers, outlier_size, seed = {outliers!r}, {scale!r}, {seed!r}
fmt, symmetric, granularity, group = {fmt!r}, {symmetric!r}, {granularity!r}, {group!r}

model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32)
part = model.model.layers[layer]
part = part.self_attn if matrix in ("q_proj", "k_proj", "v_proj", "o_proj") else part.mlp
w = getattr(part, matrix).weight.detach().float()
gen = torch.Generator().manual_seed(seed)  # the lab's matrix: real, or drawn, then outliers
if source == "Gaussian":
    w = torch.randn(w.shape, generator=gen) * w.std()
elif source.startswith("Laplace"):
    u = torch.rand(w.shape, generator=gen) - 0.5
    w = -w.std() / math.sqrt(2) * u.sign() * torch.log1p(-2 * u.abs())
else:
    w = w.clone()
if outliers:
    where = torch.randperm(w.numel(), generator=gen)[:outliers]
    signs = torch.randint(0, 2, (outliers,), generator=gen) * 2 - 1
    w.view(-1)[where] = signs * outlier_size * w.abs().max()

# each row of `rows` shares one scale
rows = {{"tensor": w.reshape(1, -1), "channel": w, "group": w.reshape(-1, group)}}[granularity]
worst = int(rows.abs().amax(-1).argmax())  # the block with the largest |w|, as on screen
zero_point = None
{method}
diff = (w - w_hat.reshape(w.shape)).reshape(-1)
noise, signal = diff.pow(2).sum().item(), w.pow(2).sum().item()
print(json.dumps({{
    "mse": diff.pow(2).mean().item(),
    "max_error": diff.abs().max().item(),
    "snr_db": 10 * math.log10(max(signal, 1e-30) / noise),
    "scale": scale,
    "zero_point": zero_point,
    "block": worst,
}}))
'''

TORCHAO = """from torchao.quantization.quant_primitives import (
    MappingType, choose_qparams_affine, dequantize_affine, quantize_affine,
)

bits = {"int8": 8, "int4": 4, "int2": 2}[fmt]
if symmetric:  # a balanced grid, -(2^(b-1) - 1)..2^(b-1) - 1: the scale is absmax / q_max
    q_max = 2 ** (bits - 1) - 1
    mapping, dtype, q_min = MappingType.SYMMETRIC, torch.int8, -q_max
else:
    mapping, dtype, q_min, q_max = MappingType.ASYMMETRIC, torch.uint8, 0, 2**bits - 1
size = (1, rows.shape[1])  # torchao's block: one row of `rows`
s, z = choose_qparams_affine(rows, mapping, size, dtype, q_min, q_max)
codes = quantize_affine(rows, size, s, z, dtype, q_min, q_max)
w_hat = dequantize_affine(codes, size, s, z, dtype, q_min, q_max)
scale = s.reshape(-1)[worst].item()
if not symmetric:
    zero_point = int(z.reshape(-1)[worst])"""

BITSANDBYTES = """import bitsandbytes.functional as bnb

length = rows.shape[1]
size = next((b for b in (32, 64, 128, 256, 512, 1024, 2048, 4096) if b >= length), None)
if size is None:  # one block longer than bitsandbytes' largest: its NF4 code book, torch rounds
    code = bnb.get_4bit_type("nf4", device="cpu")
    absmax = rows.abs().amax(-1, keepdim=True)  # double quantization keeps one scale exact
    w_hat = code[torch.bucketize(rows * (1 / absmax), (code[:-1] + code[1:]) / 2)] * absmax
else:  # each row padded with zeros to a block size bitsandbytes takes: no absmax changes
    padded = torch.nn.functional.pad(rows, (0, size - length))
    packed, state = bnb.quantize_4bit(
        padded, blocksize=size, quant_type="nf4", compress_statistics=True
    )
    w_hat = bnb.dequantize_4bit(packed, state)[:, :length]
scale = w_hat[worst].abs().max().item()  # the block's largest |w| lands on level +-1"""

TORCH_FP8 = """dtype = {"fp8-e4m3": torch.float8_e4m3fn, "fp8-e5m2": torch.float8_e5m2}[fmt]
s = (rows.abs().amax(-1, keepdim=True) / torch.finfo(dtype).max).clamp_min(1e-12)
w_hat = (rows / s).to(dtype).float() * s  # round to the nearest FP8 value, scale back
scale = s[worst].item()"""


# who checks each format's script: bitsandbytes for NF4, torch for FP8, torchao for the rest
LIBRARIES = {
    "nf4": ("bitsandbytes", BITSANDBYTES),
    "fp8-e4m3": ("torch", TORCH_FP8),
    "fp8-e5m2": ("torch", TORCH_FP8),
}


def numbers(q: Any, err: Any, worst: int) -> dict[str, Any]:
    """The lab's errors, and the scale (and zero-point) of the block with the largest |w|."""
    zero_point = None if q.zero_point is None else int(q.zero_point[worst, 0])
    return {
        "mse": err.mse,
        "max_error": err.max_abs,
        "snr_db": err.snr_db,
        "scale": float(q.scale[worst, 0]),
        "zero_point": zero_point,
        "block": worst,
    }


def snippet(scheme: Any, inputs: dict[str, Any], path: str) -> str:
    """The script for ``scheme`` on the lab's matrix (``inputs``: its checked controls)."""
    library, method = LIBRARIES.get(scheme.format, ("torchao", TORCHAO))
    return SNIPPET.format(
        library=library,
        method=method,
        path=path,
        fmt=scheme.format,
        symmetric=scheme.symmetric,
        granularity=scheme.granularity,
        group=scheme.group_size,
        **inputs,
    )
