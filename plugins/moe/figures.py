"""Plotly figures for the MoE tab: plain lists and numpy arrays in, figures out (no torch).

Built with constructors and template="none" plus explicit colours: the training plot is redrawn
many times a second, and plotly's named templates cost ~20 ms a figure to copy.
"""

from __future__ import annotations

import colorsys

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACCENT = "#4f46e5"
DROPPED = "#dc2626"
MUTED = "#94a3b8"
INK = "#111827"
GRID = "#e5e7eb"
SCALE = [[0.0, "#ffffff"], [0.35, "#a5b4fc"], [1.0, "#1e1b4b"]]
LAYOUT = dict(template="none", paper_bgcolor="white", plot_bgcolor="white", font=dict(size=12))


def expert_colours(n: int) -> list[str]:
    """n distinct colours around the hue circle, so 64 experts still tell apart."""
    rgb = (colorsys.hls_to_rgb((i * 0.618034) % 1.0, 0.5, 0.65) for i in range(n))
    return [f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})" for r, g, b in rgb]


def _axes(fig: go.Figure) -> None:
    fig.update_xaxes(showgrid=False, linecolor=MUTED, ticks="outside")
    fig.update_yaxes(gridcolor=GRID, linecolor=MUTED, zeroline=False)


def _rows_height(tokens: int) -> int:
    return int(min(1400, max(320, 120 + 16 * tokens)))


def router_maps(probs: list[np.ndarray], chosen: list[np.ndarray], tokens: list[str]) -> go.Figure:
    """One token × expert map of router probabilities per layer, each token's top-k ringed."""
    layers, (t, e) = len(probs), probs[0].shape
    fig = make_subplots(
        rows=1,
        cols=layers,
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=[f"layer {i}" for i in range(layers)],
    )
    rows = [f"{i} {tok}" for i, tok in enumerate(tokens)]  # positions keep repeats apart
    for i, (p, c) in enumerate(zip(probs, chosen, strict=True)):
        fig.add_trace(
            go.Heatmap(
                z=p,
                x=list(range(e)),
                y=rows,
                zmin=0,
                zmax=1,
                colorscale=SCALE,
                showscale=i == layers - 1,
                colorbar=dict(title="p", thickness=12),
                hovertemplate="%{y}<br>expert %{x}: p = %{z:.3f}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
        fig.add_trace(
            go.Scatter(
                x=c.flatten(),
                y=np.repeat(rows, c.shape[1]),
                mode="markers",
                marker=dict(symbol="circle-open", size=9, color="#f59e0b", line=dict(width=2)),
                name="top-k",
                showlegend=i == 0,
                hoverinfo="skip",
            ),
            row=1,
            col=i + 1,
        )
        fig.update_xaxes(dtick=1, title_text="expert", row=1, col=i + 1)
    fig.update_yaxes(autorange="reversed", type="category", tickfont=dict(size=10))
    fig.update_layout(
        **LAYOUT,
        height=_rows_height(t),
        margin=dict(l=110, r=20, t=90, b=50),
        legend=dict(orientation="h", y=1.0, yanchor="top", yref="container", x=1, xanchor="right"),
    )
    return fig


def layer_loads(loads: list[list[int]]) -> go.Figure:
    """Tokens each expert got, per layer, with the even share marked."""
    experts = len(loads[0])
    fig = go.Figure()
    for i, load in enumerate(loads):
        fig.add_bar(
            x=list(range(experts)),
            y=load,
            name=f"layer {i}",
            hovertemplate=f"layer {i}, expert %{{x}}: %{{y}} tokens<extra></extra>",
        )
    even = sum(loads[0]) / experts
    fig.add_hline(y=even, line_dash="dot", line_color=INK)
    fig.add_annotation(
        x=experts - 0.5, y=even, text="even share", showarrow=False, yshift=10, xanchor="right"
    )
    _axes(fig)
    fig.update_xaxes(dtick=1, title_text="expert")
    fig.update_yaxes(title_text="tokens routed (top-k choices)")
    fig.update_layout(
        **LAYOUT,
        barmode="group",
        height=320,
        margin=dict(l=60, r=20, t=50, b=50),
        colorway=["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6"],
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig


def lab_map(
    probs: np.ndarray, chosen: np.ndarray, kept: np.ndarray, capacity: int | None
) -> go.Figure:
    """The lab's token × expert probabilities: kept choices ringed, dropped ones crossed."""
    t, e = probs.shape
    token: np.ndarray = np.repeat(np.arange(t), chosen.shape[1])
    expert, keep = chosen.flatten(), kept.flatten()
    fig = go.Figure(
        go.Heatmap(
            z=probs,
            zmin=0,
            zmax=float(max(probs.max(), 1e-9)),
            colorscale=SCALE,
            colorbar=dict(title="p", thickness=12),
            hovertemplate="token %{y}, expert %{x}: p = %{z:.3f}<extra></extra>",
        )
    )
    size = 9 if t <= 64 and e <= 16 else 5
    fig.add_scatter(
        x=expert[keep],
        y=token[keep],
        mode="markers",
        name="chosen, processed",
        marker=dict(symbol="circle-open", size=size, color="#f59e0b", line=dict(width=2)),
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=expert[~keep],
        y=token[~keep],
        mode="markers",
        name="chosen, dropped (expert full)",
        marker=dict(symbol="x", size=size + 1, color=DROPPED),
        hovertemplate="token %{y} dropped by expert %{x}<extra></extra>",
    )
    cap = "no capacity limit" if capacity is None else f"capacity {capacity} tokens per expert"
    fig.update_layout(
        **LAYOUT,
        title=dict(text=f"Router probabilities ({cap})", x=0, font=dict(size=13)),
        height=_rows_height(min(t, 48)),
        margin=dict(l=50, r=20, t=80, b=50),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    fig.update_xaxes(title_text="expert", dtick=1 if e <= 16 else None, showgrid=False)
    fig.update_yaxes(title_text="token", autorange="reversed", showgrid=False)
    return fig


def lab_load(wanted: list[int], load: list[int], capacity: int | None) -> go.Figure:
    """Per expert: the tokens it processed and the ones it dropped, against its capacity."""
    experts = list(range(len(load)))
    dropped = [w - k for w, k in zip(wanted, load, strict=True)]
    fig = go.Figure()
    fig.add_bar(x=experts, y=load, name="processed", marker_color=ACCENT)
    fig.add_bar(x=experts, y=dropped, name="dropped", marker_color=DROPPED)
    even = sum(wanted) / len(wanted)
    fig.add_hline(y=even, line_dash="dot", line_color=INK)
    if capacity is not None:
        fig.add_hline(y=capacity, line_dash="dash", line_color=DROPPED)
    fig.add_scatter(  # legend entries for the two lines
        x=[None], y=[None], mode="lines", name="even share",
        line=dict(dash="dot", color=INK),
    )  # fmt: skip
    if capacity is not None:
        fig.add_scatter(
            x=[None], y=[None], mode="lines", name="capacity",
            line=dict(dash="dash", color=DROPPED),
        )  # fmt: skip
    _axes(fig)
    fig.update_xaxes(title_text="expert", dtick=1 if len(load) <= 16 else None)
    fig.update_yaxes(title_text="tokens")
    fig.update_layout(
        **LAYOUT,
        barmode="stack",
        height=300,
        margin=dict(l=60, r=20, t=50, b=50),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig


LEGEND_EXPERTS = 16  # past this many, a legend of colours would outgrow the plot


def training(
    shares: dict[str, list[list[float]]], imbalance: dict[str, list[float]], steps: int
) -> go.Figure:
    """Each run's expert shares over the steps (stacked to 100 %), and both imbalances."""
    names = list(shares)
    fig = make_subplots(
        rows=1,
        cols=3,
        horizontal_spacing=0.07,
        subplot_titles=[*(f"load per expert, {n}" for n in names), "imbalance (max / mean)"],
    )
    experts = len(next(iter(shares.values()))[0]) if shares[names[0]] else 0
    colours = expert_colours(experts)
    for col, name in enumerate(names, start=1):
        history = np.asarray(shares[name])  # (steps, E)
        x = np.arange(1, len(history) + 1)
        for e in range(experts):
            fig.add_scatter(
                x=x,
                y=history[:, e],
                mode="lines",
                stackgroup=f"run{col}",
                line=dict(width=0.5, color=colours[e]),
                name=f"expert {e}",
                legendgroup=f"expert {e}",  # one legend entry hides an expert in both runs
                showlegend=col == 1 and experts <= LEGEND_EXPERTS,
                hovertemplate=f"expert {e}: %{{y:.1%}} at step %{{x}}<extra></extra>",
                row=1,
                col=col,
            )
        fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=col)
    for name, colour in zip(names, (DROPPED, ACCENT), strict=True):
        fig.add_scatter(
            x=np.arange(1, len(imbalance[name]) + 1),
            y=imbalance[name],
            mode="lines",
            name=name,
            line=dict(color=colour, width=2),
            row=1,
            col=3,
        )
    fig.update_yaxes(rangemode="tozero", row=1, col=3)
    _axes(fig)
    fig.update_xaxes(range=[1, max(steps, 2)], title_text="step")
    fig.update_layout(
        **LAYOUT,
        height=360,
        margin=dict(l=50, r=20, t=70, b=50),
        legend=dict(orientation="h", y=-0.25, x=1, xanchor="right"),
    )
    return fig
