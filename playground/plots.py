"""The playground's plot style, shared by every tab's plotly figures.

Figures are built with this layout in one constructor call instead of a named template:
applying "plotly_white" deep-copies the whole template, about 20 ms a figure — more than a
model step in tabs that redraw on every token.
"""

from __future__ import annotations

ACCENT = "#4f46e5"  # the theme's indigo
INK = "#111827"
GRID = "#e5e7eb"
# A legend under the plot, centred on the whole figure: on a phone it wraps into rows there,
# where Plotly reserves room for them, instead of running into the title or Gradio's label.
LEGEND_BELOW = dict(
    orientation="h",
    xref="container",
    x=0.5,
    xanchor="center",
    yref="container",
    y=0,
    yanchor="bottom",
)


# The look of every figure: white, thin grey grid, the theme's font (plotly_white without
# the template's deep copy).
STYLE = dict(
    template="none",
    paper_bgcolor="white",
    plot_bgcolor="white",
    font=dict(family="Inter, system-ui, sans-serif", size=12, color=INK),
)
AXIS = dict(gridcolor=GRID, zerolinecolor=GRID, automargin=True)


def layout(title: str, height: int = 340, *, bottom: int = 60, **extra) -> dict:
    """A light layout: ``xaxis`` / ``yaxis`` in ``extra`` extend the gridded axes; the rest
    (bargap, barmode, ...) is passed on as it is."""
    xaxis, yaxis = extra.pop("xaxis", {}), extra.pop("yaxis", {})
    return dict(
        **STYLE,
        title=dict(text=title, x=0.02),
        height=height,
        margin=dict(l=60, r=20, t=60, b=bottom),
        legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
        xaxis={**AXIS, **xaxis},
        yaxis={**AXIS, **yaxis},
        **extra,
    )


def style(fig):
    """The same look for a figure laid out in several calls (subplots, heatmaps, a second y
    axis): `STYLE`, and `AXIS` on every axis it has."""
    fig.update_layout(**STYLE)
    fig.update_xaxes(**AXIS)
    fig.update_yaxes(**AXIS)
    return fig
