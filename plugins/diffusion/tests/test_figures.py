"""The figures' layout: what keeps their texts apart at a desktop's and a phone's width."""

from __future__ import annotations

from plugins.diffusion import figures

CURVES = {name: [1.0, 0.5, 0.0] for name in figures.SCHEDULE_COLOURS}


def test_the_signal_axis_starts_below_zero_and_the_legend_sits_below():
    fig = figures.signal_curves(CURVES, "linear", 1)
    assert fig.layout.yaxis.range[0] < 0  # its 0 sits above the time axis's 0, not on it
    legend = fig.layout.legend
    assert (legend.orientation, legend.yref, legend.y, legend.yanchor) == (
        "h",
        "container",
        0,
        "bottom",
    )


def test_a_long_title_goes_on_in_a_subtitle_of_lines_a_phone_fits():
    title = "Step 50 of 50 (x_0, finished); arrows: the score at t = 0 (scaled)"
    fig = figures.points_2d([[0, 0]], [[0, 0]], [], None, title, (-1, 1))
    first, rest = fig.layout.title.text, fig.layout.title.subtitle.text
    assert f"{first} {rest}" == title
    assert len(first) <= figures.TITLE_CHARS and len(rest) <= figures.TITLE_CHARS
    assert figures.loss_curve([1.0], "Training loss").layout.title.subtitle.text == ""
