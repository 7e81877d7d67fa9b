"""Every concept's tab as a person sees it: ``python -m tests.gallery OUT`` starts the app, opens
each tab at a desktop and a phone width in headless Chromium, and writes full-page screenshots
of its first view and of the view after its main action:
OUT/<concept>-<width>-<default|after>.png.

What a tab's first view draws is read from the served app, not listed here: the figures (gr.Plot)
that its opening events and their chains write, and the inner tab each sits in. The browser
tests of the layout (tests/test_e2e_layout.py) wait for a first view the same way.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Error, Locator, Page, expect, sync_playwright

from playground.opening import OPENER
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, start_server

VIEWPORTS = {1400: 1000, 390: 844}  # width: height; a desktop and a phone
# A first visit loads the tab's models; the embeddings tab may also build its word index
# (minutes on a fresh machine, then cached), and the shared machine is busy.
FIRST_VIEW_MS = 240_000
ACTION_MS = 120_000  # the slowest main action: LoRA's training run, on 2 shared cores


@dataclass(frozen=True)
class Visit:
    """What the gallery does on a concept's tab. Its first view has arrived once ``first``
    (selector, text) shows. Its main action: open the inner tab ``section``, type ``fill``
    (selector, text), click the button labelled ``button``; it has landed once ``done`` shows."""

    first: tuple[str, str]
    button: str
    done: tuple[str, str]
    section: str | None = None
    fill: tuple[str, str] | None = None


# Where a first view already shows what the button computes, an input is changed first so
# that the view after it differs.
VISITS = {
    "softmax": Visit(
        ("#softmax-stats", "Top-1"),
        "Apply",
        ("#softmax-stability", "3 of 3 entries as inf/NaN"),
        fill=("#softmax-logits textarea", "1000, 999, 998"),
    ),
    "gpt": Visit(("#gpt-summary", "0 generated"), "Run", ("#gpt-summary", "16 generated")),
    "embeddings": Visit(
        ("#embeddings-status", "out of"),
        "Search",
        ("#embeddings-status", "paris - france + italy"),
        fill=("#embeddings-expression textarea", "paris - france + italy"),
    ),
    "attention": Visit(
        ("#attention-status", "tokens"),
        "Open head",
        ("#attention-heatmap", "Layer 0, head 3"),
        fill=("#attention-head input", "3"),
    ),
    "moe": Visit(
        ("#moe-status", "tokens"),
        "Route",
        ("#moe-status", "6 tokens through tiny-mixtral"),
        fill=("#moe-text textarea", "A spider has eight legs."),
    ),
    "lora": Visit(  # the run's last output: the adapter's ΔW
        ("#lora-plan", "trainable parameters"), "Train", ("#lora-delta-md", "numerical rank")
    ),
    "quantization": Visit(
        ("#quantization-lab-md", "SNR"),
        "Quantize and measure",
        ("#quantization-scope-table", "int8 symmetric, per channel"),
        section="Scope: what to quantize",
    ),
    "diffusion": Visit(
        ("#diffusion-numbers", "t = 250"),
        "Denoise from noise",
        ("#diffusion-summary", "16 samples"),
        section="2 · Remove noise",
    ),
}


@dataclass(frozen=True)
class Figure:
    """A figure a tab's first view draws, and where: in no inner tab (``section`` None), or in
    the inner tab ``section`` of the gr.Tabs ``group``, which shows it first when ``first``."""

    section: str | None
    group: int | None
    first: bool

    def shown(self, section: str | None, group: int | None) -> bool:
        """Whether it is on screen once the inner tab ``section`` of ``group`` is open (None:
        none opened, each gr.Tabs showing its first)."""
        if self.section is None:
            return True
        return self.section == section if self.group == group else self.first


@dataclass(frozen=True)
class Concept:
    id: str
    title: str
    figures: tuple[Figure, ...]

    def shown(self, section: str | None = None) -> int:
        group = next((f.group for f in self.figures if f.section == section), None)
        return sum(f.shown(section, group) for f in self.figures)

    @property
    def sections(self) -> list[str]:
        """The inner tabs that hold first-view figures off screen at first, in the tab's order."""
        return list(dict.fromkeys(f.section for f in self.figures if f.section and not f.first))


def concepts(url: str) -> list[Concept]:
    """Every concept the app at ``url`` serves, in tab order, read from Gradio's /config."""
    with urllib.request.urlopen(f"{url}/config") as response:
        config = json.load(response)
    props = {c["id"]: c["props"] for c in config["components"]}
    kinds = {c["id"]: c["type"] for c in config["components"]}
    openers = [i for i, p in props.items() if str(p.get("elem_id")).startswith(OPENER)]
    ids = [props[i]["elem_id"].removeprefix(OPENER) for i in openers]
    deps = config["dependencies"]
    drawn = set()  # the figures the openers' events and the events chained to them write
    todo = [d for d in deps if any([i, "click"] in d["targets"] for i in openers)]
    while todo:
        dep = todo.pop()
        drawn |= {o for o in dep["outputs"] if kinds[o] == "plot"}
        todo += [d for d in deps if d["trigger_after"] == dep["id"]]

    titles: dict[str, str] = {}
    figures: dict[str, list[Figure]] = {}

    def walk(node: dict, concept: str | None, where: Figure, hidden: bool) -> None:
        # where: the inner tab the node sits in; hidden: under a closed accordion or an
        # invisible block, where nothing is on screen
        if node["id"] in drawn and not hidden:
            assert concept is not None, f"figure {node['id']} outside any concept's tab"
            figures[concept].append(where)
        for index, child in enumerate(node.get("children", [])):
            inner, tab, prop = where, concept, props.get(child["id"], {})
            if kinds.get(child["id"]) == "tabitem":
                if concept is None and str(prop.get("elem_id")).removeprefix("tab-") in ids:
                    tab = str(prop["elem_id"]).removeprefix("tab-")
                    titles[tab], figures[tab] = prop["label"], []
                elif concept is not None:
                    assert where.section is None, f"{concept}: an inner tab in an inner tab"
                    inner = Figure(prop["label"], node["id"], index == 0)
            closed = kinds.get(child["id"]) == "accordion" and not prop.get("open")
            walk(child, tab, inner, hidden or closed or prop.get("visible") is False)

    walk(config["layout"], None, Figure(None, None, False), False)
    return [Concept(tab, titles[tab], tuple(figures[tab])) for tab in titles]


def settle(page: Page) -> None:
    """Let the visible figures finish their layout: Gradio asks Plotly for a resize after each
    draw, and Plotly's own resize resolves once the relayout it schedules is drawn."""
    page.evaluate(
        """async () => {
            await document.fonts.ready;
            const figures = [...document.querySelectorAll(".js-plotly-plot")]
                .filter((gd) => gd.checkVisibility());
            await Promise.all(figures.map((gd) => window.Plotly.Plots.resize(gd)));
        }"""
    )


def panel(page: Page, concept: Concept) -> Locator:
    return page.locator(f"#tab-{concept.id}")


def show_section(page: Page, concept: Concept, section: str) -> None:
    """Open the inner tab ``section``: in its tab bar, or in Gradio's "More tabs" menu when the
    bar is too narrow."""
    tabs = panel(page, concept)
    in_bar = tabs.get_by_role("tab", name=section, exact=True)
    if in_bar.count():
        in_bar.click()
    else:
        tabs.get_by_label("More tabs").first.click()
        tabs.locator(".overflow-dropdown button", has_text=section).click()


def wait_for_figures(page: Page, concept: Concept, section: str | None = None) -> None:
    """Wait until every first-view figure on screen is drawn, then until they are laid out."""
    drawn = panel(page, concept).locator(".js-plotly-plot:visible")
    expect(drawn).to_have_count(concept.shown(section), timeout=FIRST_VIEW_MS)
    settle(page)


def open_first_view(page: Page, url: str, concept: Concept) -> Locator:
    """The page at ``?tab=<concept>``, once its first view is drawn; returns the tab's panel."""
    page.goto(f"{url}/?tab={concept.id}")
    if visit := VISITS.get(concept.id):
        expect(page.locator(visit.first[0])).to_contain_text(visit.first[1], timeout=FIRST_VIEW_MS)
    wait_for_figures(page, concept)
    return panel(page, concept)


def act(page: Page, concept: Concept, visit: Visit) -> None:
    """Run the main action and wait until it has landed and its figures are laid out."""
    if visit.section:
        show_section(page, concept, visit.section)
    if visit.fill:
        page.locator(visit.fill[0]).fill(visit.fill[1])
    panel(page, concept).get_by_role("button", name=visit.button, exact=True).click()
    expect(page.locator(visit.done[0])).to_contain_text(visit.done[1], timeout=ACTION_MS)
    settle(page)


def shoot(page: Page, url: str, concept: Concept, width: int, out: Path) -> list[Path]:
    page.set_viewport_size({"width": width, "height": VIEWPORTS[width]})
    open_first_view(page, url, concept)
    shots = [out / f"{concept.id}-{width}-default.png"]
    page.screenshot(path=shots[0], full_page=True)
    if concept.id in VISITS:
        act(page, concept, VISITS[concept.id])
        shots.append(out / f"{concept.id}-{width}-after.png")
        page.screenshot(path=shots[1], full_page=True)
    return shots


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.gallery OUT", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    proc, url = start_server()
    failed = 0
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for concept in concepts(url):
                if concept.id not in VISITS:
                    print(f"{concept.id}: no main action in tests/gallery.py VISITS")
                for width in VIEWPORTS:
                    page = browser.new_page()
                    try:  # one tab failing still leaves the others' pictures
                        for path in shoot(page, url, concept, width, out):
                            print(path)
                    except (Error, AssertionError) as exc:
                        failed += 1
                        print(f"FAILED {concept.id} at {width} px: {exc}", file=sys.stderr)
                        page.screenshot(path=out / f"{concept.id}-{width}-failed.png")
                    page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
