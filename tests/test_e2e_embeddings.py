"""The Embeddings tab end to end: its API through gradio_client, then a real browser.

The first call builds the word index in the server's cache if it is not there yet (tens of
seconds on a CPU), so the first wait is long; later ones are not.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from playwright.sync_api import expect

from tests.helpers import enter

FIRST_CALL_MS = 240_000  # model load plus, on a fresh machine, the index build
TIMEOUT_MS = 30_000
ANALOGY = ("king - man + woman", True, "cosine", True, "boy, girl", "PCA")


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def test_the_endpoints_are_named_for_the_concept(client):
    names = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {
        "/embeddings_analogy",
        "/embeddings_sentences",
        "/embeddings_search",
        "/embeddings_context",
    } <= set(names)


def test_analogy_endpoint_finds_queen(client):
    table, status, dot, _, _ = client.predict(*ANALOGY, api_name="/embeddings_analogy")
    assert table["data"][0][1] == "queen"
    assert "queen" in [row[1] for row in table["data"][:3]]
    assert "21," in status and "q · queen" in dot


def test_analogy_endpoint_flags_input_words_when_they_are_allowed(client):
    args = ("king - man + woman", False, "dot product", False, "", "PCA")
    table, status, *_ = client.predict(*args, api_name="/embeddings_analogy")
    assert table["data"][0][1:4:2] == ["king", "input word"]
    assert "one of the input words" in status


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("king - + woman", *ANALOGY[1:]), "at column 8"),
        (("a+b+c+d+e+f+g+h+i+j+k", *ANALOGY[1:]), "At most 10 terms"),
        ((*ANALOGY[:2], "jaccard", *ANALOGY[3:]), "not in the list of choices"),
    ],
)
def test_bad_expressions_get_a_message_and_the_server_keeps_serving(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/embeddings_analogy")
    table, *_ = client.predict(*ANALOGY, api_name="/embeddings_analogy")
    assert table["data"][0][1] == "queen"


def test_search_sentences_and_context_endpoints(client):
    hits = client.predict(
        "a pet that purrs",
        "The cat purred.\nStocks fell.\nIt rained.",
        2,
        api_name="/embeddings_search",
    )
    assert hits["data"][0][2] == "The cat purred." and len(hits["data"]) == 2
    _, summary = client.predict(
        "A cat sat.\nA kitten slept.\nMarkets fell.",
        "cosine",
        True,
        api_name="/embeddings_sentences",
    )
    assert "Closest pair by cosine: **1** and **2**" in summary
    text = client.predict(
        "bank", "The river bank.", "The bank loan.", api_name="/embeddings_context"
    )
    assert "| static: its row of the input embedding table | 1.0000 | 0.0000 |" in text
    with pytest.raises(AppError, match="must contain the word"):
        client.predict("bank", "No river.", "The bank.", api_name="/embeddings_context")


@pytest.fixture
def tab(page, server):
    """The tab opened from its card on the home page (conftest's `tab` opens it by its link)."""
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    page.click("#card-embeddings")
    expect(page.locator("#embeddings-status")).to_contain_text("queen", timeout=FIRST_CALL_MS)
    return page


@pytest.mark.browser
def test_the_tab_opens_on_the_classic_analogy(tab):
    expect(tab).to_have_url(re.compile(r"\?tab=embeddings$"), timeout=TIMEOUT_MS)
    expect(tab.locator("#embeddings-neighbours")).to_contain_text("monarch", timeout=TIMEOUT_MS)
    expect(tab.locator("#embeddings-map")).to_contain_text("woman", timeout=TIMEOUT_MS)
    expect(tab.locator("#embeddings-context")).to_contain_text("0.0000", timeout=TIMEOUT_MS)
    expect(tab.locator("#embeddings-hits")).to_contain_text("Photosynthesis", timeout=TIMEOUT_MS)


@pytest.mark.browser
def test_typing_an_expression_and_the_exclude_switch(tab):
    enter(tab.locator("#embeddings-expression textarea"), "walking - walk + swim")
    expect(tab.locator("#embeddings-status")).to_contain_text(
        "walking - walk + swim", timeout=TIMEOUT_MS
    )
    expect(tab.locator("#embeddings-neighbours")).to_contain_text("swimming", timeout=TIMEOUT_MS)
    tab.locator("#embeddings-exclude input").uncheck()
    expect(tab.locator("#embeddings-neighbours")).to_contain_text("input word", timeout=TIMEOUT_MS)


# Deliberately like the other tabs' "refused, then the tab keeps working" tests (test_e2e*.py).
@pytest.mark.browser
def test_a_parse_error_points_at_the_column_and_the_tab_keeps_working(tab):
    box = tab.locator("#embeddings-expression textarea")
    enter(box, "king - + woman")
    expect(tab.get_by_text("at column 8").first).to_be_visible(timeout=TIMEOUT_MS)
    enter(box, "paris - france + italy")
    expect(tab.locator("#embeddings-status")).to_contain_text(
        "paris - france + italy", timeout=TIMEOUT_MS
    )


@pytest.mark.browser
def test_a_link_restores_the_workbench_and_the_search_and_names_what_it_ignored(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    link = {
        "tab": "embeddings",
        "expr": "paris - france + italy",
        "measure": "dot product",
        "k": 1,
        "bogus": 1,
    }
    page.goto(f"{server}?{urlencode(link)}")  # a "+" must travel as %2B
    # The notice comes at once, before the model has loaded, and fades after a few seconds.
    expect(page.locator(".toast-body")).to_contain_text(
        "Ignored from the link: bogus (this tab has no such setting)", timeout=TIMEOUT_MS
    )
    status = page.locator("#embeddings-status")
    expect(status).to_contain_text(
        "paris - france + italy → florence (dot product", timeout=FIRST_CALL_MS
    )
    expect(page.locator("#embeddings-expression textarea")).to_have_value("paris - france + italy")
    expect(page.locator("#embeddings-measure").get_by_label("dot product")).to_be_checked()
    hits = page.locator("#embeddings-hits")  # the search section reads the link too: one hit
    expect(hits).to_contain_text("Photosynthesis")
    expect(hits).not_to_contain_text("chlorophyll")
    expect(hits).not_to_contain_text("Roots")
