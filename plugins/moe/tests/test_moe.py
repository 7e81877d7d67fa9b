"""Our MoE layer against transformers' Mixtral block and loss, on fresh seeded random inputs,
and capacity and the aux loss on hand-made routing."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import MixtralConfig
from transformers.models.mixtral.modeling_mixtral import (
    MixtralSparseMoeBlock,
    load_balancing_loss_func,
)

from plugins.moe import moe

SEEDS = range(3)
SHAPES = [(8, 2), (4, 1), (16, 4), (64, 2)]  # (experts, k)


def mixtral_block(experts, k, seed, d=48, ff=80, implementation="eager"):
    config = MixtralConfig(
        hidden_size=d, intermediate_size=ff, num_local_experts=experts, num_experts_per_tok=k
    )
    config._experts_implementation = implementation
    block = MixtralSparseMoeBlock(config).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in block.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * d**-0.5)
    return block


def tokens(seed, t=57, d=48):
    return torch.randn(1, t, d, generator=torch.Generator().manual_seed(1000 + seed))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("experts", "k"), SHAPES)
@pytest.mark.parametrize("implementation", ["eager", "grouped_mm"])
def test_matches_transformers_mixtral_block(seed, experts, k, implementation):
    block = mixtral_block(experts, k, seed, implementation=implementation)
    x = tokens(seed)
    ours = moe.from_mixtral(block)
    with torch.no_grad():
        theirs_logits, theirs_gates, theirs_experts = block.gate(x)
        theirs_y = block(x)
        out = ours(x)
        naive = ours(x, naive=True)
    torch.testing.assert_close(out.routing.logits, theirs_logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.y, theirs_y, atol=1e-5, rtol=0)
    torch.testing.assert_close(naive.y, theirs_y, atol=1e-5, rtol=0)
    assert torch.equal(out.routing.experts, theirs_experts)
    torch.testing.assert_close(out.routing.gates, theirs_gates, atol=1e-6, rtol=0)
    assert out.y.abs().max() > 0.1  # a real output, not zeros matching zeros


@pytest.fixture(scope="module")
def tiny_mixtral():
    from playground import testing

    return testing.context().models.get("tiny-mixtral", "cpu")


def test_matches_the_bundled_models_blocks_on_its_own_hidden_states(tiny_mixtral):
    from plugins.moe import capture

    model, tok = tiny_mixtral
    ids = torch.tensor(
        [tok("The capital of France is Paris. A spider has eight legs.")["input_ids"]]
    )
    layers = capture.capture(model, ids)
    assert len(layers) == model.config.num_hidden_layers
    for block, layer in zip(capture.moe_blocks(model), layers, strict=True):
        out = moe.from_mixtral(block)(layer.x)
        torch.testing.assert_close(out.routing.logits, layer.logits, atol=1e-5, rtol=0)
        torch.testing.assert_close(out.y, layer.y, atol=1e-5, rtol=0)
    check = capture.check(model, layers)
    assert check.logits_err < 1e-5 and check.output_err < 1e-5 and check.choices_agree == 1.0


def test_a_capture_keeps_its_own_forward_while_another_runs_on_the_same_model(tiny_mixtral):
    """One model serves every visitor: while one capture is paused inside its forward (its
    hooks installed), another runs whole; each still reads only its own tokens."""
    import threading

    from plugins.moe import capture

    model, tok = tiny_mixtral
    first, second = (
        torch.tensor([tok(text)["input_ids"]]) for text in ("A spider has eight legs.", "Hi")
    )
    paused, resume = threading.Event(), threading.Event()
    owner = threading.get_ident()

    def pause(*_):  # in the first capture's thread only: let the second run meanwhile
        if threading.get_ident() == owner:
            paused.set()
            resume.wait(timeout=60)

    def second_capture():
        paused.wait(timeout=60)
        results["second"] = capture.capture(model, second)
        resume.set()

    results: dict[str, list] = {}
    thread = threading.Thread(target=second_capture)
    thread.start()
    handle = capture.moe_blocks(model)[0].register_forward_pre_hook(pause)
    try:
        results["first"] = capture.capture(model, first)
    finally:
        handle.remove()
        resume.set()
        thread.join()
    for name, ids in (("first", first), ("second", second)):
        alone = capture.capture(model, ids)
        assert [layer.x.shape[0] for layer in results[name]] == [ids.shape[1]] * len(alone)
        for ours, theirs in zip(results[name], alone, strict=True):
            torch.testing.assert_close(ours.y, theirs.y, atol=1e-6, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("experts", "k"), SHAPES)
def test_aux_loss_matches_transformers(seed, experts, k):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(300, experts, generator=gen) * 2
    r = moe.route(logits, torch.eye(experts), k)  # an identity router passes the logits on
    ours = moe.load_balancing_loss(r.probs, r.experts)
    theirs = load_balancing_loss_func((logits,), experts, k)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


def test_aux_loss_equals_its_formula_on_hand_made_routing():
    # 4 tokens, 2 experts, top-1. Probabilities chosen by hand.
    probs = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.4, 0.6]])
    experts = torch.tensor([[0], [0], [0], [1]])
    f = [3 / 4, 1 / 4]  # expert 0 chosen by 3 of 4 tokens
    p = [(0.9 + 0.8 + 0.7 + 0.4) / 4, (0.1 + 0.2 + 0.3 + 0.6) / 4]
    expected = 2 * (f[0] * p[0] + f[1] * p[1])
    assert moe.load_balancing_loss(probs, experts).item() == pytest.approx(expected)
    # perfectly even routing gives k, collapse onto one expert gives E · P_0 with top-1
    even = torch.full((6, 3), 1 / 3)
    assert moe.load_balancing_loss(even, torch.tensor([[0, 1], [1, 2], [2, 0]] * 2)).item() == (
        pytest.approx(2.0)
    )
    assert moe.load_balancing_loss(probs, torch.zeros(4, 1, dtype=torch.long)).item() == (
        pytest.approx(2 * p[0])
    )


def test_aux_loss_gradient_pushes_away_from_the_busiest_expert():
    logits = torch.tensor([[2.0, 0.0, 0.0]] * 5 + [[0.0, 1.0, 0.0]], requires_grad=True)
    probs = logits.softmax(-1)
    loss = moe.load_balancing_loss(probs, probs.topk(1).indices)
    loss.backward()
    assert (logits.grad[:5, 0] > 0).all()  # gradient descent lowers expert 0's logit


def brute_force_kept(experts: list[list[int]], num_experts: int, capacity: int) -> list[list[bool]]:
    """The rule spelled out: first choices in token order, then second choices, and so on."""
    used = [0] * num_experts
    kept = [[False] * len(row) for row in experts]
    for slot in range(len(experts[0])):
        for t, row in enumerate(experts):
            if used[row[slot]] < capacity:
                used[row[slot]] += 1
                kept[t][slot] = True
    return kept


def test_capacity_drops_exactly_the_tokens_beyond_capacity_by_hand():
    # 5 tokens, 3 experts, top-2, capacity 2
    experts = torch.tensor([[0, 1], [0, 2], [0, 1], [1, 0], [2, 1]])
    kept = moe.capacity_mask(experts, 3, 2)
    # first choices: expert 0 gets tokens 0, 1; token 2's first choice (0) is full; 1 gets
    # token 3, 2 gets token 4. Second choices: token 0 -> 1 (2nd seat), token 1 -> 2 (2nd),
    # token 2 -> 1 full, token 3 -> 0 full, token 4 -> 1 full.
    expected = [[True, True], [True, True], [False, False], [True, False], [True, False]]
    assert kept.tolist() == expected
    r = moe.Routing(
        torch.zeros(5, 3), torch.full((5, 3), 1 / 3), experts, torch.full((5, 2), 0.5), kept, 2
    )
    assert r.wanted.tolist() == [4, 4, 2] and r.load.tolist() == [2, 2, 2]


@pytest.mark.parametrize("seed", range(5))
def test_capacity_matches_the_rule_on_random_routing(seed):
    gen = torch.Generator().manual_seed(seed)
    num_experts, k, t = 6, 2, 40
    experts = torch.stack([torch.randperm(num_experts, generator=gen)[:k] for _ in range(t)])
    for capacity in (0, 1, 5, 13, 80):
        kept = moe.capacity_mask(experts, num_experts, capacity)
        assert kept.tolist() == brute_force_kept(experts.tolist(), num_experts, capacity)
        assert (torch.bincount(experts[kept], minlength=num_experts) <= capacity).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_dropped_choices_add_nothing(seed):
    gen = torch.Generator().manual_seed(seed)
    layer = moe.MoELayer(moe.MoEConfig(24, 32, 4, 2, capacity_factor=0.5), generator=gen).eval()
    x = torch.randn(30, 24, generator=gen)
    with torch.no_grad():
        out, naive = layer(x), layer(x, naive=True)
    r = out.routing
    assert r.capacity == math.ceil(0.5 * 30 * 2 / 4) and (~r.kept).any()
    torch.testing.assert_close(out.y, naive.y, atol=1e-5, rtol=0)
    expected = torch.zeros_like(x)  # the definition, token by token
    for t in range(30):
        for slot in range(2):
            if r.kept[t, slot]:
                e = int(r.experts[t, slot])
                expected[t] += r.gates[t, slot] * layer.experts.ffn(e, x[t : t + 1])[0].detach()
    torch.testing.assert_close(out.y, expected, atol=1e-5, rtol=0)
    lost = (~r.kept).all(-1)
    assert (out.y[lost] == 0).all()


def test_router_noise_is_seeded_and_only_in_training():
    layer = moe.MoELayer(moe.MoEConfig(16, 16, 8, 2, noise=1.0), torch.Generator().manual_seed(0))
    x = torch.randn(20, 16, generator=torch.Generator().manual_seed(1))
    clean = (x @ layer.router.T).detach()
    a = layer(x, generator=torch.Generator().manual_seed(5)).routing.logits
    b = layer(x, generator=torch.Generator().manual_seed(5)).routing.logits
    assert torch.equal(a, b) and not torch.allclose(a, clean)
    layer.eval()
    torch.testing.assert_close(layer(x).routing.logits, clean)


def test_gates_are_renormalised_top_k_of_a_softmax_over_all_experts():
    r = moe.route(torch.randn(10, 5), torch.randn(7, 5), 3)
    torch.testing.assert_close(r.gates.sum(-1), torch.ones(10))
    top = r.probs.topk(3).values
    torch.testing.assert_close(r.gates, top / top.sum(-1, keepdim=True))
    torch.testing.assert_close(r.probs.sum(-1), torch.ones(10))


def test_imbalance():
    assert moe.imbalance(torch.tensor([4, 4, 4, 4])) == 1.0
    assert moe.imbalance(torch.tensor([16, 0, 0, 0])) == 4.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(top_k=0), "top_k"), (dict(top_k=9), "top_k"), (dict(capacity_factor=0.0), "above 0")],
)
def test_bad_configs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        moe.MoEConfig(**{"d_model": 4, "d_ff": 4, "experts": 8, "top_k": 2, **kwargs})
