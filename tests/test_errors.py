"""No event answers with a message-less error: the host's wrapper (playground.errors), through
its functions, the API and a real browser, with the server's log read back."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import pytest

from playground import errors
from tests.helpers import FIXTURE_PLUGINS, start_server, write_dist

ID = re.compile(r"error id ([0-9a-f]{8})")


def _fail(text):
    raise KeyError(text)


def _fail_later(text):
    yield text
    raise KeyError(text)


async def _fail_async(text):
    raise KeyError(text)


async def _fail_async_later(text):
    yield text
    raise KeyError(text)


def _in_own_loop(coroutine):
    """Run ``coroutine`` on a loop in a thread of its own: this thread may already run one
    (Playwright's, for the session's Chromium)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _run(fn, *args):
    """Call ``fn`` to the end, whatever kind of function it is."""
    result = fn(*args)
    if hasattr(result, "__anext__"):

        async def drain():
            return [item async for item in result]

        return _in_own_loop(drain())
    if hasattr(result, "__next__"):
        return list(result)
    return _in_own_loop(result) if asyncio.iscoroutine(result) else result


@pytest.mark.parametrize("fn", [_fail, _fail_later, _fail_async, _fail_async_later])
def test_an_unexpected_exception_becomes_a_message_with_an_id_logged_once(fn, caplog):
    with caplog.at_level(logging.INFO, logger="playground"), pytest.raises(gr.Error) as raised:
        _run(errors.guarded(fn, "Softmax", "softmax_run"), "boom")
    message = raised.value.message
    assert message.startswith("Softmax hit an unexpected error (error id ")
    assert not raised.value.print_exception
    (record,) = caplog.records
    assert ID.search(message)[1] in record.getMessage() and "softmax_run" in record.getMessage()
    assert record.exc_info[0] is KeyError


def test_a_refused_input_passes_through_as_one_log_line(caplog):
    def refuse(x):
        raise gr.Error("x must be positive.")

    with caplog.at_level(logging.INFO, logger="playground"), pytest.raises(gr.Error) as raised:
        errors.guarded(refuse, "Softmax", "softmax_run")(-1)
    assert raised.value.message == "x must be positive." and not raised.value.print_exception
    (record,) = caplog.records
    assert record.getMessage() == "Softmax (softmax_run) refused: x must be positive."
    assert record.exc_info is None


def test_wrapping_keeps_the_signature_gradio_reads_and_happens_once():
    def handler(text: str, request: gr.Request) -> str:
        return text

    with gr.Blocks() as blocks:
        box = gr.Textbox()
        box.submit(handler, box, box, api_name="x_run")
    errors.wrap(blocks, "X")
    (block_fn,) = blocks.fns.values()
    once = block_fn.fn
    errors.wrap(blocks, "X")
    assert block_fn.fn is once and once.__wrapped__ is handler
    assert list(inspect.signature(once).parameters) == ["text", "request"]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    """The app serving only the fixture plugin whose events fail, and its log."""
    site = tmp_path_factory.mktemp("site")
    write_dist(site, "failing_event", "failing_event")
    path = os.pathsep.join([str(site), str(FIXTURE_PLUGINS), os.environ.get("PYTHONPATH", "")])
    log = tmp_path_factory.mktemp("log") / "server.log"
    env = {"PYTHONPATH": path, "PLAYGROUND_LOAD_PLUGINS": "failing_event"}
    proc, url = start_server(env=env, log_path=log)
    yield url, log
    proc.terminate()
    proc.wait(timeout=30)


def test_a_failing_event_answers_the_api_with_its_tab_and_an_id_in_the_log(faulty):
    from gradio_client import Client

    url, log = faulty
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="Faulty hit an unexpected error") as raised:
        client.predict("", api_name="/faulty_run")
    error_id = ID.search(str(raised.value))[1]
    with pytest.raises(Exception, match="'no' is not allowed here"):
        client.predict("no", api_name="/faulty_refuse")
    text = log.read_text()
    assert text.count("Traceback") == 1 and "ZeroDivisionError" in text
    assert f"Faulty (faulty_run) failed, error id {error_id}" in text
    (refused,) = [line for line in text.splitlines() if "faulty_refuse" in line]
    assert refused.endswith("Faulty (faulty_refuse) refused: 'no' is not allowed here.")


@pytest.mark.browser
def test_a_failing_event_shows_the_visitor_its_message(faulty, page):
    from playwright.sync_api import expect

    url, _ = faulty
    page.goto(f"{url}/?tab=faulty")
    page.locator("#faulty-divide").click()
    expect(page.get_by_text("Faulty hit an unexpected error (error id")).to_be_visible()
    page.locator("#faulty-text textarea").fill("fine")
    page.locator("#faulty-divide").click()
    expect(page.locator("#faulty-out textarea")).to_have_value("0.25")
