"""Shared fixtures: a live `playground serve` and a headless Chromium pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    EXPECT_TIMEOUT_MS,
    FIXTURE_PLUGINS,
    start_server,
    write_dist,
)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[str]:
    """The whole app, with two broken plugins installed beside the built-ins."""
    site = tmp_path_factory.mktemp("site")
    write_dist(site, "broken_at_import", "broken_import")
    write_dist(site, "broken_at_build", "broken_build")
    path = os.pathsep.join([str(site), str(FIXTURE_PLUGINS), os.environ.get("PYTHONPATH", "")])
    proc, url = start_server(env={"PYTHONPATH": path})
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)  # Playwright's 5 s is tight on 2 cores

    with sync_playwright() as p:
        found = [path for path in (CHROMIUM, p.chromium.executable_path) if Path(path).is_file()]
        if not found:
            why = (
                f"no Chromium at {CHROMIUM} nor Playwright's: `apt-get install -y chromium` "
                "(or `playwright install chromium`) runs the browser tests"
            )
            # CI installs Chromium (.ci/run), so there a missing one is a failure.
            if os.environ.get("CI", "").lower() in ("true", "1"):
                pytest.fail(why)
            pytest.skip(why)
        browser = p.chromium.launch(executable_path=found[0], args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # keep what the browser showed when it failed
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()


@pytest.fixture
def tab(page, server, request):
    """The page on the test module's tab once its first view has arrived. The module names the
    tab as ``TAB = (concept, selector, text)``: ``selector`` shows ``text`` when the first view is
    in; and the wait as ``TIMEOUT_MS``, which also becomes the page's default, since a first visit
    loads models on a shared machine."""
    from playwright.sync_api import expect

    concept, selector, text = request.module.TAB
    timeout_ms = request.module.TIMEOUT_MS
    page.set_default_timeout(timeout_ms)
    page.goto(f"{server}/?tab={concept}")
    expect(page.locator(selector)).to_contain_text(text, timeout=timeout_ms)
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
