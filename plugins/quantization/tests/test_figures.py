"""The quantization figures and tables read at a phone's width too, with no browser."""

from __future__ import annotations

import numpy as np

from plugins.quantization import figures, tab
from plugins.quantization.runs import HEADERS


def test_the_histogram_counts_weights_and_keeps_its_title_short():
    values = np.random.default_rng(0).standard_normal(4096)
    levels = np.linspace(-3, 3, 255)
    label = "nf4, groups of 64 + double-quantized scales"  # the longest scheme the lab names
    fig = figures.histogram(values, levels, label)
    assert fig.layout.yaxis.title.text == "count of weights"
    first_line, scheme = fig.layout.title.text.split("<br>")
    assert len(first_line) <= 40 and label in scheme  # the scheme on a line of its own
    assert "largest |w|" in fig.layout.xaxis.title.text
    # under the plot, counted from the figure's bottom edge: clear of the title on a phone
    assert fig.layout.legend.yref == "container" and fig.layout.legend.y == 0


def test_run_tables_size_every_column_and_pin_the_configuration():
    widths = tab.RUN_TABLE["column_widths"]
    assert len(widths) == len(HEADERS) and tab.RUN_TABLE["pinned_columns"] == 1
    # all of them fit beside the controls at a desktop's width (a ~800 px column)
    assert sum(int(w.removesuffix("px")) for w in widths) <= 800
