"""The figures' layout: what keeps their texts apart at a desktop's and a phone's width."""

from __future__ import annotations

import numpy as np

from plugins.moe import figures

TOKENS, EXPERTS, LAYERS = 5, 8, 4


def legend_is_below(fig) -> bool:
    legend = fig.layout.legend
    return (legend.orientation, legend.yref, legend.y, legend.yanchor) == (
        "h",
        "container",
        0,
        "bottom",
    )


def test_router_maps_put_the_layers_in_a_grid_with_one_colour_bar_under_it():
    rng = np.random.default_rng(0)
    probs = [rng.dirichlet(np.ones(EXPERTS), TOKENS) for _ in range(LAYERS)]
    chosen = [p.argsort(-1)[:, :2] for p in probs]
    fig = figures.router_maps(probs, chosen, [f"t{i}" for i in range(TOKENS)])
    columns = {tuple(axis.domain) for axis in fig.select_xaxes()}
    assert len(columns) == figures.MAP_COLS  # not one column per layer: a phone has no room
    bars = [t.colorbar for t in fig.data if t.type == "heatmap" and t.showscale]
    assert len(bars) == 1 and bars[0].orientation == "h"
    assert legend_is_below(fig)


def test_lab_map_states_the_capacity_under_its_title_and_its_legend_below():
    probs = np.full((TOKENS, EXPERTS), 1 / EXPERTS)
    chosen = np.zeros((TOKENS, 1), dtype=int)
    fig = figures.lab_map(probs, chosen, np.ones((TOKENS, 1), dtype=bool), 3)
    assert fig.layout.title.subtitle.text == "capacity 3 tokens per expert"
    assert legend_is_below(fig)
    assert all(fig.layout[a].zeroline is False for a in ("xaxis", "yaxis"))


def test_training_colours_each_run_title_as_its_imbalance_line():
    shares = {name: [[1 / EXPERTS] * EXPERTS] * 3 for name in ("without", "with")}
    fig = figures.training(shares, {"without": [1, 2, 3], "with": [1, 1, 1]}, 3)
    lines = {t.name: t.line.color for t in fig.data if t.stackgroup is None}
    titles = {a.text: a.font.color for a in fig.layout.annotations}
    assert lines == {name: titles[name] for name in ("without", "with")}
    assert {t.name for t in fig.data if t.showlegend} == {str(e) for e in range(EXPERTS)}
    assert legend_is_below(fig)
