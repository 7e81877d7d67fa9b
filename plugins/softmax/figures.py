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
        annotation_position="bottom right",
    )
    fig.add_vline(
        x=current,
        line_dash="dash",
        line_color="#111827",
        annotation_text=f"T = {current:g}",
        annotation_position="top left",
    )
    fig.update_xaxes(
        type="log",
        range=[math.log10(temperatures[0]), math.log10(temperatures[-1])],
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
