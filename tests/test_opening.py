"""Lazy tabs and shared first views (playground.opening): the functions, and the composed app
in a real browser, counting what the server computes."""

from __future__ import annotations

import threading
import time
from importlib.metadata import EntryPoint

import pytest

from playground import opening
from playground.app import create_app, launch
from playground.host import Host
from playground.models import ModelRegistry
from tests.helpers import FIXTURE_PLUGINS


def _counting(calls: list):
    def view(text: str, level: float = 1.0) -> str:
        calls.append((text, level))
        time.sleep(0.2)  # long enough for the other threads to arrive while it computes
        return f"{text}:{level}"

    return view


def test_visitors_arriving_together_share_one_computation():
    calls: list = []
    view = opening.shared(_counting(calls))
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(view("a", 2))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["a:2"] * 8 and calls == [("a", 2)]
    assert view("a", 2.0) == "a:2" and view("b", 2) == "b:2"  # 2 == 2.0: the same view
    assert calls == [("a", 2), ("b", 2)]


def test_only_plain_arguments_are_shared_and_only_the_last_few():
    calls: list = []
    view = opening.shared(_counting(calls))
    view(["not", "plain"], {"x": 1})
    view(["not", "plain"], {"x": 1})
    assert len(calls) == 2
    for level in range(opening.KEEP + 1):
        view("k", level)
    view("k", 0)  # the oldest was let go
    assert calls[-1] == ("k", 0) and len(view.shared_views) == opening.KEEP


def test_a_failure_is_not_kept():
    attempts = []

    def flaky(text: str) -> str:
        attempts.append(text)
        if len(attempts) == 1:
            raise RuntimeError("first time fails")
        return text

    view = opening.shared(flaky)
    with pytest.raises(RuntimeError):
        view("x")
    assert view("x") == "x" and view("x") == "x" and attempts == ["x", "x"]


def test_generators_are_never_shared():
    def stream(text: str):
        yield text

    assert opening.shared(stream) is stream


@pytest.fixture
def lazy_app(monkeypatch):
    """The composed app with only the two counting tabs, served in this process."""
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))
    import lazy_pair

    lazy_pair.CALLS.clear()
    ep = EntryPoint(name="lazy_pair", value="lazy_pair", group="playground")
    app = create_app(Host(ModelRegistry()).load([ep]))
    launch(app, server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)  # with tabs.js
    try:
        yield app.local_url.rstrip("/"), lazy_pair.CALLS, app
    finally:
        app.close()


@pytest.mark.browser
def test_a_tab_computes_when_first_shown_and_its_view_is_shared(lazy_app, browser):
    from playwright.sync_api import expect

    url, calls, _ = lazy_app
    home = browser.new_page()
    home.goto(url)
    expect(home.locator("#tab-home-button")).to_be_visible()
    expect(home.locator("#pg-open-first")).to_be_attached()
    assert calls == []  # Home computes no tab's view

    linked = browser.new_page()
    linked.goto(f"{url}/?tab=second")
    expect(linked.locator("#second-out")).to_contain_text("second at 3")
    assert calls == [("second", 3)]  # a deep link computes only its tab

    linked.locator("#tab-first-button").click()
    expect(linked.locator("#first-out")).to_contain_text("first at 3")
    linked.locator("#tab-second-button").click()
    linked.locator("#tab-first-button").click()  # shown again: nothing is recomputed
    expect(linked.locator("#first-out")).to_contain_text("first at 3")

    other = browser.new_page()
    other.goto(f"{url}/?tab=first")
    expect(other.locator("#first-out")).to_contain_text("first at 3")  # from memory
    assert calls == [("second", 3), ("first", 3)]

    other.get_by_role("button", name="Go", exact=True).click()  # the visitor's own event
    deadline = time.monotonic() + 20  # the click's answer reaches the page after the server
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls == [("second", 3), ("first", 3), ("first", 3)]
    for page in (home, linked, other):
        page.close()


def test_the_warm_computes_each_default_view_once(lazy_app):
    _, calls, app = lazy_app
    opening.warm(app)
    assert sorted(calls) == [("first", 3), ("second", 3)]
    opening.warm(app)
    assert len(calls) == 2
