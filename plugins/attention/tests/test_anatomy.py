"""Parameter counts against the published totals, transformers' own models and the bundled
ones; FLOPs per token both ways (Kaplan et al. Table 1, Hoffmann et al. Appendix F), by hand."""

from __future__ import annotations

import pytest

from plugins.attention import anatomy


@pytest.mark.parametrize(
    ("name", "total", "active"),
    [
        ("GPT-2 small", 124_439_808, 124_439_808),
        ("Llama-2-7B", 6_738_415_616, 6_738_415_616),
        ("Mixtral-8x7B", 46_702_792_704, 12_879_925_248),
    ],
)
def test_presets_match_published_totals(name, total, active):
    b = anatomy.breakdown(anatomy.PRESETS[name])
    assert b.total == total and b.active == active


def test_mixtral_is_about_12_9_b_active():
    assert anatomy.breakdown(anatomy.PRESETS["Mixtral-8x7B"]).active / 1e9 == pytest.approx(
        12.9, abs=0.05
    )


@pytest.mark.parametrize("name", ["GPT-2 small", "Llama-2-7B"])
def test_a_dense_block_is_two_thirds_ffn(name):
    b = anatomy.breakdown(anatomy.PRESETS[name])
    assert b.block_ffn_params / b.block_params == pytest.approx(2 / 3, abs=0.01)
    assert b.total == b.active


# vocab 100, d_model 8, 2 layers of 2 heads × 4 (d_attn 8), d_ff 32, n_ctx 16
SMALL = anatomy.Architecture(
    "small",
    vocab=100,
    d_model=8,
    layers=2,
    heads=2,
    kv_heads=2,
    head_dim=4,
    ffn=32,
    gated=False,
    context=16,
)


def test_kaplan_count_by_hand():
    b = anatomy.breakdown(SMALL)
    assert b.non_embedding == 1536  # N = 2 · d_model · n_layer · (2 d_attn + d_ff) = 2·8·2·48
    assert b.kaplan_flops == 3584  # 2N + 2 · n_layer · n_ctx · d_attn = 3072 + 2·2·16·8


def test_chinchilla_count_by_hand():
    b = anatomy.breakdown(SMALL)
    # per layer: q, k, v 2·3·8·8 = 384; q·k 2·16·8 = 256; softmax 3·2·16 = 96; values 256;
    # output projection 2·8·8 = 128; FFN 2·(8·32 + 8·32) = 1024; together 2144
    flops = {c.name: c.flops for c in b.components}
    assert flops == {
        "embeddings": 1600,
        "attention": 2 * 1120,
        "FFN": 2 * 1024,
        "norms": 0,  # stored, but no matrix product
        "unembedding": 1600,
    }
    assert b.flops == 1600 + 2 * 2144 + 1600  # embedding 2·100·8, two layers, logits 2·8·100


def test_gpt2_small_both_ways():
    b = anatomy.breakdown(anatomy.PRESETS["GPT-2 small"], context=1024)
    assert b.non_embedding == 12 * 12 * 768**2 == 84_934_656  # Kaplan's 12 · n_layer · d_model²
    assert b.kaplan_flops == 2 * 84_934_656 + 2 * 12 * 1024 * 768 == 188_743_680
    layer = 6 * 768**2 + 4 * 1024 * 768 + 3 * 12 * 1024 + 2 * 768**2 + 4 * 768 * 3072
    assert b.flops == 2 * 2 * 50_257 * 768 + 12 * layer == 362_449_920
    longer = anatomy.breakdown(anatomy.PRESETS["GPT-2 small"], context=2048)
    assert longer.kaplan_flops - b.kaplan_flops == 2 * 12 * 1024 * 768
    assert longer.flops - b.flops == 12 * (4 * 1024 * 768 + 3 * 12 * 1024)  # twice, + softmax


def test_mixture_of_experts_counts_only_the_active_experts():
    b = anatomy.breakdown(anatomy.PRESETS["Mixtral-8x7B"], context=4096)
    d, ffn, n = 4096, 14_336, 32
    attention = d * 4096 + 2 * d * 1024 + 4096 * d  # eight k/v heads of 128: 1024 wide
    assert b.non_embedding == n * (attention + 2 * 3 * d * ffn + d * 8)  # two experts, router
    assert b.kaplan_flops == 2 * b.non_embedding + 2 * n * 4096 * 4096


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("GPT-2 small", lambda t: t.GPT2LMHeadModel(t.GPT2Config())),
        ("Llama-2-7B", lambda t: t.LlamaForCausalLM(t.LlamaConfig(max_position_embeddings=4096))),
        ("Mixtral-8x7B", lambda t: t.MixtralForCausalLM(t.MixtralConfig())),
    ],
)
def test_presets_match_transformers_models_built_without_weights(name, build):
    torch, transformers = pytest.importorskip("torch"), pytest.importorskip("transformers")
    with torch.device("meta"):  # shapes only: no memory, no download
        model = build(transformers)
    b = anatomy.breakdown(anatomy.from_config(model.config))
    assert b.total == sum(p.numel() for p in model.parameters())
    assert b.total == anatomy.breakdown(anatomy.PRESETS[name]).total


@pytest.fixture(scope="module")
def registry():
    from playground import testing

    return testing.context().models


@pytest.mark.parametrize("model_id", ["tiny-llama", "tiny-mixtral", "minilm"])
def test_bundled_models_match_their_real_parameter_count(registry, model_id):
    from plugins.models.language import parameter_counts

    loaded = registry.get(model_id, "cpu")
    model = loaded[0].auto_model if model_id == "minilm" else loaded.model
    b = anatomy.breakdown(anatomy.from_config(model.config))
    total, active = parameter_counts(model)
    assert b.total == sum(p.numel() for p in model.parameters()) == total
    assert b.active == active
