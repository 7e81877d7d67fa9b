"""The GPT tab in Debian's Chromium: type a prompt, step, click a token, rewind, compare."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TAB = ("gpt", "#gpt-summary", "tokens")  # conftest's `tab` opens it
TIMEOUT_MS = 30_000


def tokens(page):
    return page.locator("#gpt-strip .token")


def test_type_a_prompt_step_three_tokens_and_watch_the_strip_and_bars(tab):
    enter(tab.locator("#gpt-prompt textarea"), "The capital of France is")
    summary = tab.locator("#gpt-summary")
    expect(summary).to_contain_text("5 tokens (5 prompt, 0 generated)")
    expect(tokens(tab)).to_have_count(5)
    expect(tokens(tab).nth(1)).to_contain_text("␣capital")
    bars = tab.locator("#gpt-bars")
    expect(bars.locator(".xtick")).to_have_count(20)  # the top 20 candidates
    first = bars.locator(".xtick").first.text_content()
    for n in (6, 7, 8):
        tab.click("#gpt-step")
        expect(summary).to_contain_text(f"{n} tokens (5 prompt, {n - 5} generated)")
    expect(tokens(tab)).to_have_count(8)
    expect(tokens(tab).nth(7)).to_contain_text(re.compile(r"\d+ · \d+%"))  # id · probability
    expect(bars.locator(".xtick").first).not_to_have_text(first)  # a new distribution


def test_click_a_generated_token_then_rewind_to_it(tab):
    summary = tab.locator("#gpt-summary")
    tab.click("#gpt-run")  # 16 tokens
    expect(summary).to_contain_text("24 tokens (8 prompt, 16 generated)")
    tokens(tab).nth(10).click()
    expect(summary).to_contain_text("position 10 (when the model chose it)")
    expect(tab.locator("#gpt-bars")).to_contain_text("At position 10 the model chose")
    tab.click("#gpt-rewind")
    expect(summary).to_contain_text("10 tokens (8 prompt, 2 generated)")  # 10 is re-chosen
    expect(tokens(tab)).to_have_count(10)


def test_side_by_side_compares_strategies(tab):
    tab.get_by_text("Side by side: one prompt, several strategies").click()
    tab.click("#gpt-compare")
    table = tab.locator("#gpt-compared")
    expect(table).to_contain_text("beam search, 4 beams")
    expect(table).to_contain_text("sample, T=0.7, top-p=0.9")


# Deliberately like the other tabs' "refused, then the tab keeps working" tests (test_e2e*.py).
def test_a_bad_setting_shows_an_error_and_the_tab_keeps_working(tab):
    top_k = tab.locator("#gpt-top-k input[type=number]")
    enter(top_k, "2.5")
    expect(tab.get_by_text("Top-k must be a whole number").first).to_be_visible()
    enter(top_k, "3")
    expect(tab.locator("#gpt-summary")).to_contain_text("sample, T=1, top-k=3, top-p=0.9")


def test_a_copied_link_opens_the_same_text_with_the_same_settings(tab, server):
    tab.locator("#gpt-strategy").get_by_text("greedy").click()
    enter(tab.locator("#gpt-prompt textarea"), "The little dragon")
    summary = tab.locator("#gpt-summary")
    expect(summary).to_contain_text("0 generated")
    # a click while a step is still running is dropped (a button's events run once at a time)
    tab.locator("#gpt-step").click()
    expect(summary).to_contain_text("1 generated")
    tab.locator("#gpt-step").click()
    expect(summary).to_contain_text("2 generated")
    strip = tab.locator("#gpt-strip").inner_text()

    tab.get_by_role("button", name="Copy link").click()
    link = tab.locator("#gpt-link textarea")
    expect(link).to_have_value(re.compile(r"strategy=greedy.*generated=2"))
    fresh = tab.context.new_page()
    fresh.goto(link.input_value() + "&top_k=9999")
    expect(fresh.locator("#gpt-summary")).to_contain_text("2 generated", timeout=TIMEOUT_MS)
    expect(fresh.locator("#gpt-strip")).to_have_text(strip)
    expect(fresh.locator("#gpt-strategy input[value=greedy]")).to_be_checked()
    expect(fresh.locator(".toast-body")).to_contain_text("top_k='9999' (must be between 0 and 500)")
