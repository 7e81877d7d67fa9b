"""Plotly figures for the quantization tab: arrays and lists in, figures out (no torch here).

Figures take the cheap shared style of playground.plots.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from playground import plots
from playground.plots import ACCENT, INK

GRID_LINE = "rgba(245, 158, 11, 0.55)"  # the quantization levels, amber over the histogram
WARN = "#dc2626"
MAX_LEVEL_LINES = 64  # more lines than this read as a solid band: thin them out
# A legend under the x axis's title, from the figure's bottom edge: on a phone its entries
# wrap to rows there, where over the plot they would run into the title.
_BELOW = dict(orientation="h", yref="container", y=0, yanchor="bottom", x=0, xanchor="left")


def _layout(title: str, height: int = 340, **axes) -> dict:
    layout = plots.layout(title, height, bargap=0.05, **axes)
    layout["title"]["font"] = dict(size=14)  # a title fits a phone's width at 14 px
    return layout


def histogram(values: np.ndarray, levels: np.ndarray, label: str) -> go.Figure:
    """The weights' histogram (log counts) with the grid they are rounded to drawn over it."""
    top = float(np.abs(values).max()) * 1.05 or 1.0
    counts, edges = np.histogram(values, bins=161, range=(-top, top))
    bars = go.Bar(
        x=(edges[:-1] + edges[1:]) / 2,
        y=counts,
        width=edges[1] - edges[0],
        marker_color=ACCENT,
        name="weights per bin",
        hovertemplate="w ≈ %{x:.4f}: %{y} weights<extra></extra>",
    )
    shown = levels[(levels >= -top) & (levels <= top)]
    step = max(1, len(shown) // MAX_LEVEL_LINES)
    shown = shown[::step]
    peak = max(int(counts.max()), 1)
    xs = np.repeat(shown, 3)
    ys = np.tile([0.8, peak * 1.5, np.nan], len(shown))
    lines = go.Scatter(
        x=xs,
        y=ys,
        mode="lines",
        line=dict(color=GRID_LINE, width=1),
        name=f"{len(levels)} levels" + (f" (1 in {step} shown)" if step > 1 else ""),
        hoverinfo="skip",
    )
    # Short lines, for a phone's width: the scheme under the title, the block under the axis.
    layout = _layout(
        f"Weights and the grid they round to<br><sup>{label}</sup>",
        height=380,
        bottom=90,
        yaxis=dict(type="log", title="count of weights", dtick=1),  # 1, 10, 100: no 2s and 5s
        xaxis=dict(title="w, in the block with the largest |w|"),
    )
    layout["legend"] = _BELOW
    return go.Figure(data=[bars, lines], layout=layout)


def qat_curve(losses: list[float], steps: int) -> go.Figure:
    line = go.Scatter(
        x=list(range(1, len(losses) + 1)), y=losses, mode="lines", line=dict(color=ACCENT)
    )
    layout = _layout(
        "Training loss through fake-quantized weights",
        height=300,
        xaxis=dict(title="step", range=[0, steps + 1]),
        yaxis=dict(title="loss (nats)"),
    )
    return go.Figure(data=[line], layout=layout)


def features(absmax: np.ndarray, threshold: float) -> go.Figure:
    """max |x| of each input feature over the tokens, with the LLM.int8() threshold."""
    colors = np.where(absmax >= threshold, WARN, ACCENT)
    bars = go.Bar(
        x=np.arange(len(absmax)),
        y=absmax,
        marker_color=colors,
        name="max |x| over tokens",
        hovertemplate="feature %{x}: max |x| = %{y:.2f}<extra></extra>",
    )
    rule = go.Scatter(
        x=[0, len(absmax) - 1],
        y=[threshold, threshold],
        mode="lines",
        line=dict(color=INK, dash="dash"),
        name=f"threshold {threshold:g} (red: kept in float)",
    )
    layout = _layout(
        "Each input feature's largest |x|",
        height=300,
        xaxis=dict(title="feature"),
        yaxis=dict(type="log", title="max |x|"),
    )
    return go.Figure(data=[bars, rule], layout=layout)


def threshold_sweep(sweep: list[tuple[float, float, float]], threshold: float) -> go.Figure:
    """SNR of the product and the share of features kept in float, against the threshold."""
    t, snr, kept = (list(c) for c in zip(*sweep, strict=True))
    snr_line = go.Scatter(x=t, y=snr, mode="lines+markers", name="SNR (dB)", line_color=ACCENT)
    kept_line = go.Scatter(
        x=t,
        y=kept,
        mode="lines",
        name="features in float",
        yaxis="y2",
        line=dict(color=WARN, dash="dot"),
    )
    layout = _layout(
        "LLM.int8(): error against the threshold",
        height=300,
        xaxis=dict(type="log", title="threshold"),
        yaxis=dict(title="SNR of x·Wᵀ (dB)"),
    )
    layout["yaxis2"] = dict(overlaying="y", side="right", tickformat=".0%", range=[0, 1])
    layout["shapes"] = [
        dict(
            type="line",
            x0=threshold,
            x1=threshold,
            y0=0,
            y1=1,
            yref="paper",
            line=dict(color=INK, dash="dash"),
        )
    ]
    return go.Figure(data=[snr_line, kept_line], layout=layout)
