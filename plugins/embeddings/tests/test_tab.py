"""The tab's input checks and what it puts on screen, without a browser, on the real index."""

from __future__ import annotations

import gradio as gr
import pytest
import torch
from sentence_transformers import util

from playground import testing
from plugins.embeddings import reproduce, tab, views


@pytest.fixture(scope="module")
def on():
    return tab.events(testing.context())  # the tab's handlers, bound as build binds them


def no_progress(*args, **kwargs):
    return None


def analogy(
    on,
    expression="king - man + woman",
    exclude=True,
    measure="cosine",
    normalise=True,
    words=tab.DEFAULT_MAP_WORDS,
    method="PCA",
):
    return on.analogy(expression, exclude, measure, normalise, words, method, no_progress)


@pytest.fixture(autouse=True)
def _index(word_index):
    """Every call below uses the index the session built, never the user's cache."""


def column(table, name: str) -> list:
    return [row[table["headers"].index(name)] for row in table["data"]]


def words(table) -> list[str]:
    return column(table, "word")


def test_the_workbench_finds_queen_and_shows_its_dot_product(on):
    table, status, dot, products, word_map = analogy(on)
    assert words(table)[0] == "queen" and "queen" in status and "input words excluded" in status
    assert "q = king − man + woman" in dot and "‖queen‖ = 1.0000" in dot
    assert len(products.data[0].y) == 384
    names = {name for trace in word_map.data for name in trace.text}
    assert {"king", "man", "woman", "queen", "boy"} <= names


def test_without_exclusion_the_top_hit_is_an_input_word(on):
    table, status, *_ = analogy(on, exclude=False)
    assert table["data"][0][1:] == ["king", table["data"][0][2], "input word"]
    assert "one of the input words" in status


def test_scores_are_our_search_over_the_whole_vocabulary(on, word_index):
    table, *_ = analogy(on, measure="dot product", normalise=False, exclude=False)
    rows = [word_index.rows[w] for w in ("king", "man", "woman")]
    query = word_index.raw[rows[0]] - word_index.raw[rows[1]] + word_index.raw[rows[2]]
    hits = util.semantic_search(
        query[None], word_index.raw, top_k=10, score_function=util.dot_score
    )
    assert words(table) == [word_index.words[h["corpus_id"]] for h in hits[0]]
    assert column(table, "dot product") == pytest.approx([h["score"] for h in hits[0]], abs=1e-3)
    table, *_ = analogy(on, measure="Euclidean distance", normalise=False)
    distances = column(table, "Euclidean distance")
    assert distances == sorted(distances)  # nearest first


def test_words_outside_the_vocabulary_are_embedded_and_flagged(on):
    table, status, *_ = analogy(on, 'paris + "eiffel tower" - zzyzx')
    assert "flagged" in status and "`eiffel tower`" in status and "`zzyzx`" in status
    assert len(table["data"]) == 10


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(expression="king - + woman"), "at column 8"),
        (dict(expression=""), "empty"),
        (dict(expression=" + ".join(["a"] * 11)), "At most 10 terms"),
        (dict(expression="x" * 100_000), "longer than 300"),
        (dict(measure="manhattan"), "Similarity must be one of"),
        (dict(method="t-SNE"), "map method must be one of"),
        (dict(words=", ".join(["cat"] * 2) + ", 42"), "'42' is not one"),
        (dict(words=", ".join(f"w{'x' * i}" for i in range(31))), "At most 30 map words"),
    ],
)
def test_bad_workbench_input_says_what_is_allowed(on, kwargs, message):
    with pytest.raises(gr.Error, match=message):
        analogy(on, **kwargs)


@pytest.mark.skipif("UMAP" in views.MAP_METHODS, reason="umap-learn is installed here")
def test_umap_asked_for_without_umap_says_what_to_install(on):
    with pytest.raises(gr.Error, match="umap-learn"):
        analogy(on, method="UMAP")


def test_the_sentence_matrix_is_cosine_between_model_embeddings(on, model):
    lines = tab.DEFAULT_SENTENCES.splitlines()
    fig, summary = on.sentences(tab.DEFAULT_SENTENCES, "cosine", True)
    expected = util.cos_sim(*(model.encode(lines, convert_to_tensor=True),) * 2)
    torch.testing.assert_close(torch.tensor(fig.data[0].z), expected.cpu(), atol=1e-4, rtol=1e-4)
    assert "Closest pair by cosine" in summary
    fig, summary = on.sentences(tab.DEFAULT_SENTENCES, "Euclidean distance", True)
    assert torch.tensor(fig.data[0].z).diagonal().abs().max() < 1e-3  # each is 0 from itself


def test_search_is_semantic_search_over_the_pasted_list(on, model):
    docs = tab.DEFAULT_DOCUMENTS.splitlines()
    found = on.search(tab.DEFAULT_QUERY, tab.DEFAULT_DOCUMENTS, 4)
    q, d = (
        model.encode([tab.DEFAULT_QUERY], convert_to_tensor=True),
        model.encode(docs, convert_to_tensor=True),
    )
    hits = util.semantic_search(q, d, top_k=4)[0]
    assert [row[2] for row in found] == [docs[h["corpus_id"]] for h in hits]
    assert [row[1] for row in found] == pytest.approx([h["score"] for h in hits], abs=1e-3)


def test_static_vs_contextual_shows_both_distances(on):
    text = on.context("bank", tab.DEFAULT_FIRST, tab.DEFAULT_SECOND)
    assert "| static: its row of the input embedding table | 1.0000 | 0.0000 |" in text
    assert "contextual" in text and "sentence embeddings" in text


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda on: on.sentences("only one", "cosine", True), "Enter 2 to 50 sentences"),
        (lambda on: on.sentences("\n".join(["a"] * 51), "cosine", True), "got 51"),
        (lambda on: on.sentences("a\n" + "b" * 501, "cosine", True), "at most 500"),
        (lambda on: on.sentences("x" * 100_000, "cosine", True), "too long"),
        (lambda on: on.search("", "doc", 3), "query needs 1 to 500"),
        (lambda on: on.search("q", "", 3), "Enter 1 to 50 documents"),
        (lambda on: on.search("q", "doc", float("nan")), "between 1 and 10"),
        (lambda on: on.search("q", "doc", 11), "between 1 and 10"),
        (lambda on: on.context("two words", "a", "b"), "single word"),
        (lambda on: on.context("bank", "no such word", "a bank"), "must contain the word"),
        (lambda on: on.context("bank", "", "a bank"), "first sentence needs"),
    ],
)
def test_bad_sentence_input_says_what_is_allowed(on, call, message):
    with pytest.raises(gr.Error, match=message):
        call(on)


@pytest.mark.slow
def test_the_exported_script_finds_the_same_words_with_sentence_transformers(on):
    """One run of the script embeds the whole vocabulary again (about a minute on one core), so
    one case takes every branch: raw vectors, a phrase outside the vocabulary, a distance."""
    args = ('2*paris - france + "eiffel tower"', True, "Euclidean distance", False, "", "PCA")
    result = reproduce.export(testing.context(), *args)
    table, *_ = on.analogy(*args, no_progress)
    assert result.numbers["words"] == words(table)
    assert column(table, "Euclidean distance") == [round(s, 4) for s in result.numbers["scores"]]
    assert "'eiffel tower'" in result.snippet and "normalise = False" in result.snippet
    testing.check_snippet(result, atol=1e-4)
