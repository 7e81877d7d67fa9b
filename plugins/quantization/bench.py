"""Our quantizers against bitsandbytes and torchao on a 2 048 × 2 048 matrix, int8 weight-only
matmul against float32, and the bundled model's size and perplexity per configuration."""

from __future__ import annotations

import torch

from playground.bench import BenchCase, Measure
from playground.concept import Context
from plugins.models.heldout import heldout_ids, perplexity
from plugins.quantization import llm, nf4
from plugins.quantization import quantization as Q

SIZE = 2048
NF4 = Q.Scheme("nf4", granularity="group", group_size=nf4.NF4_BLOCK)
CONFIGS = {  # the per-configuration rows: (recipe, label)
    "int8 per channel": llm.Recipe(Q.Scheme()),
    "int4 per tensor": llm.Recipe(Q.Scheme("int4", granularity="tensor")),
    "int4 asym groups of 32": llm.Recipe(Q.Scheme("int4", False, "group", 32)),
    "nf4 + double quant": llm.Recipe(Q.Scheme("nf4", True, "group", 64, double_quant=True)),
    "fp8-e4m3 per channel": llm.Recipe(Q.Scheme("fp8-e4m3")),
    "W8A8 dynamic": llm.Recipe(Q.Scheme(), "dynamic"),
    "KV cache int4": llm.Recipe(None, kv=Q.Scheme("int4")),
}


def _round_trip(w, scheme):
    return Q.dequantize(Q.quantize(w, scheme))


def _library_cases(w: torch.Tensor) -> list[BenchCase]:
    found = []
    try:
        import bitsandbytes.functional as bnb

        def bnb_nf4():
            packed, state = bnb.quantize_4bit(w, blocksize=nf4.NF4_BLOCK, quant_type="nf4")
            return bnb.dequantize_4bit(packed, state)

        found.append(
            BenchCase(
                f"nf4 quantize+dequantize {SIZE}x{SIZE}",
                lambda: _round_trip(w, NF4),
                "bitsandbytes quantize_4bit+dequantize_4bit",
                bnb_nf4,
                target="ratio <= 1.0",
            )
        )
    except ImportError:
        pass
    try:
        from torchao.quantization.quant_primitives import (
            MappingType,
            choose_qparams_affine,
            dequantize_affine,
            quantize_affine,
        )

        block = (1, SIZE)  # per output channel, as Int8WeightOnlyConfig

        def torchao_int8():
            s, z = choose_qparams_affine(w, MappingType.SYMMETRIC, block, torch.int8)
            q = quantize_affine(w, block, s, z, torch.int8)
            return dequantize_affine(q, block, s, z, torch.int8)

        found.append(
            BenchCase(
                f"int8 per-channel quantize+dequantize {SIZE}x{SIZE}",
                lambda: _round_trip(w, Q.Scheme()),
                "torchao quantize_affine (int8)",
                torchao_int8,
                target="ratio <= 1.0",
            )
        )
    except ImportError:
        pass
    return found


def _perplexity(context: Context, recipe, device):
    from plugins.quantization.views import HELDOUT_TOKENS

    lm = context.models.get("tiny-llama", device)
    ids = heldout_ids()[: HELDOUT_TOKENS + 1].to(device)
    model = lm.model if recipe is None else llm.quantized_copy(lm.model, recipe)
    return perplexity(model, ids)


def _size(context: Context, recipe, device):
    lm = context.models.get("tiny-llama", device)
    model = lm.model if recipe is None else llm.quantized_copy(lm.model, recipe)
    return llm.model_bytes(model) / 1024


def cases(context: Context) -> list[BenchCase | Measure]:
    device = context.device()
    gen = torch.Generator().manual_seed(0)
    w = (torch.randn(SIZE, SIZE, generator=gen) * 0.02).to(device)
    found: list[BenchCase | Measure] = _library_cases(w)
    x = torch.randn(8, SIZE, generator=gen).to(device)
    linear = torch.nn.Linear(SIZE, SIZE, bias=False).to(device)
    qlinear = Q.QuantLinear(linear, Q.Scheme())
    found.append(
        BenchCase(
            f"int8 weight-only matmul 8x{SIZE} @ {SIZE}x{SIZE}",
            lambda: qlinear(x),
            "float32 F.linear",
            lambda: torch.nn.functional.linear(x, linear.weight),
        )
    )
    found.append(
        Measure(
            "tiny-llama float32 held-out perplexity",
            lambda: _perplexity(context, None, device),
            "ppl",
        )
    )
    found.append(Measure("tiny-llama float32 size", lambda: _size(context, None, device), "KiB"))
    for label, recipe in CONFIGS.items():
        found.append(
            Measure(
                f"tiny-llama {label} held-out perplexity",
                lambda r=recipe: _perplexity(context, r, device),
                "ppl",
            )
        )
        found.append(
            Measure(f"tiny-llama {label} size", lambda r=recipe: _size(context, r, device), "KiB")
        )
    return found
