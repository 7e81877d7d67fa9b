"""A real browser on the Quantization tab: the mapping lab, a link into it, a scope run into
the summary, and a look at every sub-tab."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TAB = ("quantization", "#quantization-lab-md", "SNR")  # conftest's `tab` opens it
TIMEOUT_MS = 60_000  # the first visit loads tiny-llama
LINK = "?tab=quantization&format=int4&granularity=tensor&outliers=3&bogus=1"


def test_the_lab_redraws_for_another_format_and_refuses_a_bad_group(tab):
    md = tab.locator("#quantization-lab-md")
    expect(md).to_contain_text("int8 symmetric, per channel")
    expect(tab.locator("#quantization-hist .js-plotly-plot")).to_be_visible()
    tab.locator("#quantization-lab-format").get_by_label("nf4").check()
    expect(md).to_contain_text("NormalFloat", timeout=TIMEOUT_MS)  # behind the queue's work
    tab.get_by_label("group", exact=True).first.check()
    number = tab.locator("#quantization-lab-group input[type=number]")
    enter(number, "128")
    number.blur()
    expect(tab.get_by_text("nearest sizes that do: 64, 96").first).to_be_visible()


def test_a_link_restores_the_lab_and_says_what_it_ignored(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + LINK)
    # the notice comes as the controls are set, before the lab's work (and fades after a while)
    expect(page.locator(".toast-body")).to_contain_text(
        "Ignored from the link: bogus (this tab has no such setting)", timeout=TIMEOUT_MS
    )
    md = page.locator("#quantization-lab-md")
    expect(md).to_contain_text("int4 symmetric, per tensor", timeout=TIMEOUT_MS)
    expect(md).to_contain_text("3 planted outliers")
    expect(page.locator("#quantization-lab-format").get_by_label("int4")).to_be_checked()
    expect(page.locator("#quantization-outliers input[type=number]")).to_have_value("3")
    page.get_by_role("button", name="Copy link").first.click()
    copied = page.locator("#quantization-link textarea").input_value()
    assert "format=int4" in copied and "outliers=3" in copied and "bogus" not in copied


def test_a_scope_run_lands_in_the_summary_and_every_sub_tab_draws(tab):
    tab.get_by_role("tab", name="Scope: what to quantize").click()
    tab.click("#quantization-scope-run")
    table = tab.locator("#quantization-scope-table")
    expect(table).to_contain_text("int8 symmetric, per channel", timeout=TIMEOUT_MS)
    expect(tab.locator("#quantization-scope-md")).to_contain_text(
        re.compile(r"\d+ of 16 greedy tokens agree")
    )
    expect(tab.locator("#quantization-summary")).to_contain_text("weights only")
    tab.screenshot(path="/tmp/quantization-scope.png", full_page=True)
    tab.get_by_role("tab", name="Timing: when to quantize").click()
    expect(tab.locator("#quantization-qat-format").get_by_label("int2")).to_be_checked()
    tab.screenshot(path="/tmp/quantization-timing.png", full_page=True)
    tab.get_by_role("tab", name="Outliers and LLM.int8()").click()
    expect(tab.locator("#quantization-outliers-md")).to_contain_text("LLM.int8() keeps")
    expect(tab.locator("#quantization-features .js-plotly-plot")).to_be_visible()
    tab.screenshot(path="/tmp/quantization-outliers.png", full_page=True)
    tab.get_by_role("tab", name="Mapping lab").click()
    tab.screenshot(path="/tmp/quantization-tab.png", full_page=True)
