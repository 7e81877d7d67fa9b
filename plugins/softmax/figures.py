"""Plotly figures for the softmax tab: plain lists in, figures out (no torch here)."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground import plots
from playground.plots import ACCENT, INK, LEGEND_BELOW

TARGET = "#f59e0b"  # the target token stands out in amber
MUTED = "#94a3b8"


# The figures sit under Gradio's plot label, which floats over their top-left corner: a
# margin of LABEL_PX keeps texts clear of it.
LABEL_PX = 40
# How far each y axis reaches past its data, as a share of the data's span: below zero, so
# that the y axis's 0 sits above the x axis's first tick label instead of on it; above the
# top, to leave room for a line's annotation.
PAD_BELOW, PAD_ABOVE = 0.05, 0.14


def logits_and_probs(
    labels: list[str],
    logits: list[float],
    scaled: list[float],
    probs: list[float],
    target: int,
    temperature: float,
) -> go.Figure:
    """Raw logits (and z / T when T ≠ 1) above the probabilities they become, token under token.

    Stacked, not side by side: each panel keeps the figure's whole width, on a phone too."""
    colors = [TARGET if i == target else ACCENT for i in range(len(labels))]
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
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
            marker=dict(symbol="diamond", size=10, color=INK),
            hovertemplate="%{x}: z / T = %{y:.4g}<extra></extra>",
        )
    fig.add_bar(
        x=labels,
        y=probs,
        marker_color=colors,
        row=2,
        col=1,
        name="p",
        showlegend=False,
        text=[f"{p:.1%}" if p >= 0.005 else "" for p in probs],
        textposition="outside",
        hovertemplate="%{x}: %{y:.4%}<extra></extra>",
    )
    fig.update_yaxes(title_text="z", row=1, col=1)
    fig.update_yaxes(title_text="p", range=[0, 1.15], tickformat=".0%", row=2, col=1)
    fig.update_annotations(font_size=13)  # the subplot titles
    fig.update_layout(
        showlegend=temperature != 1.0,
        height=500,
        margin=dict(l=50, r=20, t=LABEL_PX + 25, b=40),
        # the one legend entry (z / T) goes at the top right, beside the plot's label
        legend=dict(orientation="h", y=1, yref="container", yanchor="top", x=1, xanchor="right"),
    )
    plots.style(fig)
    return fig


def temperature_curves(
    temperatures: list[float],
    entropy: list[float],
    top1: list[float],
    current: float,
    max_entropy: float,
) -> go.Figure:
    """Entropy and top-1 probability over the temperature sweep. The two y axes share their
    zero and their top (ln C, 100 %), so one grid serves both."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(x=temperatures, y=entropy, name="entropy H (nats)", line_color=ACCENT)
    fig.add_scatter(
        x=temperatures, y=top1, name="top-1 probability", line_color=TARGET, secondary_y=True
    )
    # Nothing is drawn above this line (no entropy exceeds ln C, no probability 100 %), so its
    # label goes there, clear of the curves.
    fig.add_hline(
        y=max_entropy,
        line_dash="dot",
        line_color=MUTED,
        annotation_text=f"uniform: ln C = {max_entropy:.2f}",
        annotation_position="top left",
        annotation_xshift=6,
        annotation_bgcolor="rgba(255,255,255,0.8)",
    )
    fig.add_vline(x=current, line_dash="dash", line_color=INK)
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

    def span(top: float) -> list[float]:
        return [-PAD_BELOW * top, (1 + PAD_ABOVE) * top]

    fig.update_yaxes(title_text="entropy (nats)", range=span(max_entropy), secondary_y=False)
    fig.update_yaxes(
        title_text="top-1 probability",
        range=span(1.0),
        dtick=0.2,
        tickformat=".0%",
        showgrid=False,
        secondary_y=True,
    )
    fig.update_layout(
        height=340,
        margin=dict(l=50, r=50, t=LABEL_PX, b=40),
        legend=LEGEND_BELOW,  # below the axis title, so both entries fit a phone
    )
    plots.style(fig)
    return fig
