"""A real browser on the LoRA tab: a link restores the plan (and names what it ignored), the plan
follows the rank, a refused input; then a short live training run."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TIMEOUT_MS = 90_000  # the first visit loads tiny-llama; a training run takes seconds


def _set(page, elem_id: str, value: str) -> None:
    enter(page.locator(f"#{elem_id} input[type=number]").first, value)


def test_a_link_restores_the_plan_and_the_plan_follows_the_rank(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    link = {
        "tab": "lora",
        "rank": 2,
        "alpha": 4,
        "targets": json.dumps(["q_proj", "v_proj"]),
        "steps": 40,
        "lr": 0.01,
        "seed": 7,
        "bogus": 1,
    }
    # The notice comes at once and fades after a few seconds: look before the page has loaded.
    page.goto(f"{server}/?{urlencode(link)}", wait_until="commit")
    expect(page.locator(".toast-body")).to_contain_text(
        "Ignored from the link: bogus (this tab has no such setting)", timeout=TIMEOUT_MS
    )
    plan = page.locator("#lora-plan")
    # r = 2 on q and v, 192 -> 192, in 4 layers: 4 · 2 · 2 · 384 = 6,144
    expect(plan).to_contain_text("6,144 trainable parameters", timeout=TIMEOUT_MS)
    expect(plan).to_contain_text("of 2,557,632 (0.24%)")
    expect(page.locator("#lora-rank input[type=number]")).to_have_value("2")
    expect(page.locator("#lora-steps input[type=number]")).to_have_value("40")
    expect(page.locator("#lora-lr input")).to_have_value("0.01")
    expect(page.locator("#lora-seed input")).to_have_value("7")
    targets = page.locator("#lora-targets")
    expect(targets.get_by_label("v_proj")).to_be_checked()
    expect(targets.get_by_label("k_proj")).not_to_be_checked()
    cmd = page.locator("#lora-cmd")
    expect(cmd).to_contain_text("--rank 2 --alpha 4")
    expect(cmd).to_contain_text("--steps 40 --lr 0.01 --seed 7")

    _set(page, "lora-rank", "1")
    expect(plan).to_contain_text("3,072 trainable parameters")
    expect(cmd).to_contain_text("--rank 1")

    enter(page.locator("#lora-lr input"), "5")
    expect(page.get_by_text("learning rate must be above 0 and at most 1").first).to_be_visible()


def test_a_short_training_run_changes_the_text(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?tab=lora")
    expect(page.locator("#lora-plan")).to_contain_text("trainable parameters", timeout=TIMEOUT_MS)
    _set(page, "lora-steps", "10")
    page.click("#lora-train")
    summary = page.locator("#lora-train-md")
    expect(summary).to_contain_text("Step 10 of 10", timeout=TIMEOUT_MS)
    expect(summary).to_contain_text("held-out loss")
    expect(page.locator("#lora-loss .js-plotly-plot")).to_be_visible()
    expect(page.locator("#lora-after textarea")).to_have_value(
        re.compile(r"^Arr!"), timeout=TIMEOUT_MS
    )
    expect(page.locator("#lora-delta-md")).to_contain_text("numerical rank is 8")
    expect(page.locator("#lora-layer input")).to_have_value("model.layers.0.self_attn.q_proj")
