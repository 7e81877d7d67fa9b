"""Parameter counts against the published totals and against the real bundled models."""

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


def test_flops_are_twice_the_matrix_parameters_plus_attention():
    arch = anatomy.PRESETS["GPT-2 small"]
    b = anatomy.breakdown(arch, context=1)
    matrices = 12 * (4 * 768 * 768 + 2 * 768 * 3072) + 50_257 * 768  # blocks + unembedding
    assert b.flops == 2 * matrices + 12 * 4 * 768
    more = anatomy.breakdown(arch, context=1025)
    assert more.flops - b.flops == 12 * 4 * 1024 * 768  # q·k and w·v per extra token


@pytest.fixture(scope="module")
def registry():
    from playground.host import load
    from playground.models import REGISTRY

    load(only=["models"])
    return REGISTRY


@pytest.mark.parametrize("model_id", ["tiny-llama", "tiny-mixtral", "minilm"])
def test_bundled_models_match_their_real_parameter_count(registry, model_id):
    from plugins.models.language import parameter_counts

    loaded = registry.get(model_id, "cpu")
    model = loaded[0].auto_model if model_id == "minilm" else loaded.model
    b = anatomy.breakdown(anatomy.from_config(model.config))
    total, active = parameter_counts(model)
    assert b.total == sum(p.numel() for p in model.parameters()) == total
    assert b.active == active
