"""Plotly figures for the MoE tab: plain lists and numpy arrays in, figures out (no torch).

Built with constructors and template="none" plus explicit colours: the training plot is redrawn
many times a second, and plotly's named templates cost ~20 ms a figure to copy.
"""

from __future__ import annotations

import colorsys

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground.plots import ACCENT, GRID, INK, LEGEND_BELOW, STYLE

DROPPED = "#dc2626"
MUTED = "#94a3b8"
SCALE = [[0.0, "#ffffff"], [0.35, "#a5b4fc"], [1.0, "#1e1b4b"]]
# Gradio's plot label floats over a figure's top-left corner: a top margin of LABEL_PX keeps
# texts clear of it.
LABEL_PX = 40


def expert_colours(n: int) -> list[str]:
    """n distinct colours around the hue circle, so 64 experts still tell apart."""
    rgb = (colorsys.hls_to_rgb((i * 0.618034) % 1.0, 0.5, 0.65) for i in range(n))
    return [f"rgb({r * 255:.0f},{g * 255:.0f},{b * 255:.0f})" for r, g, b in rgb]


# automargin: besides fitting the tick labels, it is what makes Plotly add a legend's reserved
# margin (LEGEND_BELOW) to the figure's; template "none" leaves it off.


def _axes(fig: go.Figure) -> None:
    fig.update_xaxes(
        showgrid=False, linecolor=MUTED, ticks="outside", zeroline=False, automargin=True
    )
    fig.update_yaxes(gridcolor=GRID, linecolor=MUTED, zeroline=False, automargin=True)


def _map_axes(fig: go.Figure) -> None:
    """A heatmap's axes: no grid, and no zero line (template "none" draws one, which shows
    as a stray tick beyond the map's first column)."""
    fig.update_xaxes(showgrid=False, zeroline=False, automargin=True)
    fig.update_yaxes(showgrid=False, zeroline=False, ticks="", automargin=True)


def _rows_px(tokens: int, low: int = 140, high: int = 600) -> int:
    """A map's height for ``tokens`` rows: 14 px a row, room for each row's 10 px label (in
    a taller map Plotly labels only every n-th row), within [low, high]."""
    return int(min(high, max(low, 14 * tokens)))


MAP_COLS = 2  # layers side by side: two still leave each expert a column on a phone


def router_maps(probs: list[np.ndarray], chosen: list[np.ndarray], tokens: list[str]) -> go.Figure:
    """One token × expert map of router probabilities per layer, each token's top-k ringed;
    the layers in a grid of MAP_COLS columns."""
    layers, (t, e) = len(probs), probs[0].shape
    rows = -(-layers // MAP_COLS)
    panel, gap = _rows_px(t), 56  # gap: the upper row's expert numbers and the lower's titles
    fig = make_subplots(
        rows=rows,
        cols=MAP_COLS,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        vertical_spacing=gap / (rows * panel + (rows - 1) * gap),
        subplot_titles=[f"layer {i}" for i in range(layers)],
    )
    labels = [f"{i} {tok}" for i, tok in enumerate(tokens)]  # positions keep repeats apart
    for i, (p, c) in enumerate(zip(probs, chosen, strict=True)):
        at = dict(row=i // MAP_COLS + 1, col=i % MAP_COLS + 1)
        fig.add_trace(
            go.Heatmap(
                z=p,
                x=list(range(e)),
                y=labels,
                zmin=0,
                zmax=1,
                colorscale=SCALE,
                showscale=i == 0,
                # under the plot, beside the legend: a colour bar at the side would take a
                # phone's width from the maps
                colorbar=dict(
                    title=dict(text="probability p", side="top"),
                    orientation="h",
                    thickness=10,
                    len=120,
                    lenmode="pixels",
                    x=1,
                    xanchor="right",
                    yref="container",
                    y=0,
                    yanchor="bottom",
                ),
                hovertemplate="%{y}<br>expert %{x}: p = %{z:.3f}<extra></extra>",
            ),
            **at,
        )
        fig.add_trace(
            go.Scatter(
                x=c.flatten(),
                y=np.repeat(labels, c.shape[1]),
                mode="markers",
                marker=dict(symbol="circle-open", size=9, color="#f59e0b", line=dict(width=2)),
                name="top-k choice",
                showlegend=i == 0,
                hoverinfo="skip",
            ),
            **at,
        )
        fig.update_xaxes(dtick=1, tickfont=dict(size=10), **at)
    for col in range(1, MAP_COLS + 1):
        fig.update_xaxes(title_text="expert", row=rows, col=col)
    fig.update_yaxes(autorange="reversed", type="category", tickfont=dict(size=10))
    fig.update_annotations(font_size=13)  # the subplot titles
    _map_axes(fig)
    top, bottom = LABEL_PX + 25, 110  # bottom: expert numbers, axis title, legend, colour bar
    fig.update_layout(
        **STYLE,
        height=top + rows * panel + (rows - 1) * gap + bottom,
        margin=dict(l=10, r=10, t=top, b=bottom),
        legend={**LEGEND_BELOW, "x": 0, "xanchor": "left"},  # the colour bar is at the right
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
        x=experts - 0.5,
        y=even,
        text="even share",
        showarrow=False,
        yshift=10,
        xanchor="right",
        bgcolor="rgba(255,255,255,0.8)",  # it may sit on a bar
    )
    _axes(fig)
    fig.update_xaxes(dtick=1, title_text="expert")
    fig.update_yaxes(title_text="tokens routed (top-k choices)")
    fig.update_layout(
        **STYLE,
        barmode="group",
        height=340,
        margin=dict(l=60, r=20, t=LABEL_PX, b=50),
        colorway=["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6"],
        legend=LEGEND_BELOW,
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
    top, bottom = 100, 100  # Gradio gives a titled figure 100 px on top, for label and title
    height = _rows_px(min(t, 48), low=200, high=680)
    fig.update_layout(
        **STYLE,
        # the title (two lines) sits on the plot, under the label that floats at the top
        title=dict(
            text="Router probabilities",
            subtitle=dict(text=cap, font=dict(size=12)),
            font=dict(size=13),
            x=0.02,
            yref="paper",
            y=1,
            yanchor="bottom",
            pad=dict(b=8),
        ),
        height=top + height + bottom,
        margin=dict(l=50, r=20, t=top, b=bottom),
        legend=LEGEND_BELOW,
    )
    fig.update_xaxes(title_text="expert", dtick=1 if e <= 16 else None)
    fig.update_yaxes(title_text="token", autorange="reversed")
    _map_axes(fig)
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
        x=[None], y=[None], mode="lines", name="even share", line=dict(dash="dot", color=INK)
    )
    if capacity is not None:
        fig.add_scatter(
            x=[None], y=[None], mode="lines", name="capacity", line=dict(dash="dash", color=DROPPED)
        )
    _axes(fig)
    fig.update_xaxes(title_text="expert", dtick=1 if len(load) <= 16 else None)
    fig.update_yaxes(title_text="tokens")
    fig.update_layout(
        **STYLE,
        barmode="stack",
        height=320,
        margin=dict(l=60, r=20, t=LABEL_PX, b=50),
        legend=LEGEND_BELOW,
    )
    return fig


LEGEND_EXPERTS = 16  # past this many, a legend of colours would outgrow the plot


def training(
    shares: dict[str, list[list[float]]], imbalance: dict[str, list[float]], steps: int
) -> go.Figure:
    """Each run's expert shares over the steps (stacked to 100 %) side by side, and both
    imbalances under them across the whole width. A run's title takes the colour of its
    imbalance line, which leaves the legend to the experts: it then packs into a few rows
    on a phone (Plotly gives every entry of a wrapped legend the longest one's width)."""
    names = list(shares)
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        shared_yaxes=True,
        horizontal_spacing=0.04,
        vertical_spacing=0.2,
        row_heights=[0.6, 0.4],
        subplot_titles=[*names, "imbalance (max / mean tokens per expert)"],
    )
    fig.update_annotations(font_size=13)
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
                name=str(e),
                legendgroup=str(e),  # one legend entry hides an expert in both runs
                showlegend=col == 1 and experts <= LEGEND_EXPERTS,
                hovertemplate=f"expert {e}: %{{y:.1%}} at step %{{x}}<extra></extra>",
                row=1,
                col=col,
            )
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(title_text="load per expert", row=1, col=1)
    for i, (name, colour) in enumerate(zip(names, (DROPPED, ACCENT), strict=True)):
        fig.add_scatter(
            x=np.arange(1, len(imbalance[name]) + 1),
            y=imbalance[name],
            mode="lines",
            name=name,
            showlegend=False,
            line=dict(color=colour, width=2),
            row=2,
            col=1,
        )
        fig.layout.annotations[i].font.color = colour  # the run's subplot title
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    _axes(fig)
    fig.update_xaxes(range=[1, max(steps, 2)])
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(
        **STYLE,
        height=560,
        margin=dict(l=60, r=20, t=30, b=50),
        legend={**LEGEND_BELOW, "title_text": "expert"},
    )
    return fig
