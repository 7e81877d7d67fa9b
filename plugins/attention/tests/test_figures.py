"""The attention figures' layout, with no browser or model: token axes that Plotly may thin on a
narrow screen, link labels outside the links, and titles that do not collide."""

from __future__ import annotations

import numpy as np

from plugins.attention import figures

TOKENS = ["<s>", "the", "cat", "sat", "on", "the", "mat"]


def weights(t: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    w = rng.random((t, t))
    return w / w.sum(axis=1, keepdims=True)


def test_the_heatmap_names_every_position_by_its_token_on_category_axes():
    fig = figures.heatmap(weights(len(TOKENS)), TOKENS, "Layer 0, head 0")
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        # a category axis (Plotly thins its labels when they would touch), never fixed ticks
        assert axis.type == "category" and axis.tickvals is None
        assert axis.labelalias == {str(i): t for i, t in enumerate(["&lt;s&gt;", *TOKENS[1:]])}
    assert fig.layout.xaxis.tickangle == -90  # upright labels need only a line's height each
    assert fig.data[0].colorbar.title.side == "right"  # not over its top tick
    assert fig.data[0].customdata[1][5] == "the → the"  # the two "the"s stay apart


def test_the_heatmap_grows_with_the_text_up_to_a_limit():
    short, long = (figures.heatmap(weights(t), ["x"] * t, "") for t in (21, 128))
    assert short.layout.height >= 170 + 16 * 21 and long.layout.height == 900


def test_link_labels_sit_outside_the_links():
    fig = figures.lines(weights(len(TOKENS)), TOKENS, 0.1, 1)
    labels = [t for t in fig.data if t.mode == "markers+text"]
    assert [(t.x[0], t.textposition) for t in labels] == [(0, "middle left"), (1, "middle right")]
    assert list(labels[0].text) == TOKENS


def test_link_labels_thin_out_when_rows_are_closer_than_a_label():
    tokens = [f"t{i}" for i in range(128)]
    fig = figures.lines(weights(128), tokens, 0.5, 0)
    text = list(next(t for t in fig.data if t.mode == "markers+text").text)
    named = [i for i, t in enumerate(text) if t]
    row_px = (fig.layout.height - fig.layout.margin.t - fig.layout.margin.b) / 128
    assert named[0] == 0 and (named[1] - named[0]) * row_px >= figures.LINE_PX
    assert len(named) < 128


def test_the_query_row_shows_no_ticks_under_its_title_neighbours():
    d = 32
    rng = np.random.default_rng(1)
    q, out = rng.standard_normal(d), rng.standard_normal(d)
    k, v = rng.standard_normal((len(TOKENS), d)), rng.standard_normal((len(TOKENS), d))
    fig = figures.vectors(q, k, v, out, TOKENS)
    assert fig.layout.xaxis.showticklabels is False and fig.layout.xaxis2.showticklabels is False
    assert fig.layout.yaxis3.labelalias["2"] == "cat" and fig.layout.yaxis4.showticklabels is False


def test_anatomy_stacks_its_two_charts_with_titles_from_the_left_edge():
    rows = [("embeddings", 10, 10, 20), ("attention", 5, 5, 30), ("FFN", 8, 8, 40)]
    fig = figures.anatomy_bars(rows, "GPT-2 small")
    assert [t.orientation for t in fig.data] == ["h", "h", "h"]
    assert fig.layout.xaxis.domain == fig.layout.xaxis2.domain  # one above the other
    assert all(a.xanchor == "left" for a in fig.layout.annotations)
