"""A real browser on the attention tab: type a sentence, open a head, read its arithmetic."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TAB = ("attention", "#attention-status", "tokens")  # conftest's `tab` opens it
TIMEOUT_MS = 60_000  # the first load runs MiniLM and renders every head
GRID_LEFT, GRID_TOP, GRID_STEP = 30, 18, 60  # plugins/attention/figures.py's grid geometry


def test_type_a_sentence_open_a_head_and_its_weights_sum_to_one(tab):
    enter(tab.locator("#attention-text textarea"), "The quick brown fox jumps over the lazy dog")
    status = tab.locator("#attention-status")
    expect(status).to_contain_text("11 tokens", timeout=TIMEOUT_MS)  # [CLS] 9 words [SEP]

    image = tab.locator("#attention-grid img")
    # the status can arrive before the picture has loaded (naturalWidth 0 until then)
    tab.wait_for_function("() => document.querySelector('#attention-grid img')?.naturalWidth")
    scale = image.bounding_box()["width"] / image.evaluate("img => img.naturalWidth")
    # the map of layer 2, head 3
    image.click(
        position={
            "x": (GRID_LEFT + 3 * GRID_STEP + 20) * scale,
            "y": (GRID_TOP + 2 * GRID_STEP + 20) * scale,
        }
    )
    expect(tab.locator("#attention-layer input")).to_have_value("2", timeout=TIMEOUT_MS)
    expect(tab.locator("#attention-head input")).to_have_value("3")
    heatmap = tab.locator("#attention-heatmap")
    expect(heatmap).to_contain_text("Layer 2, head 3", timeout=TIMEOUT_MS)
    expect(heatmap.locator(".js-plotly-plot .heatmaplayer")).to_have_count(1)
    expect(tab.locator("#attention-lines .js-plotly-plot")).to_be_visible()

    tab.get_by_role("tab", name="One head, step by step").click()
    expect(tab.locator("#attention-steps-md")).to_contain_text("Layer 2, head 3")
    cells = tab.locator('#attention-steps [data-testid^="cell-"][data-col="5"]')  # "weight"
    expect(cells).to_have_count(11)
    weights = [float(text) for text in cells.all_inner_texts()]
    assert sum(weights) == pytest.approx(1.0, abs=1e-5)
    assert all(0 <= w <= 1 for w in weights)


# Deliberately like the other tabs' "refused, then the tab keeps working" tests (test_e2e*.py).
def test_an_out_of_range_head_is_refused_and_the_tab_keeps_working(tab):
    head = tab.locator("#attention-head input")
    head.fill("12")
    tab.click("#attention-open")
    expect(tab.get_by_text("from 0 to 11").first).to_be_visible()
    head.fill("4")
    tab.click("#attention-open")
    expect(tab.locator("#attention-heatmap")).to_contain_text("Layer 0, head 4")


def test_a_link_opens_the_model_and_head_it_names_and_says_what_it_ignored(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?tab=attention&model=tiny-llama&layer=2&head=5&arch=Mixtral-8x7B&bogus=1")
    expect(page.locator(".toast-body")).to_contain_text(
        "Ignored from the link: bogus (this tab has no such setting)", timeout=TIMEOUT_MS
    )
    expect(page.locator("#attention-status")).to_contain_text("causal", timeout=TIMEOUT_MS)
    expect(page.locator("#attention-layer input")).to_have_value("2")
    expect(page.locator("#attention-head input")).to_have_value("5")
    expect(page.locator("#attention-heatmap")).to_contain_text("Layer 2, head 5")
    page.get_by_role("tab", name="Transformer anatomy").click()  # its own section follows too
    expect(page.locator("#attention-anatomy-md")).to_contain_text("Mixtral-8x7B is a sparse MoE")
