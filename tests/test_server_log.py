"""A normal session leaves a quiet server log: start the app, visit every tab in Chromium, run
each tab's main actions once (at cheap settings), then read what the server printed. And what
no session here reaches: a hub pipeline loads and generates without progress bars."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Locator, Page, expect

from playground.host import load
from tests.helpers import EXPECT_TIMEOUT_MS, enter, start_server

FIRST_VIEW_MS = 60_000  # a tab's first view loads its model on a busy machine
# The session runs long jobs (training runs, transfer learning), which on a busy machine can
# outlast the suite's usual wait; this test reads the log, it does not time them.
SESSION_WAIT_MS = 120_000
PROGRESS_BAR = re.compile(r"\d+%\|")  # tqdm's "  40%|████      | 2/5"


def number(page: Page, where: str, label: str, value: float) -> None:
    """Type into the number box of the slider or number field labelled ``label``."""
    enter(page.locator(f"{where} input[type=number][aria-label$='{label}']").first, str(value))


def text(page: Page, selector: str, value: str) -> None:
    page.locator(f"{selector} textarea").fill(value)


@contextmanager
def changes(output: Locator) -> Iterator[None]:
    """Wait, after the block, for ``output`` to show something new (a tab's first view has
    already filled it)."""
    before = output.inner_text()
    yield
    expect(output).not_to_have_text(before)


# One session a tab, written out step by step as a learner would click: where two tabs' steps
# look alike (embeddings and moe: type, press a button, read the status) the copy is deliberate.


def softmax(page: Page) -> None:
    expect(page.locator("#softmax-stats")).to_contain_text("Top-1", timeout=FIRST_VIEW_MS)
    text(page, "#softmax-logits", "2, 1, 0")
    page.locator("#tab-softmax").get_by_role("button", name="Apply", exact=True).click()
    expect(page.locator("#softmax-stats")).to_contain_text("p = 66.52%")  # 1 / (1 + e⁻¹ + e⁻²)


def gpt(page: Page) -> None:
    summary = page.locator("#gpt-summary")
    expect(summary).to_contain_text("0 generated", timeout=FIRST_VIEW_MS)
    page.click("#gpt-step")
    expect(summary).to_contain_text("1 generated")
    page.click("#gpt-run")
    expect(summary).to_contain_text("17 generated")  # 16 more
    page.get_by_role("button", name=re.compile("^Draw ")).click()
    expect(page.locator("#gpt-draws-note")).to_contain_text("draws landed")
    page.get_by_role("button", name=re.compile("^Time ")).click()
    expect(page.locator("#gpt-cache-note")).to_contain_text("with the KV cache")
    page.get_by_text("Side by side: one prompt, several strategies").click()
    page.click("#gpt-compare")
    expect(page.locator("#gpt-compared")).to_contain_text("beam search")


def embeddings(page: Page) -> None:
    tab = page.locator("#tab-embeddings")
    expect(page.locator("#embeddings-status")).to_contain_text("queen", timeout=FIRST_VIEW_MS)
    text(page, "#embeddings-expression", "paris - france + italy")
    tab.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#embeddings-status")).to_contain_text("florence")
    text(page, "#embeddings-sentences", "A cat sat on the mat.\nStocks fell today.")
    tab.get_by_role("button", name="Compare", exact=True).click()
    expect(page.locator("#embeddings-pair")).to_contain_text("2 sentences")
    text(page, "#embeddings-query", "When did the French Revolution begin?")
    number(page, "#tab-embeddings", "Results", 1)
    tab.get_by_role("button", name="Search the documents").click()
    expect(page.locator("#embeddings-hits")).not_to_contain_text("Photosynthesis")
    with changes(page.locator("#embeddings-context")):
        page.get_by_label("Second sentence").fill("The bank raised its rates.")
        tab.get_by_role("button", name="Compare the word").click()


def attention(page: Page) -> None:
    expect(page.locator("#attention-status")).to_contain_text("tokens", timeout=FIRST_VIEW_MS)
    page.locator("#attention-head input").fill("4")
    page.click("#attention-open")
    expect(page.locator("#attention-heatmap")).to_contain_text("Layer 0, head 4")
    page.get_by_role("tab", name="Transformer anatomy").click()
    expect(page.locator("#attention-anatomy-md")).to_contain_text("GPT-2 small")


def moe(page: Page) -> None:
    tab = page.locator("#tab-moe")
    expect(page.locator("#moe-status")).to_contain_text("tokens", timeout=FIRST_VIEW_MS)
    text(page, "#moe-text", "A spider has eight legs.")
    tab.get_by_role("button", name="Route", exact=True).click()
    expect(page.locator("#moe-status")).to_contain_text("6 tokens through tiny-mixtral")
    tab.get_by_role("tab", name="Dense vs sparse").click()
    with changes(page.locator("#moe-compare-md")):
        number(page, "#tab-moe", "New tokens", 2)
        tab.get_by_role("button", name="Compare", exact=True).click()
    tab.get_by_role("tab", name="Training: with and without the aux loss").click()
    number(page, "#tab-moe", "Steps", 10)
    page.click("#moe-train")
    expect(page.locator("#moe-train-md")).to_contain_text("Step 10 of 10")


def diffusion(page: Page) -> None:
    tab = page.locator("#tab-diffusion")
    expect(page.locator("#diffusion-numbers")).to_contain_text("t = ", timeout=FIRST_VIEW_MS)
    tab.get_by_role("tab", name="2 · Remove noise").click()
    number(page, "#diffusion-steps", "Steps", 5)
    page.click("#diffusion-run")
    expect(page.locator("#diffusion-summary")).to_contain_text("DDIM with 5")
    tab.get_by_role("tab", name="3 · Schedulers side by side").click()
    number(page, "#diffusion-compare-tab", "Steps: DDIM, Euler, DPM++", 2)
    number(page, "#diffusion-compare-tab", "DDPM steps", 2)
    page.click("#diffusion-compare")
    expect(page.locator("#diffusion-compared")).to_contain_text("DPM")
    tab.get_by_role("tab", name="4 · 2-D view").click()
    number(page, "#diffusion-toy-tab", "Points", 50)
    number(page, "#diffusion-toy-tab", "DDIM steps", 5)
    page.click("#diffusion-toy-run")
    expect(tab.get_by_text("50 points, our DDIM with 5 steps")).to_be_visible()
    tab.get_by_role("tab", name="5 · Train live").click()
    number(page, "#diffusion-train-tab", "Training steps", 10)
    page.click("#diffusion-train")
    expect(page.locator("#diffusion-train-status")).to_contain_text("Step 10 of 10")
    # Text to image needs a GPU and a Stable Diffusion model in the local cache: without
    # them its button only answers why, which is no part of a normal session here.


def lora(page: Page) -> None:
    tab = page.locator("#tab-lora")
    expect(page.locator("#lora-plan")).to_contain_text("trainable", timeout=FIRST_VIEW_MS)
    number(page, "#lora-steps", "Steps", 10)
    page.click("#lora-train")
    expect(page.locator("#lora-train-md")).to_contain_text("held-out loss")
    expect(page.locator("#lora-after textarea")).not_to_have_value("")
    text(page, "#lora-prompt", "The dragon")
    tab.get_by_role("button", name="Generate before / after").click()
    expect(page.locator("#lora-before textarea")).to_have_value(re.compile("^The dragon"))
    tab.get_by_role("tab", name="Merge / unmerge").click()
    page.click("#lora-merge")
    expect(page.locator("#lora-merge-md")).to_contain_text("Forward pass")
    tab.get_by_role("tab", name="Save / load the adapter").click()
    page.click("#lora-save")
    expect(page.locator("#lora-saved")).to_contain_text("zip")
    tab.get_by_role("tab", name="QLoRA: the base in NF4").click()
    page.click("#lora-qlora")
    expect(page.locator("#lora-qlora-table")).to_contain_text("NF4")
    tab.get_by_role("tab", name="Transfer learning", exact=True).click()
    page.click("#lora-transfer")
    expect(page.locator("#lora-transfer-md")).to_contain_text("Chance is")


def quantization(page: Page) -> None:
    tab = page.locator("#tab-quantization")
    expect(page.locator("#quantization-lab-md")).to_contain_text("SNR", timeout=FIRST_VIEW_MS)
    summary = page.locator("#quantization-summary")
    tab.get_by_role("tab", name="Scope: what to quantize").click()
    page.click("#quantization-scope-run")
    expect(summary).to_contain_text("weights only")
    tab.get_by_role("tab", name="Timing: when to quantize").click()
    page.click("#quantization-ptq-run")
    expect(summary).to_contain_text("W8A8 static")
    number(page, "#quantization-qat-steps", "QAT steps", 1)
    page.click("#quantization-qat-run")
    expect(summary).to_contain_text("QAT, 1 steps")
    tab.get_by_role("tab", name="Outliers and LLM.int8()").click()
    expect(page.locator("#quantization-outliers-md")).to_contain_text("LLM.int8() keeps")


MAIN_ACTIONS = {
    "softmax": softmax,
    "gpt": gpt,
    "embeddings": embeddings,
    "attention": attention,
    "moe": moe,
    "lora": lora,
    "quantization": quantization,
    "diffusion": diffusion,
}


def open_tab(page: Page, tab_id: str) -> None:
    page.locator(f"#tab-{tab_id}-button").click()  # the bar wraps: every tab is in it
    expect(page).to_have_url(re.compile(rf"\?tab={tab_id}$"))


@pytest.fixture
def session_log(tmp_path):
    """The server's log file, written by one plain `playground serve`, as a user starts it."""
    log = tmp_path / "server.log"
    # unbuffered: what the server prints is in the file when the test reads it
    proc, url = start_server(env={"PYTHONUNBUFFERED": "1"}, log_path=log)
    yield url, log
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.browser
@pytest.mark.slow
def test_a_normal_session_logs_no_traceback_no_repeated_warning_and_no_progress_bar(
    session_log, page
):
    url, log = session_log
    tab_ids = {c.id for c in load().concepts}
    assert tab_ids == set(MAIN_ACTIONS), "every tab needs its main actions listed here"
    page.goto(url)
    expect(page.locator("#concept-map")).to_contain_text("Softmax")
    expect.set_options(timeout=SESSION_WAIT_MS)
    try:
        for tab_id in MAIN_ACTIONS:
            open_tab(page, tab_id)
            MAIN_ACTIONS[tab_id](page)
    finally:
        expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    open_tab(page, "plugins")
    expect(page.locator("#plugin-table")).to_contain_text("softmax")

    lines = log.read_text().splitlines()
    # the banner points at our CLI's --share, not at Gradio's launch() argument
    assert "* For a public link, start it with `playground serve --share`." in lines
    assert not [line for line in lines if "share=True" in line], "\n".join(lines)
    assert not [line for line in lines if "Traceback" in line], "\n".join(lines)
    assert not [line for line in lines if PROGRESS_BAR.search(line)], "\n".join(lines)
    repeated = [line for line, n in Counter(lines).items() if n > 1 and line.strip()]
    assert not repeated, "\n".join(lines)


def test_a_hub_pipeline_loads_and_generates_without_progress_bars(tmp_path, capfd):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    from plugins.models.language import load_hub_pipeline

    unet = UNet2DModel(
        sample_size=8,
        in_channels=1,
        out_channels=1,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * 2,
        up_block_types=("UpBlock2D",) * 2,
        norm_num_groups=4,
    )
    DDPMPipeline(unet, DDPMScheduler(num_train_timesteps=10)).save_pretrained(tmp_path)
    capfd.readouterr()
    pipe = load_hub_pipeline(str(tmp_path))("cpu")  # a local folder stands in for a repo
    pipe(batch_size=1, num_inference_steps=2, output_type="np")
    out, err = capfd.readouterr()
    assert not PROGRESS_BAR.search(out + err), out + err
