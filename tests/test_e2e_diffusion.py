"""The Diffusion tab in Debian's Chromium: move the timestep, denoise 16 digits in 10 steps."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers import enter

pytestmark = pytest.mark.browser
TAB = ("diffusion", "#diffusion-numbers", "t = 250")  # conftest's `tab` opens it
TIMEOUT_MS = 60_000


def test_moving_the_timestep_slider_changes_the_noisy_image(tab):
    image = tab.locator("#diffusion-xt img")
    before = image.get_attribute("src")
    enter(tab.locator("#diffusion-t input[type=number]"), "900")
    numbers = tab.locator("#diffusion-numbers")
    expect(numbers).to_contain_text("t = 900", timeout=TIMEOUT_MS)
    expect(numbers).to_contain_text("ᾱ_t = 0.0003")  # linear schedule: almost nothing left
    expect(image).not_to_have_attribute("src", before, timeout=TIMEOUT_MS)


def test_ten_ddim_steps_give_sixteen_digits_and_can_be_stepped_through(tab):
    tab.get_by_role("tab", name="2 · Remove noise").click()
    enter(tab.locator("#diffusion-steps input[type=number]"), "10")
    tab.click("#diffusion-run")
    expect(tab.locator("#diffusion-summary")).to_contain_text(
        "16 samples, DDIM with 10", timeout=TIMEOUT_MS
    )
    expect(tab.locator("#diffusion-samples img")).to_have_count(16, timeout=TIMEOUT_MS)
    expect(tab.get_by_text("Step 1 of 10 (timestep t = 900)")).to_be_visible()
    tab.click("#diffusion-next")
    step_2 = tab.get_by_text("Step 2 of 10 (timestep t = 800)")
    expect(step_2).to_be_visible(timeout=TIMEOUT_MS)


def test_a_link_sets_the_schedule_timestep_and_seed(page, server):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{server}/?tab=diffusion&schedule=cosine&t=600&noise_seed=4&steps=20&bogus=1")
    expect(page.locator(".toast-body")).to_contain_text(
        "bogus (this tab has no such setting)", timeout=TIMEOUT_MS
    )
    numbers = page.locator("#diffusion-numbers")
    expect(numbers).to_contain_text("cosine schedule, t = 600", timeout=TIMEOUT_MS)
    expect(page.locator("#diffusion-t input[type=number]")).to_have_value("600")
    page.get_by_role("button", name="Copy link").click()
    link = page.locator("#diffusion-link textarea")
    for part in ("schedule=cosine", "t=600", "noise_seed=4", "steps=20"):
        expect(link).to_have_value(re.compile(part))
