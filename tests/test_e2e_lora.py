"""A real browser on the LoRA tab: the plan, a short live training run, and a refused input."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
TIMEOUT_MS = 90_000  # the first visit loads tiny-llama; a training run takes seconds


@pytest.fixture
def tab(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?tab=lora")
    expect(page.locator("#lora-plan")).to_contain_text("trainable parameters", timeout=TIMEOUT_MS)
    return page


def _set(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(value)
    box.press("Enter")


def test_the_plan_follows_the_rank(tab):
    plan = tab.locator("#lora-plan")
    expect(plan).to_contain_text("of 2,557,632")
    _set(tab, "lora-rank", "1")
    # r = 1 on all seven modules: 4 layers · (4 · 384 + 3 · 704) = 14,592
    expect(plan).to_contain_text("14,592 trainable parameters")
    expect(tab.locator("#lora-cmd")).to_contain_text("--rank 1")


def test_a_short_training_run_changes_the_text(tab):
    _set(tab, "lora-steps", "10")
    tab.click("#lora-train")
    summary = tab.locator("#lora-train-md")
    expect(summary).to_contain_text("Step 10 of 10", timeout=TIMEOUT_MS)
    expect(summary).to_contain_text("held-out loss")
    expect(tab.locator("#lora-loss .js-plotly-plot")).to_be_visible()
    expect(tab.locator("#lora-after textarea")).to_have_value(
        re.compile(r"^Arr!"), timeout=TIMEOUT_MS
    )
    expect(tab.locator("#lora-delta-md")).to_contain_text("numerical rank is 8")


def test_a_bad_learning_rate_is_refused(tab):
    box = tab.locator("#lora-lr input")
    box.fill("5")
    box.press("Enter")
    expect(tab.get_by_text("learning rate must be above 0 and at most 1").first).to_be_visible()
