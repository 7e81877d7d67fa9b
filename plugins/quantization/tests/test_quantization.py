"""Our quantizers against bitsandbytes and torchao on fresh seeded inputs, and their bounds."""

from __future__ import annotations

import math

import pytest
import torch

from plugins.quantization import quantization as Q

SEEDS = range(3)


def weights(seed: int, shape=(256, 192), scale: float = 0.05) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale


# -- NF4 against bitsandbytes -----------------------------------------------------------------


def test_nf4_levels_are_bitsandbytes_and_derive_from_normal_quantiles():
    bnb = pytest.importorskip("bitsandbytes.functional")
    assert torch.equal(Q.nf4_levels(), bnb.get_4bit_type("nf4", device="cpu"))
    torch.testing.assert_close(Q.normal_float_levels(), Q.nf4_levels(), atol=5e-7, rtol=0)
    assert torch.equal(Q.dynamic_levels(), bnb.create_dynamic_map())


@pytest.mark.parametrize("seed", SEEDS)
def test_nf4_codes_and_values_equal_bitsandbytes(seed):
    bnb = pytest.importorskip("bitsandbytes.functional")
    w = weights(seed)
    packed, state = bnb.quantize_4bit(w, blocksize=64, quant_type="nf4")
    ours = Q.quantize(w, Q.Scheme("nf4", granularity="group", group_size=64))
    assert torch.equal(ours.codes, packed.reshape(-1))
    assert torch.equal(Q.dequantize(ours), bnb.dequantize_4bit(packed, state))
    assert ours.nbytes == packed.numel() + 4 * state.absmax.numel()


@pytest.mark.parametrize("seed", SEEDS)
def test_nf4_double_quantization_matches_bitsandbytes(seed):
    bnb = pytest.importorskip("bitsandbytes.functional")
    w = weights(seed)
    packed, state = bnb.quantize_4bit(w, blocksize=64, quant_type="nf4", compress_statistics=True)
    ours = Q.quantize(w, Q.Scheme("nf4", granularity="group", group_size=64, double_quant=True))
    assert torch.equal(ours.codes, packed.reshape(-1))  # same 4-bit codes
    theirs, mine = bnb.dequantize_4bit(packed, state), Q.dequantize(ours)
    # the 8-bit second level may round an exact tie the other way: a few blocks move by one
    # step of the dynamic code, under 2% of the largest block absmax (= max|w|)
    assert (theirs == mine).float().mean() > 0.98
    assert (theirs - mine).abs().max() <= 0.02 * w.abs().max()
    stored = packed.numel() + state.absmax.numel() + 4 * state.state2.absmax.numel() + 4
    assert ours.nbytes == stored


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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("group", [32, 64])
def test_int4_asymmetric_groups_equal_torchao_primitives(seed, group):
    pytest.importorskip("torchao")
    from torchao.quantization.quant_primitives import (
        MappingType,
        choose_qparams_affine,
        dequantize_affine,
        quantize_affine,
    )

    w = weights(seed)
    block = (1, group)
    s, z = choose_qparams_affine(w, MappingType.ASYMMETRIC, block, torch.uint8, 0, 15)
    codes = quantize_affine(w, block, s, z, torch.uint8, 0, 15)
    ours = Q.quantize(w, Q.Scheme("int4", False, "group", group))
    torch.testing.assert_close(ours.scale.reshape(-1), s.reshape(-1), atol=0, rtol=1e-6)
    assert torch.equal(ours.zero_point.reshape(-1).int(), z.reshape(-1).int())
    assert torch.equal(Q.integer_codes(ours).reshape(-1).int(), codes.reshape(-1).int())
    expected = dequantize_affine(codes, block, s, z, torch.uint8, 0, 15)
    torch.testing.assert_close(Q.dequantize(ours), expected, atol=1e-7, rtol=1e-6)


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
    packed = Q.pack_4bit(u)
    assert packed.numel() == 51 and torch.equal(Q.unpack_4bit(packed, 101), u)
    assert int(packed[0]) == int(u[0]) * 16 + int(u[1])  # the first code in the high nibble


def test_2bit_packing_round_trips_four_codes_a_byte():
    u = torch.randint(0, 4, (103,), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    packed = Q.pack_2bit(u)
    assert packed.numel() == 26 and torch.equal(Q.unpack_2bit(packed, 103), u)
    assert int(packed[0]) == int(u[0]) * 64 + int(u[1]) * 16 + int(u[2]) * 4 + int(u[3])
    w = weights(0, (8, 64))
    q = Q.quantize(w, Q.Scheme("int2"))  # symmetric int2 is ternary: −s, 0, +s per row
    assert q.codes.numel() == 8 * 64 // 4
    assert set(Q.integer_codes(q).unique().tolist()) <= {-1, 0, 1}


@pytest.mark.parametrize("seed", SEEDS)
def test_nf4_codes_by_compares_equal_the_binary_search(seed):
    x = torch.rand(4096, generator=torch.Generator().manual_seed(seed)) * 2.2 - 1.1
    edges = torch.tensor(Q.NF4_EDGES)
    x = torch.cat([x, edges, edges.nextafter(torch.tensor(2.0)), torch.tensor([-1.0, 1.0])])
    assert torch.equal(Q.nf4_codes(x).long(), Q.nearest(x, Q.nf4_levels()))


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
