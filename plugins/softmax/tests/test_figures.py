"""The figures' layout: what keeps their texts apart at a desktop's and a phone's width."""

from __future__ import annotations

import math

from plugins.softmax import figures

LABELS = ["mat", "floor", "sofa"]


def test_logits_sit_above_their_probabilities_on_one_shared_token_axis():
    fig = figures.logits_and_probs(
        LABELS, [2.0, 1.0, 0.1], [4.0, 2.0, 0.2], [0.7, 0.2, 0.1], 0, 0.5
    )
    top, bottom = fig.layout.yaxis.domain, fig.layout.yaxis2.domain
    assert bottom[1] < top[0]  # stacked: each panel keeps the figure's whole width
    assert fig.layout.xaxis.matches == "x2" or fig.layout.xaxis2.matches == "x"
    assert fig.layout.margin.t >= figures.LABEL_PX + 20  # the first title clears the label
    assert [t.name for t in fig.data if t.showlegend is not False] == ["z / 0.5"]


def test_temperature_axes_start_below_zero_and_share_their_zero_and_top():
    c = 8
    fig = figures.temperature_curves(
        [0.05, 1.0, 5.0], [0.0, 1.0, 2.0], [1.0, 0.6, 0.2], 1.0, math.log(c)
    )
    entropy, top1 = fig.layout.yaxis.range, fig.layout.yaxis2.range
    assert entropy[0] < 0 and top1[0] < 0  # each 0 sits above the x axis's first label
    # one grid serves both axes: 0 at the same height, ln C level with 100 %
    assert entropy[0] / entropy[1] == top1[0] / top1[1]
    assert math.isclose(math.log(c) / entropy[1], 1.0 / top1[1])
    legend = fig.layout.legend
    assert (legend.orientation, legend.yref, legend.y, legend.yanchor) == (
        "h",
        "container",
        0,
        "bottom",
    )
