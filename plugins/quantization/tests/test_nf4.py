"""NF4 (`nf4_quantize`, `nf4_dequantize`, the nf4 Scheme) against bitsandbytes on CPU: the same
bytes, block scales and values, on seeded random inputs and on the degenerate ones.

Cases ported from bitsandbytes' tests (inputs and expected figures, not code):
tests/test_functional.py (TestQuantize4BitFunctional: test_4bit_quant's error table,
test_4bit_compressed_stats' bounds, test_gemv_eye_4bit's identity) and tests/test_ops.py
(test_quantize_4bit_not_divisible_by_blocksize's (7, blocksize − 1) shapes).
"""

from __future__ import annotations

import math

import pytest
import torch

from plugins.quantization import bits, nf4
from plugins.quantization import quantization as Q

bnb = pytest.importorskip("bitsandbytes.functional")

SEEDS = range(3)
DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def randn(shape, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def theirs(x: torch.Tensor, block: int = 64):
    """bitsandbytes' (packed bytes, absmax, dequantized float32 values shaped like x)."""
    packed, state = bnb.quantize_4bit(x, blocksize=block, quant_type="nf4")
    if x.shape[-1] % 2 == 0:
        values = bnb.dequantize_4bit(packed, state).float()
    else:  # bitsandbytes compiles a torch fallback for an odd last dimension (seconds a shape):
        # decode with its own code book instead, level × its block's absmax
        codes = torch.stack([packed.reshape(-1) >> 4, packed.reshape(-1) & 15], -1).view(-1)
        levels = state.code[codes[: x.numel()].long()]
        values = levels * state.absmax.repeat_interleave(block)[: x.numel()]
    return packed.reshape(-1), state.absmax, values.reshape(x.shape)


def assert_identical(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal values, NaNs in the same places."""
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def test_levels_are_bitsandbytes_and_derive_from_normal_quantiles():
    assert torch.equal(nf4.nf4_levels(), bnb.get_4bit_type("nf4", device="cpu"))
    torch.testing.assert_close(nf4.normal_float_levels(), nf4.nf4_levels(), atol=5e-7, rtol=0)
    assert torch.equal(nf4.dynamic_levels(), bnb.create_dynamic_map())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize(
    "shape", [(63,), (65,), (100,), (1000,), (1,), (7, 63), (7, 127), (7, 255), (3, 5, 7)], ids=str
)
def test_any_size_matches_bitsandbytes_partial_last_block(shape, dtype):
    x = randn(shape, seed=sum(shape), dtype=dtype)
    packed, absmax = nf4.nf4_quantize(x)
    want_packed, want_absmax, want = theirs(x)
    n = math.prod(shape)
    assert packed.numel() == (n + 1) // 2 and absmax.numel() == -(-n // 64)  # blocks, rounded up
    assert torch.equal(packed, want_packed) and torch.equal(absmax, want_absmax)
    got = nf4.nf4_dequantize(packed, absmax, shape)
    assert got.shape == shape and torch.isfinite(got).all()
    assert_identical(got.to(dtype), want.to(dtype))


def test_odd_sizes_pin_the_bitsandbytes_layout():
    # 63 values: one short block; the odd count's last low nibble is 7, the code of 0
    packed, absmax = nf4.nf4_quantize(randn(63))
    assert absmax.numel() == 1 and packed.numel() == 32 and int(packed[-1]) & 15 == 7
    # 65 values: a full block, then a block of one value, which is its own absmax: exact
    x = randn(65, seed=1)
    x[64] = 0.25
    packed, absmax = nf4.nf4_quantize(x)
    assert absmax.tolist()[1] == 0.25 and int(packed[-1]) == 0xF7  # level +1, then 0's code
    assert nf4.nf4_dequantize(packed, absmax, (65,))[64] == 0.25


@pytest.mark.parametrize("block", [64, 128, 256])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_shapes_not_divisible_by_the_block_round_trip(block, dtype):
    x = randn((7, block - 1), seed=block, dtype=dtype)  # bitsandbytes' tests/test_ops.py shape
    packed, absmax = nf4.nf4_quantize(x, block)
    want_packed, want_absmax, want = theirs(x, block)
    assert torch.equal(packed, want_packed) and torch.equal(absmax, want_absmax)
    assert_identical(nf4.nf4_dequantize(packed, absmax, x.shape, block).to(dtype), want.to(dtype))


@pytest.mark.parametrize("seed", SEEDS)
def test_the_nf4_scheme_stores_what_bitsandbytes_stores(seed):
    w = randn((256, 192), seed) * 0.05
    packed, state = bnb.quantize_4bit(w, blocksize=64, quant_type="nf4")
    ours = Q.quantize(w, Q.Scheme("nf4", granularity="group", group_size=64))
    assert torch.equal(ours.codes, packed.reshape(-1))
    assert torch.equal(Q.dequantize(ours), bnb.dequantize_4bit(packed, state))
    assert ours.nbytes == packed.numel() + 4 * state.absmax.numel()


# -- degenerate blocks: the bytes and values bitsandbytes 0.50 gives on CPU ------------------


def test_zeros_store_the_code_of_zero_and_come_back_zero():
    packed, absmax = nf4.nf4_quantize(torch.zeros(128))
    assert packed.tolist() == [0x77] * 64 and absmax.tolist() == [0.0, 0.0]
    assert torch.equal(nf4.nf4_dequantize(packed, absmax, (128,)), torch.zeros(128))
    assert_identical(packed, theirs(torch.zeros(128))[0])


@pytest.mark.parametrize(("value", "byte"), [(0.3, 0xFF), (-0.3, 0x00)])
def test_a_constant_block_is_its_own_absmax_and_comes_back_exactly(value, byte):
    x = torch.full((64,), value)
    packed, absmax = nf4.nf4_quantize(x)
    assert packed.tolist() == [byte] * 32  # every value at level +1 (code 15) or −1 (code 0)
    assert torch.equal(nf4.nf4_dequantize(packed, absmax, (64,)), x)
    assert torch.equal(packed, theirs(x)[0])


def test_a_single_outlier_keeps_itself_and_flattens_its_block():
    x = randn(128, seed=3) * 0.01
    x[70] = 100.0
    packed, absmax = nf4.nf4_quantize(x)
    got = nf4.nf4_dequantize(packed, absmax, (128,))
    assert got[70] == 100.0  # the absmax of its block: level +1 exactly
    assert (got[64:70] == 0).all() and (got[71:] == 0).all()  # the rest round to level 0
    assert (got[:64] != 0).any()  # the other block keeps its own scale
    assert_identical(got, theirs(x)[2])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_an_inf_comes_back_as_plus_inf_and_its_block_as_nan(sign):
    x = torch.linspace(-1, 1, 128)
    x[5] = sign * math.inf
    packed, absmax = nf4.nf4_quantize(x)
    got = nf4.nf4_dequantize(packed, absmax, (128,))
    # the block's reciprocal absmax is 0: ±inf · 0 is NaN, which takes the top level (+1) times
    # inf; every other value codes as 0, and 0 · inf is NaN
    assert got[5] == math.inf and got[:64].isnan().sum() == 63
    assert torch.isfinite(got[64:]).all()
    assert_identical(got, theirs(x)[2])


def test_a_denormal_block_divides_by_the_1e_38_floor_like_bitsandbytes():
    x = torch.linspace(-2e-39, 2e-39, 64)  # absmax below float32's smallest normal
    packed, absmax = nf4.nf4_quantize(x)
    want_packed, want_absmax, _ = theirs(x)
    assert torch.equal(packed, want_packed) and torch.equal(absmax, want_absmax)
    codes = bits.unpack_4bit(packed, 64)
    # x · 1e38 spans only ±0.2: NF4's levels there are codes 5..9
    assert codes.unique().tolist() == [5, 6, 7, 8, 9]


def test_an_identity_matrix_comes_back_exactly():
    eye = torch.eye(192)  # each block holds one 1 (its absmax) or only zeros
    packed, absmax = nf4.nf4_quantize(eye)
    assert torch.equal(nf4.nf4_dequantize(packed, absmax, eye.shape), eye)


# -- error bounds: bitsandbytes' own figures -------------------------------------------------

# tests/test_functional.py test_4bit_quant, nf4: mean |error| and mean relative error of
# randn(1024, 1024) by block size, averaged by bitsandbytes over 1000 samples (bound: + 1e-3)
NF4_ERROR = {64: (0.072792, 0.203299), 256: (0.080326, 0.226044), 4096: (0.092537, 0.262457)}


ERROR_CASES = [(torch.float32, 64), (torch.float16, 64), (torch.bfloat16, 64), (torch.float32, 256)]


@pytest.mark.parametrize(("dtype", "block"), [*ERROR_CASES, (torch.float32, 4096)], ids=str)
def test_error_within_bitsandbytes_table(dtype, block):
    x = randn((1024, 1024), seed=block, dtype=dtype)
    packed, absmax = nf4.nf4_quantize(x, block)
    x_hat = nf4.nf4_dequantize(packed, absmax, x.shape, block).to(dtype)
    err = (x - x_hat).abs().float()
    rel = (err / (x.abs().float() + 1e-8)).mean()
    mean_err, mean_rel = NF4_ERROR[block]
    assert err.mean() < mean_err + 1e-3 and rel < mean_rel + 1e-3


@pytest.mark.parametrize("block", [64, 128])
def test_double_quantized_error_within_bitsandbytes_bounds(block):
    x = randn((1024, 1024), seed=block)  # test_4bit_compressed_stats: err < 0.11, rel < 0.28
    q = Q.quantize(x, Q.Scheme("nf4", granularity="group", group_size=block, double_quant=True))
    err = (x - Q.dequantize(q)).abs()
    assert err.mean() < 0.11 and (err / (x.abs() + 1e-15)).mean() < 0.28


# -- double quantization ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_double_quantization_matches_bitsandbytes_but_near_its_lookup_grid(seed):
    w = randn((256, 192), seed) * 0.05
    packed, state = bnb.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
    ours = Q.quantize(w, Q.Scheme("nf4", granularity="group", group_size=64, double_quant=True))
    assert torch.equal(ours.codes, packed.reshape(-1))  # the same 4-bit codes
    stored = packed.numel() + state.absmax.numel() + 4 * state.state2.absmax.numel() + 4
    assert ours.nbytes == stored
    # The second level rounds each centred absmax over its 256-block's absmax to the dynamic
    # 8-bit code. We take the nearest level, as bitsandbytes' torch backend does; its C++ CPU
    # kernel (0.50) instead snaps the value to a grid of 65 536 points on [−1, 1] (step
    # 2 / 65535) and reads the level from a table, so a value within half a grid step of a
    # decision edge may take the farther level. Those blocks, and only those, differ.
    restored = bnb.dequantize_blockwise(state.absmax, state.state2) + state.offset
    mine = ours.scale.reshape(-1)
    first = bnb.quantize_4bit(w, blocksize=64, quant_type="nf4")[1].absmax
    centred = first - first.mean()
    tops = bits.absmax(torch.nn.functional.pad(centred, (0, -len(centred) % 256)).view(-1, 256))
    scaled = centred * (1 / tops).repeat_interleave(256)[: len(centred)]
    levels = nf4.dynamic_levels()
    edges = (levels[:-1] + levels[1:]) / 2
    to_edge = (scaled[:, None] - edges).abs().amin(-1)
    differ = mine != restored
    assert (to_edge[differ] <= 1 / 65535 + 1e-7).all()
    assert torch.equal(mine[~differ], restored[~differ])
    # one step of the dynamic code apart, under 2% of the largest block absmax (= max|w|)
    assert (mine - restored).abs().max() <= 0.02 * w.abs().max()


def test_bad_block_size_is_refused():
    with pytest.raises(ValueError, match="positive whole number"):
        nf4.nf4_quantize(torch.ones(8), 0)
