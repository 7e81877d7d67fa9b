"""Plotly figures for the diffusion tab: plain lists in, figures out (no torch here).

The timestep slider redraws the curves as it moves, so figures take the cheap shared style of
playground.plots.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

from playground import plots
from playground.plots import ACCENT, INK, LEGEND_BELOW

MUTED = "#cbd5e1"
REAL = "#9ca3af"
SCHEDULE_COLOURS = {"linear": "#f59e0b", "scaled-linear": "#10b981", "cosine": "#4f46e5"}
TRAIL = "rgba(79, 70, 229, 0.25)"
ARROW = "#ef4444"


# Gradio shows a titled figure with a top margin of at least 100 px, its label floating over
# the first 40: the title stands on the plot, below the label. A long title goes on in a
# subtitle, since Plotly places a title of several lines as if it had one.
TOP = 100
TITLE_CHARS = 46  # a title's line at 14 px fits a phone's figure (about 330 px) in this many


def _layout(title: str, height: int = 340, **axes) -> dict:
    first, *rest = textwrap.wrap(title, TITLE_CHARS) or [""]
    layout = plots.layout(first, height, **axes)
    layout["title"].update(
        font=dict(size=14),
        subtitle=dict(text=" ".join(rest), font=dict(size=14)),
        yref="paper",
        y=1,
        yanchor="bottom",
        pad=dict(b=12),
    )
    layout["margin"].update(t=TOP, b=50)
    return dict(layout, legend=LEGEND_BELOW)


def signal_curves(curves: dict[str, list[float]], chosen: str, t: int) -> go.Figure:
    """ᾱ_t (the share of the signal's variance left) for every schedule, with t marked."""
    steps = list(range(len(next(iter(curves.values())))))
    traces = [
        go.Scatter(
            x=steps,
            y=values,
            name=name,
            mode="lines",
            line=dict(color=SCHEDULE_COLOURS[name], width=4 if name == chosen else 1.5),
            hovertemplate=f"{name}: ᾱ_%{{x}} = %{{y:.4f}}<extra></extra>",
        )
        for name, values in curves.items()
    ]
    traces.append(
        go.Scatter(
            x=[t],
            y=[curves[chosen][t]],
            mode="markers",
            name=f"t = {t}",
            marker=dict(size=12, color=INK, symbol="x"),
            hoverinfo="skip",
        )
    )
    layout = _layout(
        "Signal retention ᾱ_t: what is left of x_0",
        380,
        xaxis=dict(title="timestep t"),
        # from just below 0: the y axis's 0 then sits above the x axis's, not on it
        yaxis=dict(title="ᾱ_t", range=[-0.04, 1.04]),
    )
    return go.Figure(data=traces, layout=layout)


def loss_curve(losses: list[float], title: str) -> go.Figure:
    """Per-step training loss and its running mean."""
    steps = list(range(1, len(losses) + 1))
    window = 25
    smooth = [
        sum(losses[max(0, i - window + 1) : i + 1]) / (i + 1 - max(0, i - window + 1))
        for i in range(len(losses))
    ]
    traces = [
        go.Scatter(x=steps, y=losses, name="loss", mode="lines", line=dict(color=MUTED)),
        go.Scatter(
            x=steps, y=smooth, name=f"mean of {window}", mode="lines", line=dict(color=ACCENT)
        ),
    ]
    layout = _layout(
        title,
        xaxis=dict(title="step"),
        yaxis=dict(title="MSE(ε, ε_θ)", rangemode="tozero"),
    )
    return go.Figure(data=traces, layout=layout)


def _arrows(origins: list[list[float]], vectors: list[list[float]]) -> tuple[list, list]:
    """Segments from each origin along its vector, joined with gaps (None) for one trace."""
    xs, ys = [], []
    for (x, y), (u, v) in zip(origins, vectors, strict=True):
        xs += [x, x + u, None]
        ys += [y, y + v, None]
    return xs, ys


def points_2d(
    real: list[list[float]],
    current: list[list[float]],
    trails: list[list[list[float]]],
    field: tuple[list[list[float]], list[list[float]]] | None,
    title: str,
    bounds: tuple[float, float],
    height: int = 520,
) -> go.Figure:
    """Real points, the points at the current step, their trails so far, and score arrows."""
    traces = [
        go.Scattergl(
            x=[p[0] for p in real],
            y=[p[1] for p in real],
            mode="markers",
            name="real data",
            marker=dict(size=3, color=REAL),
            hoverinfo="skip",
        )
    ]
    if field is not None:
        xs, ys = _arrows(*field)
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name="learned score ∇log p_t",
                line=dict(color=ARROW, width=1.2),
                hoverinfo="skip",
            )
        )
        traces.append(
            go.Scatter(
                x=[o[0] + v[0] for o, v in zip(*field, strict=True)],
                y=[o[1] + v[1] for o, v in zip(*field, strict=True)],
                mode="markers",
                showlegend=False,
                marker=dict(size=4, color=ARROW),
                hoverinfo="skip",
            )
        )
    xs, ys = [], []
    for trail in trails:
        xs += [p[0] for p in trail] + [None]
        ys += [p[1] for p in trail] + [None]
    traces.append(
        go.Scatter(x=xs, y=ys, mode="lines", name="trajectories", line=dict(color=TRAIL, width=1))
    )
    traces.append(
        go.Scattergl(
            x=[p[0] for p in current],
            y=[p[1] for p in current],
            mode="markers",
            name="samples now",
            marker=dict(size=4, color=ACCENT),
        )
    )
    axis = dict(range=list(bounds), zeroline=False, constrain="domain")  # square, as the data
    layout = _layout(title, height, xaxis=axis, yaxis={**axis, "scaleanchor": "x"})
    return go.Figure(data=traces, layout=layout)
