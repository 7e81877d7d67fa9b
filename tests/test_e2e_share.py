"""Links, exercises and exports in a real browser, on the Softmax tab."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000
LINK = "?tab=softmax&logits=3,2,1,0&t=0.5&dtype=float16&target=sofa&bogus=1&k=x"


def test_a_link_restores_every_control_and_the_result_and_copies_back(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + LINK)
    stats = page.locator("#softmax-stats")
    # softmax([3, 2, 1, 0] / 0.5) in float16: the top token keeps 86.47%
    expect(stats).to_contain_text("p = 86.47%", timeout=TIMEOUT_MS)
    expect(page.locator("#softmax-xent")).to_contain_text("Target sofa")
    expect(page.locator(".toast-body")).to_contain_text(
        "Ignored from the link: bogus (this tab has no such setting); k (this tab has"
    )
    expect(page.locator("#softmax-temperature input[type=number]")).to_have_value("0.5")
    expect(page.get_by_label("float16", exact=True)).to_be_checked()

    page.get_by_role("button", name="Copy link").click()
    link = page.locator("#softmax-link textarea")
    expect(link).to_have_value(re.compile(r"tab=softmax&logits=3%2C2%2C1%2C0&.*t=0.5"))
    copied = link.input_value()
    assert "bogus" not in copied and "dtype=float16" in copied and "target=sofa" in copied
    expect(page).to_have_url(copied)

    fresh = page.context.new_page()
    fresh.goto(copied)
    expect(fresh.locator("#softmax-stats")).to_have_text(stats.inner_text(), timeout=TIMEOUT_MS)
    expect(fresh.locator(".toast-body")).to_have_count(0)


def test_an_exercise_reveals_the_truth_only_after_a_prediction(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "?tab=softmax")
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1", timeout=TIMEOUT_MS)
    page.get_by_text("Predict, then reveal: 3 exercises").click()
    page.locator("#softmax-exercise").get_by_text("Add 100 to every logit").click()
    expect(page.get_by_text("What happens to the probabilities?")).to_be_visible()
    reveal = page.locator("#softmax-reveal")
    page.get_by_role("button", name="Commit and reveal").click()
    expect(page.locator(".toast-body")).to_contain_text("Commit a prediction first")
    expect(reveal).not_to_contain_text("The model says")
    page.locator("#softmax-exercise-choice").get_by_text("They do not change").click()
    page.get_by_role("button", name="Commit and reveal").click()
    expect(reveal).to_contain_text("Right. The model says: They do not change.")
    expect(reveal).to_contain_text("float32 rounding")


def test_export_offers_the_numbers_the_table_and_the_script(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "?tab=softmax&logits=1,2&labels=no,yes")
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1: yes", timeout=TIMEOUT_MS)
    page.get_by_text("Export: numbers, tables and a script").click()
    page.locator("#softmax-export").click()
    files = page.locator("#softmax-export-files")
    for name in ("softmax .json", "reproduce_softmax .py", "softmax-steps .csv"):
        expect(files).to_contain_text(name)  # Gradio shows a name and its extension apart
    expect(page.get_by_text("labels = ['no', 'yes']")).to_be_visible()


def test_compare_shows_two_temperatures_side_by_side(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "?tab=softmax&t=0.7")
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1", timeout=TIMEOUT_MS)
    page.get_by_text("Compare: the same input under two settings").click()
    page.locator("#softmax-compare-changes textarea").fill("t=1.3")
    page.locator("#softmax-compare-run").click()
    table = page.locator("#softmax-compare")
    expect(table).to_contain_text("probabilities: KL(A ‖ B)")
    expect(table).to_contain_text("entropy_nats")
    page.locator("#softmax-compare-changes textarea").fill("t=99")
    page.locator("#softmax-compare-run").click()
    expect(page.locator(".toast-body")).to_contain_text("B's t='99': must be between 0.05 and 5")
