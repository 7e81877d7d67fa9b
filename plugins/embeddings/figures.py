"""Plotly figures for the embeddings tab: plain lists in, figures out (no torch here)."""

from __future__ import annotations

import plotly.graph_objects as go

ACCENT = "#4f46e5"  # the theme's indigo
ANSWER = "#f59e0b"  # the analogy's answer and its predicted point, in amber
NEGATIVE = "#dc2626"
MUTED = "#94a3b8"
TEMPLATE = "plotly_white"


def products(values: list[float], word: str, dot: float, largest: list[int]) -> go.Figure:
    """The 384 products q_i w_i whose sum is the dot product, one bar per dimension."""
    colors = [ACCENT if v >= 0 else NEGATIVE for v in values]
    fig = go.Figure(
        go.Bar(
            x=list(range(len(values))),
            y=values,
            marker_color=colors,
            marker_line_width=0,
            hovertemplate="dimension %{x}: q·w = %{y:.5f}<extra></extra>",
        )
    )
    for i in largest[:3]:
        fig.add_annotation(x=i, y=values[i], text=f"dim {i}", showarrow=True, arrowhead=2, ay=-25)
    fig.update_layout(
        title=dict(
            text=f"q · {word} = Σ q<sub>i</sub> w<sub>i</sub> = {dot:.4f}: "
            f"{sum(v > 0 for v in values)} of {len(values)} products positive",
            font_size=14,
        ),
        xaxis_title="dimension i",
        yaxis_title="q<sub>i</sub> × w<sub>i</sub>",
        height=300,
        margin=dict(l=50, r=20, t=50, b=40),
        template=TEMPLATE,
        bargap=0,
    )
    return fig


def word_map(
    points: dict[str, tuple[float, float]],
    kinds: dict[str, str],
    method: str,
    explained: list[float] | None,
    shape: tuple[str, str, str, str, str] | None,
) -> go.Figure:
    """Words in 2-D. ``kinds`` marks each as "word", "input", "answer" or "query"; ``shape`` is
    (a, b, c, query, answer) for b − a + c, drawn as the parallelogram a → c, b → query (equal
    and parallel, since the map is linear), with b → answer dashed when there is an answer."""
    fig = go.Figure()
    style = {  # kind -> (marker, where its label goes)
        "word": (dict(color=MUTED, size=9, symbol="circle"), "top center"),
        "input": (dict(color=ACCENT, size=12, symbol="circle"), "top center"),
        "answer": (dict(color=ANSWER, size=13, symbol="circle"), "bottom center"),
        "query": (dict(color=ANSWER, size=16, symbol="star"), "bottom center"),
    }
    if shape is not None:
        a, b, c, query, answer = shape
        arrows = [(a, c, ACCENT, 2), (b, query, ACCENT, 2), (a, b, MUTED, 1), (c, query, MUTED, 1)]
        if answer is not None:
            arrows.append((b, answer, ANSWER, 1.5))
        for start, end, color, width in arrows:
            (x0, y0), (x1, y1) = points[start], points[end]
            fig.add_annotation(
                x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                showarrow=True, arrowhead=2, arrowwidth=width,
                arrowcolor=color, text="", standoff=6, startstandoff=6,
            )  # fmt: skip
    for kind, label in [
        ("word", "other words"),
        ("input", "the expression's words"),
        ("answer", "nearest words"),
        ("query", "the expression's vector"),
    ]:
        names = [w for w in points if kinds[w] == kind]
        if not names:
            continue
        fig.add_scatter(
            x=[points[w][0] for w in names],
            y=[points[w][1] for w in names],
            mode="markers+text",
            text=names,
            textposition=style[kind][1],
            marker=style[kind][0],
            name=label,
            hovertemplate="%{text}<extra></extra>",
        )
    axes = ["PC 1", "PC 2"]
    if explained is not None:
        axes = [f"PC {i} ({share:.0%} of the variance)" for i, share in enumerate(explained, 1)]
    for axis, values in (("xaxis", [x for x, _ in points.values()]),
                         ("yaxis", [y for _, y in points.values()])):  # fmt: skip
        pad = 0.15 * (max(values) - min(values) or 1.0)  # room for the labels at the edges
        fig.update_layout({axis: dict(range=[min(values) - pad, max(values) + pad])})
    fig.update_layout(
        title=dict(text=f"{method} map of {len(points)} points", font_size=14),
        xaxis_title=axes[0] if method == "PCA" else "",
        yaxis_title=axes[1] if method == "PCA" else "",
        height=480,
        margin=dict(l=50, r=20, t=50, b=40),
        template=TEMPLATE,
        legend=dict(orientation="h", y=-0.12, x=0),
    )
    return fig


def heatmap(matrix: list[list[float]], labels: list[str], title: str) -> go.Figure:
    """A similarity (or distance) matrix, one row and column per sentence."""
    short = [f"{i + 1}. {s[:40]}{'…' if len(s) > 40 else ''}" for i, s in enumerate(labels)]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=short,
            y=short,
            colorscale="Viridis",
            text=[[f"{v:.2f}" for v in row] for row in matrix],
            texttemplate="%{text}" if len(labels) <= 12 else None,
            hovertemplate="%{y}<br>%{x}<br>%{z:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=title, font_size=14),
        height=max(360, 28 * len(labels) + 160),
        margin=dict(l=20, r=20, t=50, b=20),
        template=TEMPLATE,
        yaxis=dict(autorange="reversed"),
    )
    return fig
