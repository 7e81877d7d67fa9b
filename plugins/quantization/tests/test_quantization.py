"""Our int and FP8 quantizers against torchao (int8 activations against bitsandbytes) on fresh
seeded inputs and degenerate ones, and their bounds. NF4 is in test_nf4.py."""

from __future__ import annotations

import math

import pytest
import torch

from plugins.quantization import bits
from plugins.quantization import quantization as Q

SEEDS = range(3)


def weights(seed: int, shape=(256, 192), scale: float = 0.05) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


# -- int8 / int4 against torchao ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_int8_weight_only_linear_matches_torchao(seed):
    pytest.importorskip("torchao")
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    torch.manual_seed(seed)
    ref = torch.nn.Sequential(torch.nn.Linear(192, 512))
    ours = Q.QuantLinear(ref[0], Q.Scheme())  # quantized before torchao replaces the weight
    fp = ref[0].weight.detach().clone()
    quantize_(ref, Int8WeightOnlyConfig())
    x = torch.randn(16, 192, generator=torch.Generator().manual_seed(seed + 100))
    with torch.no_grad():
        theirs, mine = ref(x), ours(x)
    # torchao's scale is absmax / 127.5, ours absmax / 127: each is within half a step of
    # float, so the two outputs differ by at most a step's worth of error per input
    step = (fp.abs().amax(1) / 127).max()
    bound = step * x.abs().sum(-1, keepdim=True)
    assert ((theirs - mine).abs() <= bound).all()
    torch.testing.assert_close(mine, theirs, atol=2e-2, rtol=2e-2)


def with_degenerate_rows(seed: int) -> torch.Tensor:
    """Random rows, then the ones torchao's tests and our review found: zeros, a constant, values
    near 3e-11 (below a 1e-12 scale floor's reach), and a single outlier."""
    w = weights(seed, (8, 192))
    w[0] = 0
    w[1] = 0.7
    w[2] = weights(seed + 10, (192,), 3e-11)
    w[3, 17] = 40.0
    return w


def torchao_affine(w: torch.Tensor, fmt: str, symmetric: bool, block: tuple[int, ...]):
    """torchao's choose_qparams_affine (default eps) / quantize_affine / dequantize_affine on our
    grid: (scale, zero point, codes, dequantized)."""
    ao = pytest.importorskip("torchao.quantization.quant_primitives")
    q_min, q_max = Q.int_range(Q.BITS[fmt], symmetric)
    dtype = torch.int8 if symmetric else torch.uint8
    mapping = ao.MappingType.SYMMETRIC if symmetric else ao.MappingType.ASYMMETRIC
    s, z = ao.choose_qparams_affine(w, mapping, block, dtype, q_min, q_max)
    codes = ao.quantize_affine(w, block, s, z, dtype, q_min, q_max)
    return s, z, codes, ao.dequantize_affine(codes, block, s, z, dtype, q_min, q_max)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fmt", ["int8", "int4", "int2"])
@pytest.mark.parametrize("symmetric", [True, False], ids=["symmetric", "asymmetric"])
@pytest.mark.parametrize("granularity", Q.GRANULARITIES)
def test_int_schemes_equal_torchao_affine_primitives(seed, fmt, symmetric, granularity):
    # torchao's test/quantization/test_quant_primitives.py checks these primitives per tensor, per
    # channel and per group; here with a balanced grid (quant_min = −quant_max, as its
    # per-token int8 test does) so that its scale absmax / ((max − min) / 2) is ours
    w = with_degenerate_rows(seed)
    block = {"tensor": w.shape, "channel": (1, w.shape[1]), "group": (1, 32)}[granularity]
    s, z, codes, expected = torchao_affine(w, fmt, symmetric, tuple(block))
    ours = Q.quantize(w, Q.Scheme(fmt, symmetric, granularity, 32))
    assert torch.equal(ours.scale.reshape(-1), s.reshape(-1))
    if symmetric:
        assert ours.zero_point is None and (z == 0).all()
    else:
        assert torch.equal(ours.zero_point.reshape(-1).int(), z.reshape(-1).int())
    assert torch.equal(Q.integer_codes(ours).reshape(-1).int(), codes.reshape(-1).int())
    assert torch.equal(Q.dequantize(ours), expected)


def test_scale_floor_is_torchaos_smallest_normal():
    # torchao test_choose_qparams_tensor_asym_eps: a zero tensor's scale is the default eps,
    # finfo(float32).smallest_normal in torchao 0.18 (finfo.eps in older releases)
    q = Q.quantize(torch.zeros(10, 10), Q.Scheme("int8", False, "tensor"))
    assert q.scale.item() == torch.finfo(torch.float32).smallest_normal == Q.SCALE_FLOOR
    assert (q.zero_point == 0).all() and (Q.dequantize(q) == 0).all()
    # a channel of values near 3e-11 keeps the whole grid (a 1e-12 floor left it 102 of 127)
    tiny = weights(0, (1, 64), 3e-11)
    assert Q.integer_codes(Q.quantize(tiny, Q.Scheme("int8"))).abs().max() == 127


@pytest.mark.parametrize("fmt", list(Q.FP8_DTYPES))
def test_fp8_equals_torchao_float8_primitives(fmt):
    ao = pytest.importorskip("torchao.quantization.quant_primitives")
    w = with_degenerate_rows(0)[1:]  # torchao divides a zero row by a zero scale: NaN
    dtype = Q.FP8_DTYPES[fmt]
    s = ao._choose_scale_float8(w, [1, w.shape[1]], dtype)
    codes = ao._quantize_affine_float8(w, s, dtype)
    ours = Q.quantize(w, Q.Scheme(fmt))
    assert torch.equal(ours.scale, s) and torch.equal(ours.codes.float(), codes.float())
    assert torch.equal(Q.dequantize(ours), ao._dequantize_affine_float8(codes, s))
    zeros = Q.quantize(torch.zeros(2, 8), Q.Scheme(fmt))  # ours floors the scale instead
    assert (Q.dequantize(zeros) == 0).all()


def test_int8_activations_equal_bitsandbytes_vectorwise_quant():
    bnb = pytest.importorskip("bitsandbytes.functional")
    x = torch.randn(32, 192, generator=torch.Generator().manual_seed(0)).half()
    theirs, stats, _ = bnb.int8_vectorwise_quant(x)
    ours, scale = Q.quantize_activations(x.float())
    torch.testing.assert_close(scale.reshape(-1) * 127, stats.float(), atol=1e-3, rtol=1e-3)
    assert (ours.int() - theirs.int()).abs().max() <= 1  # float16 vs float32 rounding


# -- round trips and invariants -----------------------------------------------------------------

# format -> the SNR (dB) a Gaussian matrix must at least keep, per channel
SNR_FLOOR = {"int8": 38, "int4": 14, "int2": 1.5, "nf4": 18, "fp8-e4m3": 28, "fp8-e5m2": 22}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fmt", Q.FORMATS)
def test_round_trip_error_stays_within_half_a_step(seed, fmt):
    w = weights(seed)
    q = Q.quantize(w, Q.Scheme(fmt))
    w_hat = Q.dequantize(q)
    err = Q.error(w, w_hat)
    assert err.snr_db > SNR_FLOOR[fmt]
    if fmt.startswith("int"):  # a uniform grid: never more than half a step away
        assert ((w - w_hat).abs() <= q.scale / 2 * 1.0001 + 1e-9).all()
    else:  # a code book: the nearest of its levels, so no level is closer than ours
        b = Q.blocks(w, q.scheme)
        grid = torch.stack([Q.levels(q, i) for i in range(b.shape[0])])  # (rows, L)
        best = (b[..., None] - grid[:, None, :]).abs().amin(-1)
        assert ((b - Q.blocks(w_hat, q.scheme)).abs() <= best * 1.0001 + 1e-9).all()


@pytest.mark.parametrize("fmt", ["int8", "int4", "int2"])
@pytest.mark.parametrize("symmetric", [True, False])
def test_grid_values_come_back_exactly_and_zero_stays_zero(fmt, symmetric):
    w = weights(0, (8, 64))
    w[:, 0] = 0
    q = Q.quantize(w, Q.Scheme(fmt, symmetric, "channel"))
    w_hat = Q.dequantize(q)
    assert (w_hat[:, 0] == 0).all()
    again = Q.dequantize(Q.quantize(w_hat, Q.Scheme(fmt, symmetric, "channel")))
    torch.testing.assert_close(again, w_hat, atol=1e-6, rtol=1e-5)  # idempotent


def test_finer_granularity_and_more_bits_cut_the_error():
    w = weights(1)
    w[3, 5] = 2.0  # one outlier ruins its whole block
    mse = {
        g: Q.error(w, Q.dequantize(Q.quantize(w, Q.Scheme("int4", True, g, 32)))).mse
        for g in Q.GRANULARITIES
    }
    assert mse["group"] < mse["channel"] < mse["tensor"]
    e8 = Q.error(w, Q.dequantize(Q.quantize(w, Q.Scheme("int8", granularity="group"))))
    e4 = Q.error(w, Q.dequantize(Q.quantize(w, Q.Scheme("int4", granularity="group"))))
    assert e8.snr_db - e4.snr_db > 20  # about 6 dB per bit


def test_packing_round_trips_and_halves_the_bytes():
    u = torch.randint(0, 16, (101,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    packed = bits.pack_4bit(u)
    assert packed.numel() == 51 and torch.equal(bits.unpack_4bit(packed, 101), u)
    assert int(packed[0]) == int(u[0]) * 16 + int(u[1])  # the first code in the high nibble


def test_2bit_packing_round_trips_four_codes_a_byte():
    u = torch.randint(0, 4, (103,), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    packed = bits.pack_2bit(u)
    assert packed.numel() == 26 and torch.equal(bits.unpack_2bit(packed, 103), u)
    assert int(packed[0]) == int(u[0]) * 64 + int(u[1]) * 16 + int(u[2]) * 4 + int(u[3])
    w = weights(0, (8, 64))
    q = Q.quantize(w, Q.Scheme("int2"))  # symmetric int2 is ternary: −s, 0, +s per row
    assert q.codes.numel() == 8 * 64 // 4
    assert set(Q.integer_codes(q).unique().tolist()) <= {-1, 0, 1}


def test_fp8_rounds_like_torch_casts_and_lists_its_grid():
    e4m3, e5m2 = Q.fp8_levels("fp8-e4m3"), Q.fp8_levels("fp8-e5m2")
    assert e4m3.max() == 448 and e5m2.max() == 57344
    assert len(e4m3) == 253 and len(e5m2) == 247  # 256 patterns less NaNs (and ±inf), ±0 once
    x = torch.randn(1000, generator=torch.Generator().manual_seed(0)) * 50
    cast = x.to(torch.float8_e4m3fn).float()
    assert torch.isin(cast, e4m3).all()
    assert ((x - cast).abs() <= (x[:, None] - e4m3).abs().amin(-1) + 1e-6).all()


def test_int8_matmul_equals_integer_arithmetic():
    gen = torch.Generator().manual_seed(0)
    xq = torch.randint(-127, 128, (5, 512), generator=gen, dtype=torch.int8)
    wq = torch.randint(-127, 128, (64, 512), generator=gen, dtype=torch.int8)
    ones = torch.ones(())
    exact = torch._int_mm(xq, wq.t()).float()  # int32 accumulation
    assert torch.equal(Q.int8_matmul(xq, ones, wq, torch.ones(64, 1)), exact)


def test_llm_int8_keeps_outlier_features_in_float():
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(16, 128, generator=gen), torch.randn(64, 128, generator=gen) * 0.05
    x[:, [3, 77]] *= 60
    y = x @ w.t()
    plain, none = Q.int8_mixed_matmul(x, w, math.inf)
    mixed, kept = Q.int8_mixed_matmul(x, w, 6.0)
    assert not none.any() and kept.nonzero().flatten().tolist() == [3, 77]
    assert Q.error(y, mixed).snr_db > Q.error(y, plain).snr_db + 10
    everything, _ = Q.int8_mixed_matmul(x, w, 1e-9)  # every feature in float: exact
    torch.testing.assert_close(everything, y)


def test_fake_quant_passes_gradients_straight_through():
    w = weights(0, (4, 64)).requires_grad_()
    out = Q.fake_quantize(w, Q.Scheme("int4"))
    torch.testing.assert_close(out.detach(), Q.dequantize(Q.quantize(w, Q.Scheme("int4"))))
    out.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))


@pytest.mark.parametrize(
    ("scheme", "message"),
    [
        (Q.Scheme("int4", granularity="group", group_size=128), "does not divide"),
        (Q.Scheme("nf4", symmetric=False), "no zero-point"),
        (Q.Scheme("int8", double_quant=True), "NF4's"),
        (Q.Scheme("int3"), "format must be one of"),
    ],
)
def test_bad_schemes_are_refused(scheme, message):
    with pytest.raises(ValueError, match=message):
        Q.quantize(weights(0, (4, 192)), scheme)


def test_valid_group_sizes():
    assert Q.valid_group_sizes(192, 32, 256) == [32, 48, 64, 96, 192]
