"""The frozen NF4 base of our QLoRA: any layer size, the weight bitsandbytes would store. The NF4
math itself is tested in plugins/quantization/tests/test_nf4.py."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from plugins.lora import nf4

bnb = pytest.importorskip("bitsandbytes.functional")


def linear(n_in: int, n_out: int, seed: int, scale: float = 1.0) -> nn.Linear:
    torch.manual_seed(seed)  # nn.Linear draws its initial weight from the global generator
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.mul_(scale)
    return layer


@pytest.mark.parametrize(
    ("n_in", "n_out"),
    [(128, 96), (63, 1), (65, 1), (100, 10), (1000, 1), (63, 7), (5, 3)],  # sizes 64 ∤ in bnb's way
)
@pytest.mark.parametrize("seed", range(3))
def test_nf4_linear_holds_the_weight_bitsandbytes_would(n_in, n_out, seed):
    layer = linear(n_in, n_out, seed, scale=0.02 + seed)
    q = nf4.NF4Linear(layer)
    packed, state = bnb.quantize_4bit(layer.weight.detach(), blocksize=nf4.BLOCK, quant_type="nf4")
    assert torch.equal(q.packed, packed.reshape(-1)) and torch.equal(q.absmax, state.absmax)
    # bitsandbytes' value of each weight: the level of its code times its block's absmax
    n = layer.weight.numel()
    codes = torch.stack([packed >> 4, packed & 15], -1).view(-1)[:n].long()
    want = state.code[codes] * state.absmax.repeat_interleave(nf4.BLOCK)[:n]
    assert torch.equal(q.weight, want.view(n_out, n_in))
    x = torch.randn(4, n_in, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(q(x), nn.functional.linear(x, q.weight, layer.bias))


def test_quantize_linears_swaps_every_linear_but_the_head():
    model = nn.Sequential()
    model.add_module("up", linear(100, 60, 0))  # 6000 weights: the last block is 48 long
    model.add_module("lm_head", linear(60, 10, 1))
    saved = nf4.quantize_linears(model)
    assert isinstance(model.up, nf4.NF4Linear) and type(model.lm_head) is nn.Linear
    assert nf4.BITS_PER_WEIGHT == 4.5 and saved == int(6000 * (4 - 4.5 / 8))
    assert model.up.absmax.numel() == 94  # ⌈6000 / 64⌉ blocks
