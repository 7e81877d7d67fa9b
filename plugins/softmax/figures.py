"""Plotly figures for the softmax tab: plain lists in, figures out (no torch here)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACCENT = "#4f46e5"  # the theme's indigo
TARGET = "#f59e0b"  # the target token stands out in amber
MUTED = "#94a3b8"
TEMPLATE = "plotly_white"


def logits_and_probs(
    labels: list[str],
    logits: list[float],
    scaled: list[float],
    probs: list[float],
    target: int,
    temperature: float,
) -> go.Figure:
    """Raw logits (and z / T when T ≠ 1) beside the probabilities they become."""
    colors = [TARGET if i == target else ACCENT for i in range(len(labels))]
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("Logits z (any real number)", "Probabilities softmax(z / T) (sum to 1)"),
    )
    fig.add_bar(
        x=labels,
        y=logits,
        marker_color=colors,
        row=1,
        col=1,
        name="z",
        showlegend=False,
        hovertemplate="%{x}: z = %{y:.4g}<extra></extra>",
    )
    if temperature != 1.0:
        fig.add_scatter(
            x=labels,
            y=scaled,
            mode="markers",
            row=1,
            col=1,
            name=f"z / {temperature:g}",
            marker=dict(symbol="diamond", size=10, color="#111827"),
            hovertemplate="%{x}: z / T = %{y:.4g}<extra></extra>",
        )
    fig.add_bar(
        x=labels,
        y=probs,
        marker_color=colors,
        row=1,
        col=2,
        name="p",
        showlegend=False,
        text=[f"{p:.1%}" if p >= 0.005 else "" for p in probs],
        textposition="outside",
        hovertemplate="%{x}: %{y:.4%}<extra></extra>",
    )
    fig.update_yaxes(range=[0, 1.1], tickformat=".0%", row=1, col=2)
    fig.update_layout(
        showlegend=temperature != 1.0,
        height=340,
        margin=dict(l=40, r=20, t=50, b=40),
        template=TEMPLATE,
        legend=dict(orientation="h", y=-0.15, x=0),
    )
    return fig


def temperature_curves(
    temperatures: list[float],
    entropy: list[float],
    top1: list[float],
    current: float,
    max_entropy: float,
) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=temperatures, y=entropy, name="entropy H (nats)", line_color=ACCENT)
    fig.add_scatter(
        x=temperatures, y=top1, name="top-1 probability", line_color=TARGET, secondary_y=True
    )
    fig.add_hline(
        y=max_entropy,
        line_dash="dot",
        line_color=MUTED,
        annotation_text=f"uniform: ln C = {max_entropy:.2f}",
        annotation_position="bottom left",
    )
    fig.add_vline(x=current, line_dash="dash", line_color="#111827")
    fig.add_annotation(  # on a log axis an annotation's x is log10(T), so place it by hand
        x=math.log10(current),
        y=0.55,
        yref="paper",
        text=f" T = {current:g}",
        showarrow=False,
        xanchor="left",
        bgcolor="rgba(255,255,255,0.8)",
    )
    fig.update_xaxes(
        type="log",
        range=[math.log10(temperatures[0]), math.log10(temperatures[-1])],
        tickvals=[0.05, 0.1, 0.2, 0.5, 1, 2, 5],
        title_text="temperature T (log scale)",
    )
    fig.update_yaxes(title_text="entropy (nats)", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text="top-1 probability", range=[0, 1.02], tickformat=".0%", secondary_y=True
    )
    fig.update_layout(
        height=320,
        margin=dict(l=50, r=50, t=40, b=40),
        template=TEMPLATE,
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig
