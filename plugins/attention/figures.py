"""Figures for the attention tab: numpy arrays and lists in, images and plotly figures out.

The layers × heads grid is one server-rendered image (72 maps for MiniLM would be 72 plotly
subplots and megabytes of JSON); one head opened large is an interactive plotly figure.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.subplots import make_subplots

from playground import plots
from playground.plots import ACCENT

HIGHLIGHT = "#f59e0b"
MUTED = "#94a3b8"
LINE_PX = 15  # the height of an 11 px label's box, about
SCALE = [[0.0, "#ffffff"], [0.5, "#818cf8"], [1.0, "#1e1b4b"]]

CELL, GAP, LEFT, TOP = 56, 4, 30, 18  # grid geometry in pixels: one map, the gap, the labels
_STOPS = np.array([[255, 255, 255], [129, 140, 248], [30, 27, 75]], dtype=np.float32)


def _colour(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB through white, light indigo, dark indigo."""
    x = np.clip(values, 0.0, 1.0)[..., None] * 2.0
    low = _STOPS[0] + (_STOPS[1] - _STOPS[0]) * np.minimum(x, 1.0)
    return np.where(x <= 1.0, low, _STOPS[1] + (_STOPS[2] - _STOPS[1]) * (x - 1.0))


def grid_image(weights: np.ndarray, selected: tuple[int, int] | None = None) -> np.ndarray:
    """(L, H, T, T) weights -> one RGB image, a small map per head, each scaled to its own max
    so that a faint pattern still shows; ``selected`` (layer, head) gets an amber frame."""
    layers, heads, t, _ = weights.shape
    pick = np.arange(CELL) * t // CELL  # nearest-neighbour resampling to CELL × CELL
    maps = weights[:, :, pick][:, :, :, pick]  # (L, H, CELL, CELL)
    peak = maps.max(axis=(2, 3), keepdims=True)
    # (L, H, C, C, 3); annotated, as numpy's astype overloads leave mypy without a type
    rgb: np.ndarray = _colour(maps / np.where(peak > 0, peak, 1.0)).astype(np.uint8)
    step = CELL + GAP
    image = np.full((TOP + layers * step, LEFT + heads * step, 3), 255, dtype=np.uint8)
    for layer in range(layers):
        for head in range(heads):
            y, x = TOP + layer * step, LEFT + head * step
            image[y : y + CELL, x : x + CELL] = rgb[layer, head]
    canvas = Image.fromarray(image)
    draw = ImageDraw.Draw(canvas)
    for layer in range(layers):  # a faint frame, so that an almost white map still has edges
        for head in range(heads):
            y, x = TOP + layer * step, LEFT + head * step
            draw.rectangle((x - 1, y - 1, x + CELL, y + CELL), outline="#e2e8f0")
    font = ImageFont.load_default(size=11)
    for layer in range(layers):
        draw.text((2, TOP + layer * step + CELL // 2 - 6), f"L{layer}", fill="#334155", font=font)
    for head in range(heads):
        draw.text((LEFT + head * step + CELL // 2 - 8, 2), f"H{head}", fill="#334155", font=font)
    if selected is not None:
        y, x = TOP + selected[0] * step, LEFT + selected[1] * step
        draw.rectangle((x - 2, y - 2, x + CELL + 1, y + CELL + 1), outline=HIGHLIGHT, width=3)
    return np.asarray(canvas)


def grid_cell(x: float, y: float) -> tuple[int, int] | None:
    """The (layer, head) under pixel (x, y) of `grid_image`, or None on a label or a gap."""
    step = CELL + GAP
    col, dx = divmod(int(x) - LEFT, step)
    row, dy = divmod(int(y) - TOP, step)
    if row >= 0 and col >= 0 and dx < CELL and dy < CELL:
        return row, col
    return None


def _token_axis(tokens: list[str], **extra) -> dict:
    """An axis of positions 0…T−1 labelled with their tokens. A category axis: Plotly shows
    every k-th label when the labels would touch (a phone's width, a long text), which fixed
    tickvals never do; labelalias names each position by its token (tokens repeat, so they
    cannot be the categories). Escaped, since Plotly reads tick text as HTML ("<s>")."""
    escaped = [t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for t in tokens]
    return dict(
        type="category",
        labelalias={str(i): t for i, t in enumerate(escaped)},
        tickfont=dict(size=10),
        **extra,
    )


def heatmap(weights: np.ndarray, tokens: list[str], title: str) -> go.Figure:
    """One head's (T, T) weights: row = the query token, column = the key it attends to."""
    t = len(tokens)
    hover = [[f"{tokens[i]} → {tokens[j]}" for j in range(t)] for i in range(t)]
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=list(range(t)),
            y=list(range(t)),
            customdata=hover,
            colorscale=SCALE,
            zmin=0,
            zmax=1,
            # the title beside the bar, not over its top tick
            colorbar=dict(title=dict(text="weight", side="right"), thickness=12),
            hovertemplate="%{customdata}: %{z:.4f}<extra></extra>",
        )
    )
    # 16 px a row: every query's label fits up to ~45 tokens; past that Plotly thins them.
    fig.update_xaxes(**_token_axis(tokens, title_text="key (attended to)", tickangle=-90))
    fig.update_yaxes(**_token_axis(tokens, title_text="query (attending)", autorange="reversed"))
    fig.update_layout(
        title=title,
        height=min(900, 170 + 16 * t),
        margin=dict(l=60, r=20, t=50, b=60),
    )
    plots.style(fig)
    return fig


def lines(weights: np.ndarray, tokens: list[str], threshold: float, query: int) -> go.Figure:
    """Queries on the left, keys on the right, a line per weight ≥ threshold, as thick as the
    weight; the chosen query's lines in amber. Lines are drawn in a few width classes, one
    trace each, so hundreds of links stay one quick figure."""
    t = len(tokens)
    bins = np.linspace(threshold, 1.0, 5)
    fig = go.Figure()
    for lo, hi in itertools.pairwise(bins):
        for chosen in (False, True):
            xs, ys = [], []
            for i, j in zip(*np.nonzero((weights >= lo) & (weights <= hi)), strict=True):
                if (i == query) == chosen:
                    xs += [0, 1, None]
                    ys += [int(i), int(j), None]
            if xs:
                fig.add_scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line=dict(width=1 + 7 * (lo + hi) / 2, color=HIGHLIGHT if chosen else ACCENT),
                    opacity=0.35 + 0.6 * (lo + hi) / 2,
                    hoverinfo="skip",
                    showlegend=False,
                )
    height, margin = min(900, 200 + 14 * t), dict(l=10, r=10, t=60, b=10)
    # every k-th token named when rows are closer than a label is tall; hover names them all
    every = max(1, math.ceil(LINE_PX / ((height - margin["t"] - margin["b"]) / t)))
    names = [token if i % every == 0 else "" for i, token in enumerate(tokens)]
    for x, side in ((0, "left"), (1, "right")):  # the labels outside the links
        fig.add_scatter(
            x=[x] * t,
            y=list(range(t)),
            mode="markers+text",
            text=names,
            customdata=tokens,
            textposition=f"middle {side}",
            textfont=dict(size=11),
            marker=dict(size=5, color=MUTED),
            hovertemplate="%{y}: %{customdata}<extra></extra>",
            showlegend=False,
        )
    fig.update_xaxes(visible=False, range=[-0.7, 1.7])
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(
        title=dict(
            text=f"Links with weight ≥ {threshold:g}<br>"
            "<sup>query on the left, key on the right</sup>"
        ),
        height=height,
        margin=margin,
    )
    plots.style(fig)
    return fig


def vectors(
    query: np.ndarray, keys: np.ndarray, values: np.ndarray, output: np.ndarray, tokens: list[str]
) -> go.Figure:
    """q, every key, every value and the output, as rows of numbers coloured by sign."""
    fig = make_subplots(
        rows=2,
        cols=2,
        row_heights=[0.12, 0.88],
        vertical_spacing=0.08,
        horizontal_spacing=0.05,
        subplot_titles=(
            "query q",
            "output z = Σ w·v",
            "keys k<sub>j</sub>",
            "values v<sub>j</sub>",
        ),
    )
    bound = float(max(np.abs(keys).max(), np.abs(values).max(), np.abs(query).max(), 1e-6))
    style = dict(colorscale="RdBu", zmid=0, zmin=-bound, zmax=bound, showscale=False)
    for z, row, col in ((query[None], 1, 1), (output[None], 1, 2), (keys, 2, 1), (values, 2, 2)):
        rows = list(range(len(z)))  # positions, for the token axis (a category axis needs them)
        fig.add_heatmap(
            z=z, y=rows, row=row, col=col, hovertemplate="%{z:.4f}<extra></extra>", **style
        )
    for col in (1, 2):
        # the values' rows are the keys' tokens: named once, on the left
        fig.update_yaxes(
            **_token_axis(tokens, autorange="reversed", showticklabels=col == 1), row=2, col=col
        )
        fig.update_yaxes(showticklabels=False, row=1, col=col)
        # one row of numbers: its dimensions are the columns of the map under it
        fig.update_xaxes(showticklabels=False, row=1, col=col)
        fig.update_xaxes(title_text="dimension", title_standoff=4, row=2, col=col)
    fig.update_annotations(font_size=14)
    fig.update_layout(
        height=min(760, 260 + 11 * len(tokens)),
        margin=dict(l=60, r=20, t=40, b=50),
    )
    plots.style(fig)
    return fig


def scores_and_weights(
    scaled: list[float], weights: list[float], allowed: list[bool], tokens: list[str]
) -> go.Figure:
    """The scaled dot products (hidden keys greyed) above the softmax weights they become."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("scores q·k / √d (grey: masked)", "softmax weights (sum 1)"),
    )
    x = list(range(len(tokens)))
    colours = [ACCENT if ok else MUTED for ok in allowed]
    fig.add_bar(x=x, y=scaled, marker_color=colours, row=1, col=1, showlegend=False)
    fig.add_bar(x=x, y=weights, marker_color=HIGHLIGHT, row=2, col=1, showlegend=False)
    fig.update_xaxes(**_token_axis(tokens, tickangle=-90))
    fig.update_yaxes(range=[0, 1.05], row=2, col=1)
    fig.update_layout(height=440, margin=dict(l=40, r=20, t=40, b=60))
    plots.style(fig)
    return fig


def small_heatmap(weights: np.ndarray, tokens: list[str]) -> go.Figure:
    """The playground head's weights, with the numbers written in."""
    t = len(tokens)
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=list(range(t)),
            y=list(range(t)),
            customdata=[[f"{tokens[i]} → {tokens[j]}" for j in range(t)] for i in range(t)],
            colorscale=SCALE,
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="weight", side="right"), thickness=12),
            text=[[f"{w:.2f}" for w in row] for row in weights],
            texttemplate="%{text}",
            hovertemplate="%{customdata}: %{z:.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(**_token_axis(tokens, title_text="key"))
    fig.update_yaxes(**_token_axis(tokens, title_text="query", autorange="reversed"))
    # room on top for the Gradio label, which sits over the figure's top left corner
    fig.update_layout(height=380, margin=dict(l=60, r=20, t=45, b=50))
    plots.style(fig)
    return fig


def relative_scores(offsets: list[int], curves: dict[str, list[float]], title: str) -> go.Figure:
    fig = go.Figure()
    for (name, ys), dash in zip(curves.items(), ("solid", "dot", "dash"), strict=False):
        fig.add_scatter(x=offsets, y=ys, mode="lines", name=name, line=dict(dash=dash, width=2.5))
    fig.update_xaxes(title_text="offset between query and key positions (m − n)")
    fig.update_yaxes(title_text="q · k / √d")
    fig.update_layout(
        title=title,
        height=340,
        margin=dict(l=50, r=20, t=50, b=40),
        legend=dict(orientation="h", y=1.0, yanchor="bottom", x=1, xanchor="right"),
    )
    plots.style(fig)
    return fig


def similarity_curve(positions: list[int], sims: list[float], anchor: int) -> go.Figure:
    fig = go.Figure(go.Scatter(x=positions, y=sims, mode="lines", line_color=ACCENT))
    fig.add_vline(x=anchor, line_dash="dash", line_color=HIGHLIGHT)
    fig.update_xaxes(title_text="position")
    fig.update_yaxes(title_text=f"cosine with position {anchor}'s embedding")
    fig.update_layout(height=330, margin=dict(l=50, r=20, t=45, b=40))
    plots.style(fig)
    return fig


def anatomy_bars(rows: list[tuple[str, int, int, int]], title: str) -> go.Figure:
    """Stored vs active parameters and FLOPs per token, per component: one above the other, as
    horizontal bars, so the component names read across at any width. The first title's
    coloured words stand for a legend."""
    names = [r[0] for r in rows]
    fig = make_subplots(
        rows=2,
        cols=1,
        vertical_spacing=0.16,
        subplot_titles=(
            f"parameters: <span style='color:{MUTED}'>stored</span> vs "
            f"<span style='color:{ACCENT}'>active per token</span>",
            "forward FLOPs per token (Chinchilla, App. F)",
        ),
    )
    bars = [("stored", 1, MUTED, 1), ("active", 2, ACCENT, 1), ("FLOPs", 3, HIGHLIGHT, 2)]
    for name, column, colour, row in bars:
        fig.add_bar(
            y=names,
            x=[r[column] for r in rows],
            name=name,
            orientation="h",
            marker_color=colour,
            hovertemplate=f"%{{y}}: %{{x:,}} {name}<extra></extra>",
            row=row,
            col=1,
        )
    fig.update_yaxes(autorange="reversed")  # the components in the table's order
    # the titles from the figure's left edge, as the y labels leave the plot a phone's half
    fig.update_annotations(font_size=13, x=0, xanchor="left", xshift=-80)
    fig.update_layout(
        title=title,
        barmode="group",
        height=520,
        margin=dict(l=90, r=20, t=70, b=30),
        showlegend=False,
    )
    plots.style(fig)
    return fig
