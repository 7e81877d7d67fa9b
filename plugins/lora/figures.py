"""The LoRA tab's plots, built with constructors in the playground's style (redrawn while
training)."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from playground import plots

BLUE, ORANGE, GREY = "#2563eb", "#ea580c", "#9ca3af"
LAYOUT = dict(**plots.STYLE, margin=dict(l=60, r=20, t=40, b=50), height=320)


def loss_curve(losses: list[float], steps: int, baseline: float | None = None) -> go.Figure:
    x = list(range(1, len(losses) + 1))
    window = max(1, len(losses) // 20)
    smooth = [
        sum(losses[max(0, i - window) : i + 1]) / len(losses[max(0, i - window) : i + 1])
        for i in range(len(losses))
    ]
    traces = [
        go.Scatter(x=x, y=losses, mode="lines", name="loss per step", line=dict(color=GREY)),
        go.Scatter(x=x, y=smooth, mode="lines", name="smoothed", line=dict(color=BLUE, width=3)),
    ]
    if baseline is not None:
        line = dict(color=ORANGE, dash="dot")
        traces.append(
            go.Scatter(
                x=[1, steps],
                y=[baseline, baseline],
                mode="lines",
                name="held-out loss before",
                line=line,
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        **LAYOUT,
        title="Training loss (cross-entropy, nats)",
        # automargin makes room under the axis title for the legend, which wraps on a phone
        xaxis=dict(title="step", range=[0, steps], automargin=True),
        yaxis=dict(title="loss", automargin=True),
        legend=plots.LEGEND_BELOW,
    )
    return fig


def delta_w(delta, singular: list[float], rank: int, name: str) -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        subplot_titles=(f"ΔW = (α/r)·B·A of {name}", "singular values of ΔW"),
    )
    fig.add_trace(
        go.Heatmap(z=delta, colorscale="RdBu", zmid=0, colorbar=dict(x=0.56, len=0.9)), 1, 1
    )
    shown = singular[: max(2 * rank, 16)]
    colours = [BLUE if i < rank else GREY for i in range(len(shown))]
    fig.add_trace(go.Bar(x=list(range(1, len(shown) + 1)), y=shown, marker_color=colours), 1, 2)
    fig.update_yaxes(autorange="reversed", title_text="output d", row=1, col=1)
    fig.update_xaxes(title_text="input k", row=1, col=1)
    fig.update_xaxes(title_text=f"index (blue: the first r = {rank})", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)  # 10⁻¹⁵, not "1f"
    fig.update_layout(margin=dict(l=60, r=20, t=50, b=50), height=380, showlegend=False)
    return plots.style(fig)
