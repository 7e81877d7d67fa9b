"""Our softmax family against torch's, on fresh seeded random inputs, plus its invariants and
the inputs it refuses."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from playground import testing
from playground.inputs import BadInput
from plugins.softmax import softmax as sm
from plugins.softmax import views

SEEDS = range(5)
# dtype -> (atol, rtol) for probabilities: one rounding of the output in that dtype
TOLERANCE = {
    torch.float64: (1e-12, 1e-10),
    torch.float32: (1e-6, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (8e-3, 1e-2),
}


def random_logits(seed: int, shape=(8, 333), scale: float = 3.0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", list(TOLERANCE))
def test_softmax_matches_torch(seed, dtype):
    x = random_logits(seed, dtype=dtype)
    atol, rtol = TOLERANCE[dtype]
    ours, ref = sm.softmax(x), torch.softmax(x, dim=-1)
    assert ours.dtype == dtype
    torch.testing.assert_close(ours, ref, atol=atol, rtol=rtol)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("temperature", [0.05, 0.7, 1.0, 5.0])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_temperature_and_dim_match_torch(seed, temperature, dim):
    x = random_logits(seed, shape=(6, 7, 9), dtype=torch.float64)
    torch.testing.assert_close(
        sm.softmax(x, temperature, dim), torch.softmax(x / temperature, dim=dim)
    )
    torch.testing.assert_close(
        sm.log_softmax(x, temperature, dim), torch.log_softmax(x / temperature, dim=dim)
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("scale", [1e3, 1e4, 1e6])
def test_huge_magnitudes_stay_finite_and_match_torch(seed, scale):
    x = random_logits(seed, scale=scale)
    ours = sm.softmax(x)
    assert torch.isfinite(ours).all()
    torch.testing.assert_close(ours, torch.softmax(x, -1))
    torch.testing.assert_close(sm.log_softmax(x), torch.log_softmax(x, -1), rtol=1e-5, atol=1e-2)
    assert not torch.isfinite(sm.naive_softmax(x)).all()  # the naive formula overflows here


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("seed", SEEDS)
def test_half_precision_log_softmax_and_huge_values(seed, dtype):
    x = random_logits(seed, scale=200.0, dtype=dtype)  # exp(200) overflows float16 and bfloat16
    torch.testing.assert_close(
        sm.log_softmax(x).float(), torch.log_softmax(x, -1).float(), atol=0.5, rtol=1e-2
    )
    torch.testing.assert_close(sm.softmax(x), torch.softmax(x, -1), atol=8e-3, rtol=1e-2)


def test_the_classic_overflow_example():
    x = torch.tensor([1000.0, 999.0])
    assert torch.isnan(sm.naive_softmax(x)).all()  # exp(1000) = inf, inf / inf = NaN
    expected = torch.tensor([1 / (1 + math.exp(-1)), 1 - 1 / (1 + math.exp(-1))])
    torch.testing.assert_close(sm.softmax(x), expected)
    half = torch.tensor([12.0, 0.0], dtype=torch.float16)  # exp(12) > 65504, float16's max
    assert torch.isnan(sm.naive_softmax(half)[0]) and torch.isfinite(sm.softmax(half)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_naive_equals_stable_where_nothing_overflows(seed):
    x = random_logits(seed, scale=2.0, dtype=torch.float64)
    torch.testing.assert_close(sm.naive_softmax(x), sm.softmax(x))


@pytest.mark.parametrize("seed", SEEDS)
def test_shifting_every_logit_changes_nothing(seed):
    x = random_logits(seed, dtype=torch.float64)
    shift = torch.randn((), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    torch.testing.assert_close(sm.softmax(x + 50 * shift), sm.softmax(x))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_cross_entropy_matches_torch(seed, dtype):
    x = random_logits(seed, shape=(16, 50), dtype=dtype)
    target = torch.randint(50, (16,), generator=torch.Generator().manual_seed(seed))
    atol = 1e-5 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(
        sm.cross_entropy(x, target).float(), F.cross_entropy(x.float(), target), atol=atol, rtol=0
    )
    torch.testing.assert_close(
        sm.cross_entropy(x, target, 0.5).float(),
        F.cross_entropy(x.float() / 0.5, target),
        atol=atol * 2,
        rtol=0,
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_logsumexp_and_entropy_match_torch(seed):
    x = random_logits(seed, scale=30.0, dtype=torch.float64)
    torch.testing.assert_close(sm.logsumexp(x, -1), torch.logsumexp(x, -1))
    categorical = torch.distributions.Categorical(logits=x)
    torch.testing.assert_close(sm.entropy(x), categorical.entropy())


def test_entropy_of_a_one_hot_is_zero_not_nan():
    h = sm.entropy(torch.tensor([0.0, -1e6, -1e6]))
    assert h.item() == pytest.approx(0.0, abs=1e-6)


def test_logsumexp_of_minus_infinity_is_minus_infinity():
    assert sm.logsumexp(torch.full((3,), -math.inf)).item() == -math.inf


@pytest.mark.parametrize("seed", SEEDS)
def test_temperature_sweep_matches_one_temperature_at_a_time(seed):
    x = random_logits(seed, shape=(12,), dtype=torch.float64)
    temps = torch.tensor([0.05, 0.3, 1.0, 2.5, 5.0], dtype=torch.float64)
    h, top1 = sm.temperature_sweep(x, temps)
    for i, t in enumerate(temps.tolist()):
        p = torch.softmax(x / t, -1)
        assert top1[i].item() == pytest.approx(p.max().item(), rel=1e-12)
        expected = torch.distributions.Categorical(probs=p).entropy()
        assert h[i].item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)
    assert (h.diff() > 0).all()  # hotter is flatter: entropy rises with temperature


def test_steps_add_up():
    x = torch.tensor([2.0, -1.0, 0.5])
    s = sm.softmax_steps(x, 0.5)
    assert s.max.item() == 4.0 and (s.shifted <= 0).all()
    torch.testing.assert_close(s.exps.sum(), s.total)
    torch.testing.assert_close(s.probs, torch.softmax(x / 0.5, -1))
    torch.testing.assert_close(s.log_probs, torch.log_softmax(x / 0.5, -1))


@pytest.mark.parametrize("t", [0.0, -0.0, -1.0, float("nan"), float("inf")])
def test_temperature_must_be_positive_and_finite(t):
    x = torch.tensor([1.0, 0.0, -1.0])  # at T = 0 these would become inf, nan, −inf
    for fn in (sm.softmax, sm.naive_softmax, sm.log_softmax, sm.entropy, sm.softmax_steps):
        with pytest.raises(ValueError, match="temperature must be positive and finite"):
            fn(x, t)
    with pytest.raises(ValueError, match="every temperature must be positive and finite"):
        sm.temperature_sweep(x, torch.tensor([0.5, t]))
    with pytest.raises(BadInput, match=r"Temperature must be between 0\.05 and 5\.0"):
        views.compute(testing.context(), "1, 0, -1", "", t, "float32", "")


# -- entropy where some tokens are impossible ---------------------------------------------------


def test_entropy_with_a_minus_infinity_logit_matches_categorical():
    x = torch.tensor([0.0, -math.inf, 1.0])
    expected = torch.distributions.Categorical(logits=x).entropy()
    assert sm.entropy(x).item() == pytest.approx(0.5822, abs=1e-4)
    torch.testing.assert_close(sm.entropy(x), expected)
    h, top1 = sm.temperature_sweep(x, torch.tensor([0.5, 1.0, 2.0]))
    for i, t in enumerate([0.5, 1.0, 2.0]):
        p = torch.softmax(x / t, -1)
        torch.testing.assert_close(h[i], torch.distributions.Categorical(probs=p).entropy())
        torch.testing.assert_close(top1[i], p.max())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_entropy_of_masked_rows_matches_categorical(seed, dtype):
    x = random_logits(seed, scale=10.0, dtype=dtype)
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed)) < 0.5
    x = x.masked_fill(mask, -math.inf)
    x[0, 0], x[0, 1:] = 1.0, -math.inf  # all but one at −inf: certain, so 0
    # half precision is computed in float32, so the reference is Categorical on the same values
    # in float32 (Categorical in float16 itself is off by about 0.01)
    expected = torch.distributions.Categorical(logits=x.float()).entropy()
    h = sm.entropy(x)
    assert not h.isnan().any() and h[0].item() == 0.0
    torch.testing.assert_close(h, expected)
    h_sweep, _ = sm.temperature_sweep(x[1], torch.tensor([1.0]))
    torch.testing.assert_close(h_sweep[0], expected[1])


def test_a_row_with_every_logit_minus_infinity_is_refused():
    x = torch.zeros(2, 4)
    x[1] = -math.inf
    with pytest.raises(ValueError, match="every logit in a row is −inf"):
        sm.entropy(x)
    with pytest.raises(ValueError, match="every logit in a row is −inf"):
        sm.temperature_sweep(x[1], torch.tensor([1.0]))
    with pytest.raises(ValueError):  # Categorical refuses it as well
        torch.distributions.Categorical(logits=x[1], validate_args=True)  # whatever the default


def test_inputs_are_never_modified():
    x = random_logits(0)
    before = x.clone()
    sm.softmax(x), sm.log_softmax(x), sm.entropy(x), sm.softmax_steps(x[0])
    assert torch.equal(x, before)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", list(TOLERANCE))
def test_on_cuda_matches_torch(dtype):
    x = random_logits(7, shape=(64, 50_257), dtype=dtype).cuda()
    atol, rtol = TOLERANCE[dtype]
    torch.testing.assert_close(sm.softmax(x), torch.softmax(x, -1), atol=atol, rtol=rtol)
    torch.testing.assert_close(
        sm.log_softmax(x).float(), torch.log_softmax(x, -1).float(), atol=50 * atol, rtol=rtol
    )
    target = torch.randint(50_257, (64,), device="cuda")
    torch.testing.assert_close(
        sm.cross_entropy(x, target).float(),
        F.cross_entropy(x.float(), target),
        atol=50 * atol,
        rtol=rtol,
    )
