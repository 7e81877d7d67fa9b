"""The figures' labels stay apart at a phone's and a desktop's width, with no browser: their
boxes estimated as the figures estimate them."""

from __future__ import annotations

import itertools

import pytest

from plugins.embeddings import figures

# Where MiniLM's PCA puts walking − walk + swim and six more words: swim, swimming and the
# query fall within 0.07 of each other, and the labels used to overlap there.
WALKING = {
    "boy": (0.289, -0.134, "word"),
    "girl": (0.28, -0.166, "word"),
    "prince": (0.263, -0.382, "word"),
    "princess": (0.32, -0.389, "word"),
    "uncle": (0.411, 0.471, "word"),
    "aunt": (0.443, 0.371, "word"),
    "walking": (-0.586, -0.245, "input"),
    "walk": (-0.521, -0.305, "input"),
    "swim": (-0.434, 0.391, "input"),
    "swimming": (-0.463, 0.389, "answer"),
    "= walking - walk + swim": (-0.5, 0.452, "query"),
}
# king − man + woman: prince and princess, king and queen are neighbours.
KING = {
    "boy": (-0.522, 0.063, "word"),
    "girl": (-0.421, 0.116, "word"),
    "prince": (0.402, 0.324, "word"),
    "princess": (0.303, 0.331, "word"),
    "uncle": (0.078, -0.71, "word"),
    "aunt": (0.145, -0.633, "word"),
    "king": (0.341, 0.09, "input"),
    "man": (-0.565, 0.168, "input"),
    "woman": (-0.15, 0.064, "input"),
    "queen": (0.389, 0.187, "answer"),
    "= king - man + woman": (0.756, -0.014, "query"),
}


def label_boxes(fig, width: float) -> dict[str, tuple]:
    """Each scatter label's estimated box in pixels, for a plot area ``width`` wide."""
    (x_lo, x_hi), (y_lo, y_hi) = fig.layout.xaxis.range, fig.layout.yaxis.range
    height = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    boxes = {}
    for trace in fig.data:
        radius = trace.marker.size / 2 / 0.8 + 1
        spots = trace.textposition
        spots = [spots] * len(trace.x) if isinstance(spots, str) else spots  # one for all
        for x, y, text, spot in zip(trace.x, trace.y, trace.text, spots, strict=True):
            w, h = figures._label_size(text)
            sx, sy = figures.TEXT_SPOTS[spot]
            px = (x - x_lo) / (x_hi - x_lo) * width + sx * (radius + w / 2)
            py = (y_hi - y) / (y_hi - y_lo) * height + sy * (radius + h / 2)
            boxes[text] = figures._box(px, py, (w, h))
    return boxes


@pytest.mark.parametrize("words", [KING, WALKING], ids=["king", "walking"])
@pytest.mark.parametrize("width", figures.PLOT_WIDTHS)
def test_no_two_word_labels_overlap_at_any_width(words, width):
    points = {w: (x, y) for w, (x, y, _) in words.items()}
    kinds = {w: kind for w, (_, _, kind) in words.items()}
    fig = figures.word_map(points, kinds, "PCA", [0.24, 0.22], None)
    boxes = label_boxes(fig, width)
    assert len(boxes) == len(words)  # every word named, the query as q
    assert "q" in boxes
    for (a, p), (b, q) in itertools.combinations(boxes.items(), 2):
        assert figures._shared(p, q) == 0, f"{a!r} and {b!r} overlap at {width} px"


def test_without_placement_the_default_labels_would_overlap():
    """The test above can fail: every label on top of its point, as the map drew them before,
    runs prince into princess on a phone."""
    points = {w: (x, y) for w, (x, y, _) in KING.items()}
    kinds = {w: kind for w, (_, _, kind) in KING.items()}
    fig = figures.word_map(points, kinds, "PCA", [0.24, 0.22], None)
    fig.update_traces(textposition="top center")
    boxes = label_boxes(fig, figures.PLOT_WIDTHS[0])
    assert figures._shared(boxes["prince"], boxes["princess"]) > 0


def test_the_query_is_labelled_q_and_named_on_hover():
    points = {w: (x, y) for w, (x, y, _) in KING.items()}
    kinds = {w: kind for w, (_, _, kind) in KING.items()}
    fig = figures.word_map(points, kinds, "PCA", [0.24, 0.22], None)
    (star,) = [t for t in fig.data if t.name == "query q"]
    assert list(star.text) == ["q"] and list(star.customdata) == ["= king - man + woman"]


def test_labels_of_neighbouring_dimensions_stay_apart():
    """dim 99 and dim 103 stand side by side: their labels take different places."""
    values = [0.001] * 384
    values[99], values[103], values[129] = 0.025, 0.024, 0.02
    fig = figures.products(values, "swimming", 1.0, [99, 103, 129])
    (y_lo, y_hi), margin = fig.layout.yaxis.range, fig.layout.margin
    height = fig.layout.height - margin.t - margin.b
    for width in figures.PLOT_WIDTHS:
        boxes = [
            figures._box(
                (a.x + 0.5) / 384 * width + a.ax,
                (y_hi - a.y) / (y_hi - y_lo) * height + a.ay,
                figures._label_size(a.text),
            )
            for a in fig.layout.annotations
        ]
        assert all(figures._shared(p, q) == 0 for p, q in itertools.combinations(boxes, 2))
        assert all(box[1] >= 0 and box[3] <= height for box in boxes)  # inside the plot


def test_the_similarity_matrix_numbers_its_columns_and_hovers_whole_sentences():
    sentences = ["A cat sat on the mat.", "The stock market fell sharply today."]
    fig = figures.heatmap([[1.0, 0.1], [0.1, 1.0]], sentences, "cosine between sentences")
    (heat,) = fig.data
    assert list(heat.x) == ["1", "2"]
    assert list(heat.y) == ["1. A cat sat on the…", "2. The stock market…"]
    assert heat.customdata[0][1] == f"{sentences[0]}<br>{sentences[1]}"
