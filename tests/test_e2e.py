"""A real browser: Debian's Chromium, driven by Playwright, against a live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000


@pytest.fixture
def app(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server)
    return page


def open_softmax(page):
    page.click("#card-softmax")
    expect(page.locator("#softmax-stats")).to_be_visible()
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1")


def test_home_maps_every_concept_in_the_hierarchy_with_its_device(app):
    concept_map = app.locator("#concept-map")
    for circle in ("Machine learning", "Deep learning", "Large language models"):
        expect(concept_map).to_contain_text(circle, ignore_case=True)
    card = app.locator("#card-softmax")
    expect(card).to_contain_text("Softmax & Logits")
    expect(card.locator(".pg-device")).to_have_text(re.compile(r"^(cpu|cuda|mps)$"))


def test_a_card_opens_its_tab_and_the_address_follows(app):
    open_softmax(app)
    expect(app).to_have_url(re.compile(r"\?tab=softmax$"))
    expect(app.locator("#softmax-stats")).to_contain_text("mat")  # the default preset's top-1


def test_huge_logits_overflow_the_naive_softmax_but_not_the_stable_one(app):
    open_softmax(app)
    enter(app.locator("#softmax-logits textarea"), "1000, 999, 998")
    stability = app.locator("#softmax-stability")
    expect(stability).to_contain_text("3 of 3 entries as inf/NaN")
    table = app.locator("#softmax-table")
    expect(table).to_contain_text("nan")
    expect(table).to_contain_text("0.665241")  # e^0 / (e^0 + e^-1 + e^-2), the stable answer


def test_the_temperature_slider_rerenders_the_distribution(app):
    open_softmax(app)
    stats = app.locator("#softmax-stats")
    expect(stats).to_contain_text("p = 90.18%")
    enter(app.locator("#softmax-temperature input[type=number]"), "5")
    expect(stats).not_to_contain_text("p = 90.18%")
    expect(stats).to_contain_text(re.compile(r"p = (1\d|2\d)\.\d\d%"))  # far flatter at T = 5


def test_a_deep_link_opens_the_tab(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?tab=softmax")
    expect(page.locator("#softmax-stats")).to_be_visible()
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1")


# Deliberately like the other tabs' "refused, then the tab keeps working" tests (test_e2e*.py).
def test_bad_input_shows_an_error_and_the_tab_keeps_working(app):
    open_softmax(app)
    box = app.locator("#softmax-logits textarea")
    enter(box, "1, banana")
    expect(app.get_by_text("'banana' is not a number").first).to_be_visible()
    enter(box, "3, 1")
    expect(app.locator("#softmax-stats")).to_contain_text("p = 88.08%")  # 1 / (1 + e^-2)


def test_every_tab_sits_in_the_bar_and_a_card_opens_its_tab_in_place(app):
    for tab in ("home", "softmax", "diffusion", "plugins"):  # the first and last of the bar
        expect(app.locator(f"#tab-{tab}-button")).to_be_in_viewport()
    app.evaluate("window.stillHere = true")  # gone if the click reloaded the page
    app.click("#card-diffusion")
    expect(app).to_have_url(re.compile(r"\?tab=diffusion$"))
    expect(app.locator("#diffusion-t")).to_be_visible()
    assert app.evaluate("window.stillHere === true")


def test_plugins_page_shows_broken_plugins_beside_the_working_ones(app):
    app.get_by_role("tab", name="Plugins").click()
    expect(app).to_have_url(re.compile(r"\?tab=plugins$"))
    table = app.locator("#plugin-table")
    expect(table).to_contain_text("softmax")
    expect(table).to_contain_text("loaded")
    expect(table).to_contain_text("broken_at_import")
    expect(table).to_contain_text("failed at import")
    expect(table).to_contain_text("failed at build")
    expect(app.locator("#tab-unbuildable-button")).to_have_count(0)
