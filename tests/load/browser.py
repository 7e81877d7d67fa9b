"""Time to a tab's first view in Chromium: the playground against a bare Gradio page of the same
shape (tests/load/bare.py), both started by `playground.bench.serving`, in the same run.

A visitor opens a deep link, ``/?tab=ID``, in a new browser context (an empty cache, a session
of its own). Its first view is the time from ``page.goto`` until the tab's panel (``#tab-ID``)
shows a figure, a table row or an image, and no progress indicator. Every panel starts without
any of them (checked on each tab when this was written): a tab that gains a figure or image
shown before anything is computed needs a narrower VIEW. Every tab is visited by one visitor
at a time, then by a burst: one visitor per tab, all at once. Visits to the two pages
alternate and wait for both servers to be idle, so both see the same machine.
"""

from __future__ import annotations

import asyncio
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from playground.bench import _row
from tests.helpers import CHROMIUM, CHROMIUM_ARGS
from tests.load import settle
from tests.load.report import ms, percentile

VIEW = ".js-plotly-plot, tbody tr, img"
# Gradio's status tracker while an event is queued or computing ("generating" is a streamed
# answer already on screen); hidden ones stay in the page with the class "hide".
BUSY = ".wrap.default:not(.hide):not(.generating), .wrap.center:not(.hide):not(.generating)"
VIEW_TIMEOUT_S = 120
POLL_MS = 20
TARGET = "ratio <= 1.25"  # issue 19: within 1.25x the bare page, alone and in a burst
BARE = "bare Gradio page, same shape"

# In the page: whether the linked tab shows its first view (see the module docstring).
SHOWN = f"""(tab) => {{
  const panel = document.getElementById(`tab-${{tab}}`);
  if (!panel || panel.querySelector({BUSY!r})) return false;
  return [...panel.querySelectorAll({VIEW!r})].some((e) => e.getClientRects().length > 0);
}}"""


@dataclass
class FirstViews:
    """Seconds to each tab's first view (None: not shown within VIEW_TIMEOUT_S)."""

    tabs: list[str]
    ours_alone: list[float | None] = field(default_factory=list)
    bare_alone: list[float | None] = field(default_factory=list)
    ours_burst: list[float | None] = field(default_factory=list)
    bare_burst: list[float | None] = field(default_factory=list)

    def missing(self) -> tuple[int, int]:
        """First views that never showed: ours, the bare page's."""
        ours = [*self.ours_alone, *self.ours_burst]
        bare = [*self.bare_alone, *self.bare_burst]
        return ours.count(None), bare.count(None)

    def markdown(self) -> str:
        def cell(t: float | None) -> str:
            return "never" if t is None else f"{t:.2f}"

        lines = [
            "| tab | alone (s) | bare, alone (s) | in a burst (s) | bare, in a burst (s) |",
            "|---|---:|---:|---:|---:|",
        ]
        for i, tab in enumerate(self.tabs):
            times = (self.ours_alone[i], self.bare_alone[i], self.ours_burst[i], self.bare_burst[i])
            lines.append(f"| {tab} | " + " | ".join(map(cell, times)) + " |")
        return "\n".join(lines)

    def rows(self, device: str) -> list[dict]:
        n = len(self.tabs)
        rows = []
        for how, ours, bare in (
            ("one visitor", self.ours_alone, self.bare_alone),
            (f"{n} visitors at once", self.ours_burst, self.bare_burst),
        ):
            shown = [t for t in ours if t is not None]
            shown_bare = [t for t in bare if t is not None]
            for q in (50, 95):
                mine = percentile(shown, q) if shown else None
                theirs = percentile(shown_bare, q) if shown_bare else None
                ratio = round(mine / theirs, 3) if mine is not None and theirs else None
                case = f"first view of a tab, {how}: p{q} of {n} tabs"
                rows.append(
                    _row(
                        "host",
                        case,
                        device,
                        TARGET,
                        ours_ms=ms(mine),
                        reference=BARE,
                        reference_ms=ms(theirs),
                        ratio=ratio,
                    )
                )
        missing = self.missing()[0]
        case = f"first views not shown within {VIEW_TIMEOUT_S} s, of {2 * n}"
        rows.append(_row("host", case, device, "value <= 0", value=missing, unit="views"))
        return rows


async def _first_view(browser, url: str, tab: str) -> float | None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    context = await browser.new_context()
    try:
        page = await context.new_page()
        start = time.perf_counter()
        await page.goto(f"{url}/?tab={tab}", wait_until="commit")
        await page.wait_for_function(SHOWN, arg=tab, polling=POLL_MS, timeout=VIEW_TIMEOUT_S * 1000)
        return time.perf_counter() - start
    except PlaywrightTimeout:
        return None
    finally:
        await context.close()


async def _measure(ours: str, bare: str, tabs: list[str], pids: list[int]) -> FirstViews:
    from playwright.async_api import async_playwright

    views = FirstViews(tabs)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for url in (ours, bare):  # Chromium's first start, each server's first page
                context = await browser.new_context()
                await (await context.new_page()).goto(url)
                await context.close()
            for tab in tabs:
                for url, into in ((ours, views.ours_alone), (bare, views.bare_alone)):
                    settle(pids)
                    into.append(await _first_view(browser, url, tab))
            for url, into in ((ours, views.ours_burst), (bare, views.bare_burst)):
                settle(pids)
                into += await asyncio.gather(*(_first_view(browser, url, t) for t in tabs))
        finally:
            await browser.close()
    return views


def measure(ours: str, bare: str, tabs: list[str], pids: list[int]) -> FirstViews:
    """Each tab's first view on our page (``ours``) and on the bare one, whose servers run as
    ``pids``: one visitor at a time, then a burst of one visitor per tab."""
    # A loop of its own in a thread of its own: the caller's thread may already run one
    # (pytest's session Chromium, driven through Playwright's sync API, does).
    with ThreadPoolExecutor(1) as pool:
        views = pool.submit(asyncio.run, _measure(ours, bare, tabs, pids)).result()
    if views.missing()[1]:
        print(f"the bare page showed {views.missing()[1]} views late or never", file=sys.stderr)
    return views
