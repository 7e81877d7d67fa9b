"""The tab's handlers and its API, without a browser."""

from __future__ import annotations

import gradio as gr
import pytest
import torch

from playground import testing
from plugins.attention import playground_head, tab, views

TEXT = "the cat sat on the mat"


@pytest.fixture(scope="module")
def on():
    return tab.events(testing.context())  # the tab's handlers, bound as build binds them


def test_grid_shows_every_head_and_keeps_pickers_in_range(on):
    status, image, layer, head, query = on.grid(TEXT, "tiny-llama", 9, 11, 99)
    assert "4 layers × 6 heads" in status and "causal" in status
    assert image.ndim == 3 and image.shape[2] == 3
    tokens = views.run(testing.context(), "tiny-llama", TEXT).tokens
    assert (layer, head) == (3, 5) and query == len(tokens) - 1


def test_long_text_is_truncated_with_a_notice(on):
    status, *_ = on.grid("word " * 300, "minilm", 0, 0, 0)
    assert "128 tokens" in status and "first 128" in status
    assert len(views.run(testing.context(), "minilm", "word " * 300).tokens) == 128


@pytest.mark.parametrize("model_id", ["minilm", "tiny-llama"])
def test_head_steps_are_the_model_weights_and_sum_to_one(on, model_id):
    *_, md, _, _, rows = on.head(TEXT, model_id, 1, 2, 3, 0.1)
    weights = [float(r[5]) for r in rows]
    assert sum(weights) == pytest.approx(1, abs=1e-5)
    real = views.run(testing.context(), model_id, TEXT).captured.layers[1].weights[2, 3]
    assert weights == pytest.approx(real.tolist(), abs=1e-6)
    causal = model_id == "tiny-llama"
    assert ("Causal mask" in md) == causal
    if causal:
        assert all(r[4] == "−∞" and float(r[5]) == 0 for r in rows[4:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((TEXT, "minilm", 6, 0, 0, 0.1), r"Layer 6 is out of range: choose one from 0 to 5"),
        ((TEXT, "minilm", 0, 12, 0, 0.1), r"from 0 to 11"),
        ((TEXT, "tiny-llama", 0, 6, 0, 0.1), r"from 0 to 5"),
        ((TEXT, "minilm", 0, 0, 99, 0.1), r"Query token position 99 is out of range"),
        ((TEXT, "minilm", -1, 0, 0, 0.1), r"whole number"),
        ((TEXT, "minilm", 1.5, 0, 0, 0.1), r"whole number"),
        ((TEXT, "minilm", float("nan"), 0, 0, 0.1), r"whole number"),
        ((TEXT, "minilm", 0, 0, 0, 2.0), r"between 0.01 and 1.0"),
        (("", "minilm", 0, 0, 0, 0.1), r"Type some text"),
        (("x" * 2001, "minilm", 0, 0, 0, 0.1), r"at most 2,000"),
        ((TEXT, "nope", 0, 0, 0, 0.1), r"Unknown model 'nope'"),
        ((TEXT, "gpt2", 0, 0, 0, 0.1), r"not in the local Hugging Face cache"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(on, args, message):
    with pytest.raises(gr.Error, match=message):
        on.head(*args)


def test_positions_show_rope_and_learned_positions(on):
    md, fig = on.positions("I saw the cat and the dog", "tiny-llama")
    assert "RoPE" in md and "cosine 1.0000" in md  # the same query before rotation
    a, b = (trace.y for trace in fig.data)
    assert a == pytest.approx(b, abs=1e-3)  # scores depend on the offset only
    md, fig = on.positions("the dog saw the cat", "minilm")
    assert "learned position vector" in md and fig is not None
    md, fig = on.positions("one two three", "minilm")
    assert "No token appears twice" in md and fig is None


def test_playground_head_is_our_attention_on_the_table():
    table = playground_head.toy_defaults("a b c")
    table[0][1:3] = [3.0, 0.0]  # query of "a" points along x
    table[2][3:5] = [3.0, 0.0]  # key of "c" points there too
    fig, _, _ = tab.on_toy(table, False)
    w = torch.tensor(fig.data[0].z)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, dtype=w.dtype))
    assert w[0].argmax().item() == 2
    fig, _, _ = tab.on_toy(table, True)
    assert torch.tensor(fig.data[0].z)[0].tolist() == [1.0, 0.0, 0.0]  # causal: a sees a only
    with pytest.raises(gr.Error, match="finite"):
        tab.on_toy([["a", 1, 2, 3, 4, 5, float("inf")]], False)
    with pytest.raises(gr.Error, match="1 to 8 tokens"):
        tab.on_toy_reset("a " * 9)


def test_anatomy_checks_bundled_models_against_their_weights(on):
    md, _, rows = on.anatomy("Tiny Mixtral MoE (bundled)", 512)
    assert "matches `sum(p.numel())`" in md and "sparse MoE" in md
    assert rows[-1][1] == "6,102,720"
    md, _, rows = on.anatomy("GPT-2 small", 1024)
    assert rows[-1][1] == "124,439,808" and "66.6%" in md
    assert "**0.362 GFLOPs** as Hoffmann" in md and "**0.189 GFLOPs** as Kaplan" in md
    assert rows[-1][3] == "362,449,920"  # the table counts as Chinchilla's Appendix F does
    with pytest.raises(gr.Error, match="whole number from 1"):
        on.anatomy("GPT-2 small", 0)


def test_clicking_the_grid_image_picks_a_head():
    from plugins.attention import figures

    step = figures.CELL + figures.GAP
    x, y = figures.LEFT + 3 * step + 5, figures.TOP + 2 * step + 5
    assert figures.grid_cell(x, y) == (2, 3)
    assert figures.grid_cell(figures.LEFT + step - 1, figures.TOP + 1) is None  # in a gap


@pytest.fixture(scope="module")
def url():
    blocks = testing.build_concept(next(c for c in testing.load_plugin("attention").concepts))
    with testing.serving(blocks) as address:
        yield address


def test_api_endpoints_answer(url):
    event, data = testing.call_endpoint(url, "attention_head", (TEXT, "minilm", 0, 0, 1, 0.1))
    assert event == "complete"
    weights = [float(row[5]) for row in data[-1]["data"]]
    assert sum(weights) == pytest.approx(1, abs=1e-5)
    event, data = testing.call_endpoint(url, "attention_anatomy", ("Llama-2-7B", 4096))
    assert event == "complete" and data[-1]["data"][-1][1] == "6,738,415,616"


def test_api_refuses_an_out_of_range_head(url):
    event, message = testing.call_endpoint(url, "attention_head", (TEXT, "minilm", 0, 12, 1, 0.1))
    assert event == "error" and "from 0 to 11" in message


@pytest.mark.parametrize(
    ("model_id", "layer", "head", "query"), [("minilm", 1, 3, 0), ("tiny-llama", 2, 5, 4)]
)
@pytest.mark.slow
def test_the_exported_script_reads_the_same_weights_from_transformers(model_id, layer, head, query):
    from plugins.attention import reproduce

    text = "A small cat sat on the warm mat."
    result = reproduce.export(testing.context(), text, model_id, layer, head, query, 0.1)
    weights = result.numbers["weights"]
    assert sum(weights) == pytest.approx(1, abs=1e-5) and result.numbers["input_ids"]
    assert 'attn_implementation="eager"' in result.snippet
    testing.check_snippet(result, atol=1e-5)
