"""Our attention against torch's SDPA and nn.MultiheadAttention, and against the weights
transformers returns for real and randomly initialised models, on fresh seeded inputs."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from plugins.attention import attention as att
from plugins.attention import capture

SEEDS = range(3)
REL = 1e-5  # the bound on relative error of the weights


def randn(seed: int, *shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def assert_weights_close(ours, ref):
    """Relative error ≤ 1e-5 wherever the reference weight is not vanishingly small."""
    assert ours.shape == ref.shape
    big = ref.abs() > 1e-6
    rel = ((ours - ref).abs() / ref.abs().clamp_min(1e-30))[big]
    assert rel.max().item() <= REL, rel.max().item()
    assert (ours - ref)[~big].abs().max().item() <= 1e-6 if (~big).any() else True


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 7, 8), (1, 4, 33, 16), (3, 2, 70, 64)])
def test_attention_matches_sdpa(seed, causal, shape):
    q, k, v = (randn(seed * 3 + i, *shape, dtype=torch.float64) for i in range(3))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    result = att.attention(q, k, v, causal=causal)
    torch.testing.assert_close(result.output, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(result.weights.sum(-1), torch.ones(shape[:3], dtype=torch.float64))
    if causal:
        assert (result.weights.triu(1) == 0).all()  # nothing from the future


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(1, 8, 256, 64), (2, 3, 200, 32), (1, 2, 5, 4)])
def test_fast_path_matches_sdpa_in_float32(seed, causal, shape):
    q, k, v = (randn(seed * 3 + i, *shape) for i in range(3))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert (att.attention_fast(q, k, v, causal=causal) - ref).abs().max().item() <= 1e-5
    assert (att.attention(q, k, v, causal=causal).output - ref).abs().max().item() <= 1e-5


@pytest.mark.parametrize("seed", SEEDS)
def test_bool_mask_and_scale_match_sdpa(seed):
    q, k, v = (randn(seed + i, 2, 3, 9, 8, dtype=torch.float64) for i in range(3))
    mask = randn(seed + 7, 2, 1, 9, 9) > -0.5
    mask[..., 0] = True  # every query keeps at least one key
    for causal in (False, True):
        ref = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=mask & torch.ones(9, 9, dtype=torch.bool).tril() if causal else mask,
            scale=0.3,
        )
        ours = att.attention(q, k, v, causal=causal, mask=mask, scale=0.3)
        torch.testing.assert_close(ours.output, ref)
        assert (ours.weights[~mask.expand_as(ours.weights)] == 0).all()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch_module(seed, causal):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(24, 4, batch_first=True).double().eval()
    x = randn(seed, 2, 11, 24, dtype=torch.float64)
    hidden = ~torch.ones(11, 11, dtype=torch.bool).tril() if causal else None
    ref_out, ref_w = mha(x, x, x, attn_mask=hidden, average_attn_weights=False)
    out, w = att.multi_head_attention(
        x, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight, mha.out_proj.bias, 4, causal
    )
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(w, ref_w)


def test_split_and_merge_heads_are_inverse():
    x = randn(0, 2, 5, 12)
    assert att.split_heads(x, 3).shape == (2, 3, 5, 4)
    assert torch.equal(att.merge_heads(att.split_heads(x, 3)), x)


@pytest.mark.parametrize("seed", SEEDS)
def test_head_steps_match_full_attention(seed):
    q, k, v = (randn(seed + i, 1, 1, 10, 6, dtype=torch.float64) for i in range(3))
    full = att.attention(q, k, v, causal=True)
    for i in (0, 4, 9):
        s = att.head_steps(q[0, 0], k[0, 0], v[0, 0], i, causal=True)
        torch.testing.assert_close(s.weights, full.weights[0, 0, i])
        torch.testing.assert_close(s.output, full.output[0, 0, i])
        torch.testing.assert_close(s.scaled, s.dots / math.sqrt(6))
        assert s.allowed.sum().item() == i + 1 and s.weights.sum().item() == pytest.approx(1)


def test_rope_rotation_keeps_length_and_sees_only_offsets():
    q, k = randn(0, 32, dtype=torch.float64), randn(1, 32, dtype=torch.float64)
    cos, sin = att.rope_angles(torch.arange(50), 32)
    rotated = att.apply_rope(q.float().expand(50, 32), cos, sin)
    torch.testing.assert_close(rotated.norm(dim=-1), q.float().norm().expand(50))
    a = att.rope_relative_scores(q, k, list(range(20)), 0, 1e4, 0.5)
    b = att.rope_relative_scores(q, k, list(range(20)), 30, 1e4, 0.5)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert a[0].item() == pytest.approx(float(q @ k) * 0.5, rel=1e-5)  # offset 0: no rotation


def test_repeat_kv_matches_transformers():
    from transformers.models.llama.modeling_llama import repeat_kv

    x = randn(3, 2, 3, 5, 4)
    assert torch.equal(att.repeat_kv(x, 4), repeat_kv(x, 4))


# -- against transformers' own attention weights (eager) ------------------------------------


def reference_weights(model, ids):
    with torch.inference_mode():
        return torch.stack(model(input_ids=ids, output_attentions=True).attentions)[:, 0]


@pytest.fixture(scope="module")
def registry():
    from playground import testing

    return testing.context().models


@pytest.fixture(scope="module")
def eager_minilm(registry):
    st = registry.get("minilm", "cpu")
    bert = copy.deepcopy(st[0].auto_model)  # a copy: the shared model keeps its sdpa
    bert.set_attn_implementation("eager")
    return bert, st.tokenizer


@pytest.mark.parametrize("seed", SEEDS)
def test_minilm_weights_match_transformers(eager_minilm, seed):
    bert, _ = eager_minilm
    ids = torch.randint(1000, 30000, (1, 24), generator=torch.Generator().manual_seed(seed))
    got = capture.capture(bert, ids)
    assert got.family == "bert" and not got.causal
    assert_weights_close(got.weights, reference_weights(bert, ids))


def test_capture_leaves_the_shared_minilm_as_it_was(registry):
    bert = registry.get("minilm", "cpu")[0].auto_model
    before = bert.config._attn_implementation
    capture.capture(bert, torch.tensor([[101, 7592, 102]]))
    assert bert.config._attn_implementation == before
    assert not any(m._forward_hooks for m in bert.modules())  # every hook removed


@pytest.mark.parametrize("seed", SEEDS)
def test_tiny_llama_weights_match_transformers(registry, seed):
    lm = registry.get("tiny-llama", "cpu")
    ids = torch.randint(4096, (1, 30), generator=torch.Generator().manual_seed(seed))
    got = capture.capture(lm.model, ids)
    assert got.family == "llama" and got.causal
    assert_weights_close(got.weights, reference_weights(lm.model, ids))
    # our RoPE angles are the ones the model used
    cos, sin = att.rope_angles(torch.arange(30), 32, lm.model.config.rope_parameters["rope_theta"])
    torch.testing.assert_close(got.layers[0].cos, cos)
    torch.testing.assert_close(got.layers[0].sin, sin)


def test_grouped_query_llama_matches_transformers():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=100,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=8,
        num_key_value_heads=2,
        attn_implementation="eager",
    )
    model = LlamaForCausalLM(config).eval()
    ids = torch.randint(100, (1, 17), generator=torch.Generator().manual_seed(1))
    got = capture.capture(model, ids)
    assert got.kv_heads == 2 and got.layers[0].k.shape == (8, 17, 8)
    assert_weights_close(got.weights, reference_weights(model, ids))


def test_gpt2_layout_matches_transformers():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=100, n_positions=64, n_embd=48, n_layer=2, n_head=4, attn_implementation="eager"
    )
    model = GPT2LMHeadModel(config).eval()
    ids = torch.randint(100, (1, 19), generator=torch.Generator().manual_seed(2))
    got = capture.capture(model, ids)
    assert got.family == "gpt2" and got.causal
    assert_weights_close(got.weights, reference_weights(model, ids))
