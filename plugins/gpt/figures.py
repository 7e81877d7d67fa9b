"""Plotly figures for the GPT tab: plain lists in, figures out (no torch here).

The tab redraws on every token, so figures take the cheap shared style of playground.plots.
"""

from __future__ import annotations

import plotly.graph_objects as go

from playground import plots
from playground.plots import ACCENT, INK

CHOSEN = "#f59e0b"  # the token actually picked at this position, in amber
MUTED = "#cbd5e1"  # tokens top-k / top-p / min-p removed


def _layout(title: str, height: int = 340, **axes) -> dict:
    return plots.layout(title, height, bottom=90, bargap=0.15, **axes)


# every candidate labelled (plotly drops every other one when crowded), small enough that 20
# fit side by side on a phone
TOKENS_AXIS = dict(dtick=1, tickfont=dict(size=10))


def distribution(
    labels: list[str], raw: list[float], kept: list[float], chosen: int | None, title: str
) -> go.Figure:
    """The top candidates: the model's own probabilities, greyed where the settings drop a
    token, beside the renormalised probabilities a token is actually drawn from."""
    colors = [CHOSEN if i == chosen else (ACCENT if k > 0 else MUTED) for i, k in enumerate(kept)]
    bars = go.Bar(
        x=labels,
        y=raw,
        marker_color=colors,
        name="model p (grey: removed)",
        hovertemplate="%{x}: p = %{y:.2%}<extra></extra>",
    )
    after = go.Scatter(
        x=labels,
        y=kept,
        mode="markers",
        name="p after the settings",
        marker=dict(symbol="diamond", size=9, color=INK),
        hovertemplate="%{x}: drawn with p = %{y:.2%}<extra></extra>",
    )
    layout = _layout(title, xaxis=TOKENS_AXIS, yaxis=dict(tickformat=".1%", rangemode="tozero"))
    return go.Figure(data=[bars, after], layout=layout)


def histogram(labels: list[str], exact: list[float], counts: list[int], draws: int) -> go.Figure:
    """Empirical frequencies of seeded draws against the exact probabilities they estimate."""
    data = [
        go.Bar(x=labels, y=exact, name="exact p", marker_color=ACCENT),
        go.Bar(
            x=labels,
            y=[c / draws for c in counts],
            name=f"share of {draws:,} draws",
            marker_color=CHOSEN,
        ),
    ]
    layout = _layout(
        f"How often each token is picked in {draws:,} draws",
        xaxis=TOKENS_AXIS,
        yaxis=dict(tickformat=".1%", rangemode="tozero"),
    )
    return go.Figure(data=data, layout=layout)


def step_times(cached: list[float], uncached: list[float], start: int) -> go.Figure:
    """Time per generated token against the sequence length, with and without the KV cache."""
    data = [
        go.Scatter(
            x=list(range(start + 1, start + len(times) + 1)),
            y=times,
            mode="lines+markers",
            name=name,
            line_color=color,
        )
        for times, name, color in ((uncached, "no cache", MUTED), (cached, "KV cache", ACCENT))
    ]
    layout = _layout(
        "Why caching matters: work per token",
        height=300,
        xaxis=dict(title="sequence length when the token is produced"),
        yaxis=dict(title="ms per token", rangemode="tozero"),
    )
    return go.Figure(data=data, layout=layout)
