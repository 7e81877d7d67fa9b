"""Plotly figures for the embeddings tab: plain lists in, figures out (no torch here).

A figure is drawn at whatever width its column has (a phone's ~340 px to a desktop's ~600 px),
so labels that point at data are placed by `_place` to stay apart at every width in
PLOT_WIDTHS, from estimated boxes: the server never learns the real width.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from playground import plots
from playground.plots import ACCENT

ANSWER = "#f59e0b"  # the analogy's answer and its predicted point, in amber
NEGATIVE = "#dc2626"
MUTED = "#94a3b8"
CHAR_PX, LINE_PX = 6.8, 15.0  # a 12 px label's box, estimated a little wide: per character, line
PLOT_WIDTHS = (260, 420, 640)  # the plot area's width in a phone's column, a tablet's, a desktop's
# where a scatter label can go, first choice first: Plotly's textposition -> (x, y) sign
TEXT_SPOTS = {
    "top center": (0, -1),
    "bottom center": (0, 1),
    "middle right": (1, 0),
    "middle left": (-1, 0),
    "top right": (1, -1),
    "top left": (-1, -1),
    "bottom right": (1, 1),
    "bottom left": (-1, 1),
}


def _box(x: float, y: float, size: tuple[float, float]) -> tuple[float, float, float, float]:
    w, h = size
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def _shared(a: tuple, b: tuple) -> float:
    """The area two (x0, y0, x1, y1) boxes share."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _place(
    anchors: list[tuple[float, float]],
    sizes: list[tuple[float, float]],
    offsets: list[list[tuple[float, float]]],
    height: float,
    obstacles: Sequence[tuple[float, float, float]] = (),
) -> list[int]:
    """Greedy label placement: the chosen offset's index for each label, in order. An anchor is
    (share of the plot's width, pixels from its top); a label's box is centred at its anchor
    plus one of its offsets (pixels). Each label takes the offset whose box, at every width
    of PLOT_WIDTHS, least covers the labels placed before it, then the markers (obstacles:
    share of the width, pixels down, half a side) and the outside of the plot."""
    placed: list[list[tuple]] = []  # per label placed: its box at each width
    chosen = []
    for (fx, y), size, options in zip(anchors, sizes, offsets, strict=True):
        costs = []
        for k, (dx, dy) in enumerate(options):
            cost, boxes = k * 1e-3, []  # ties keep the earlier, preferred offset
            for n, width in enumerate(PLOT_WIDTHS):
                box = _box(fx * width + dx, y + dy, size)
                inside = _shared(box, (0.0, 0.0, float(width), height))
                cost += 4 * (size[0] * size[1] - inside)
                cost += 4 * sum(_shared(box, other[n]) for other in placed)
                cost += sum(
                    _shared(box, _box(ox * width, oy, (2 * r, 2 * r))) for ox, oy, r in obstacles
                )
                boxes.append(box)
            costs.append((cost, k, boxes))
        _, k, boxes = min(costs, key=lambda c: c[0])
        chosen.append(k)
        placed.append(boxes)
    return chosen


def _label_size(text: str) -> tuple[float, float]:
    return CHAR_PX * len(text) + 4, LINE_PX + 2  # a little air between neighbours


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
    # Room above (and below) the bars for the labels of the largest, so they stay in the plot.
    low, high = min(0.0, *values), max(0.0, *values)
    span = (high - low) or 1.0
    y_range = [low - 0.12 * span, high + 0.4 * span]
    height, margin = 300, dict(l=55, r=15, t=45, b=45)
    plot_height = height - margin["t"] - margin["b"]
    shown = largest[:3]
    texts = [f"dim {i}" for i in shown]
    arrows = [(0, -30), (-40, -26), (40, -26), (0, -52), (-48, -48), (48, -48)]  # up, or down
    signs = [1 if values[i] >= 0 else -1 for i in shown]
    anchors = [
        (
            (i + 0.5) / len(values),
            (y_range[1] - values[i]) / (y_range[1] - y_range[0]) * plot_height,
        )
        for i in shown
    ]
    picks = _place(
        anchors,
        [_label_size(t) for t in texts],
        [[(ax, ay * sign) for ax, ay in arrows] for sign in signs],
        plot_height,
        [(fx, y, 4.0) for fx, y in anchors],  # keep clear of the bars' tops the arrows point at
    )
    for i, text, sign, k in zip(shown, texts, signs, picks, strict=True):
        ax, ay = arrows[k]
        fig.add_annotation(
            x=i,
            y=values[i],
            text=text,
            showarrow=True,
            arrowhead=2,
            ax=ax,
            ay=ay * sign,
            bgcolor="rgba(255, 255, 255, 0.8)",
        )
    fig.update_layout(
        title=dict(text=f"q · {word} = Σ q<sub>i</sub> w<sub>i</sub> = {dot:.4f}", font_size=14),
        xaxis=dict(
            title=f"dimension i: {sum(v > 0 for v in values)} of {len(values)} products positive",
            range=[-0.5, len(values) - 0.5],
        ),
        yaxis=dict(title="q<sub>i</sub> × w<sub>i</sub>", range=y_range),
        height=height,
        margin=margin,
        bargap=0,
    )
    plots.style(fig)
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
    and parallel, since the map is linear), with b → answer dashed when there is an answer.
    Each label goes where it covers no other (see `_place`), the expression's first."""
    fig = go.Figure()
    # kind -> its legend entry, marker, and its label's first choice of place
    style = {
        "query": ("query q", dict(color=ANSWER, size=16, symbol="star"), "bottom"),
        "answer": ("nearest word", dict(color=ANSWER, size=13, symbol="circle"), "bottom"),
        "input": ("input words", dict(color=ACCENT, size=12, symbol="circle"), "top"),
        "word": ("other words", dict(color=MUTED, size=9, symbol="circle"), "top"),
    }
    # The star is labelled q (its name, "= the expression", shows on hover): a whole expression
    # finds no free place in a dense corner of a phone-wide map.
    label = {w: "q" if kinds[w] == "query" else w for w in points}
    if shape is not None:
        a, b, c, query, answer = shape
        arrows = [(a, c, ACCENT, 2), (b, query, ACCENT, 2), (a, b, MUTED, 1), (c, query, MUTED, 1)]
        if answer is not None:
            arrows.append((b, answer, ANSWER, 1.5))
        for start, end, color, width in arrows:
            (x0, y0), (x1, y1) = points[start], points[end]
            fig.add_annotation(
                x=x1,
                y=y1,
                ax=x0,
                ay=y0,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=2,
                arrowwidth=width,
                arrowcolor=color,
                text="",
                standoff=6,
                startstandoff=6,
            )
    ranges = []
    for values in ([x for x, _ in points.values()], [y for _, y in points.values()]):
        pad = 0.15 * (max(values) - min(values) or 1.0)  # room for the labels at the edges
        ranges.append((min(values) - pad, max(values) + pad))
    (x_lo, x_hi), (y_lo, y_hi) = ranges
    # The legend sits under the x axis's title: one row, or two rows on a phone.
    height, margin = 480, dict(l=55, r=15, t=45, b=100)
    plot_height = height - margin["t"] - margin["b"]
    order = sorted(points, key=lambda w: list(style).index(kinds[w]))
    radius = {w: style[kinds[w]][1]["size"] / 2 / 0.8 + 1 for w in order}  # Plotly's text offset
    sizes = [_label_size(label[w]) for w in order]
    spots = [
        sorted(TEXT_SPOTS, key=lambda s, w=w: not s.startswith(style[kinds[w]][2])) for w in order
    ]
    anchors = [
        ((points[w][0] - x_lo) / (x_hi - x_lo), (y_hi - points[w][1]) / (y_hi - y_lo) * plot_height)
        for w in order
    ]
    offsets = [
        [
            (sx * (radius[w] + size[0] / 2), sy * (radius[w] + size[1] / 2))
            for sx, sy in (TEXT_SPOTS[spot] for spot in options)
        ]
        for w, size, options in zip(order, sizes, spots, strict=True)
    ]
    markers = [(fx, y, radius[w]) for w, (fx, y) in zip(order, anchors, strict=True)]
    picks = _place(anchors, sizes, offsets, plot_height, markers)
    position = {w: spots[n][k] for n, (w, k) in enumerate(zip(order, picks, strict=True))}
    for kind, (entry, marker, _) in reversed(style.items()):  # the expression's drawn on top
        names = [w for w in points if kinds[w] == kind]
        if not names:
            continue
        fig.add_scatter(
            x=[points[w][0] for w in names],
            y=[points[w][1] for w in names],
            mode="markers+text",
            text=[label[w] for w in names],
            customdata=names,
            textposition=[position[w] for w in names],
            marker=marker,
            name=entry,
            hovertemplate="%{customdata}<extra></extra>",
        )
    axes = ["PC 1", "PC 2"]
    if explained is not None:
        axes = [f"PC {i} ({share:.0%} of the variance)" for i, share in enumerate(explained, 1)]
    fig.update_layout(
        title=dict(text=f"{method} map of {len(points)} points", font_size=14),
        xaxis=dict(title=axes[0] if method == "PCA" else "", range=ranges[0]),
        yaxis=dict(title=axes[1] if method == "PCA" else "", range=ranges[1]),
        height=height,
        margin=margin,
        # two entries a row fit a phone's plot width
        legend=dict(
            orientation="h",
            yref="container",
            y=0,
            yanchor="bottom",
            x=0,
            font_size=11,
            entrywidth=75,
        ),
    )
    plots.style(fig)
    return fig


def heatmap(matrix: list[list[float]], labels: list[str], title: str) -> go.Figure:
    """A similarity (or distance) matrix, one row and column per sentence: the rows named by
    number and start, the columns by number (a phone has no room for more), hover for all."""
    rows = [f"{i + 1}. {s[:16].rstrip()}{'…' if len(s) > 16 else ''}" for i, s in enumerate(labels)]
    columns = [str(i + 1) for i in range(len(labels))]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=columns,
            y=rows,
            customdata=[[f"{a}<br>{b}" for b in labels] for a in labels],
            colorscale="Viridis",
            colorbar=dict(thickness=12),
            text=[[f"{v:.2f}" for v in row] for row in matrix],
            texttemplate="%{text}" if len(labels) <= 12 else None,
            hovertemplate="%{customdata}<br>%{z:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=title, font_size=14),
        height=max(300, 28 * len(labels) + 140),
        margin=dict(l=20, r=10, t=50, b=40),
        xaxis=dict(type="category", title="sentence", side="bottom"),
        yaxis=dict(type="category", autorange="reversed"),
    )
    plots.style(fig)
    return fig
