"""The layout a person sees, checked in Chromium on every concept's tab: every tab is in the
tab bar, no two texts of a figure overlap, and axe-core finds no serious accessibility problem.

A tab's first view is the one the gallery pictures (tests/gallery.py): the figures its opening
events draw, waited for as they appear in the page, then laid out by Plotly.
"""

from __future__ import annotations

from importlib.resources import files

import pytest
from playwright.sync_api import expect

from tests.gallery import (
    VIEWPORTS,
    VISITS,
    concepts,
    open_first_view,
    panel,
    show_section,
    wait_for_figures,
)

pytestmark = pytest.mark.browser
DESKTOP = 1400
# Texts whose boxes share less than this (px, across the thinner way) do not overlap to the eye:
# a text's box is its font's full line height, taller than its letters.
OVERLAP_PX = 2.0
# Every overlapping pair of texts in each figure drawn in ``panel``, with the figure's name.
# Rotated texts (slanted tick labels) are compared as the rotated rectangles they are.
OVERLAPS_JS = """
([panel, tolerance]) => {
  const corners = (text) => {
    const box = text.getBBox();
    const m = text.getScreenCTM();
    if (!m || !box.width || !box.height) return null;
    return [[box.x, box.y], [box.x + box.width, box.y], [box.x + box.width, box.y + box.height],
            [box.x, box.y + box.height]].map(([x, y]) => [m.a * x + m.c * y + m.e,
                                                         m.b * x + m.d * y + m.f]);
  };
  // How deep two convex quadrilaterals overlap: the least overlap of their projections on
  // their edges' normals (separating axes); 0 when apart.
  const depth = (p, q) => {
    let least = Infinity;
    for (const quad of [p, q]) {
      for (let i = 0; i < 2; i++) {
        const [x0, y0] = quad[i], [x1, y1] = quad[i + 1];
        const length = Math.hypot(x1 - x0, y1 - y0);
        const axis = [(y0 - y1) / length, (x1 - x0) / length];
        const span = (r) => r.map(([x, y]) => x * axis[0] + y * axis[1]);
        const a = span(p), b = span(q);
        const shared = Math.min(Math.max(...a), Math.max(...b))
          - Math.max(Math.min(...a), Math.min(...b));
        least = Math.min(least, shared);
      }
    }
    return Math.max(least, 0);
  };
  const found = [];
  const figures = [...panel.querySelectorAll(".js-plotly-plot")].filter((f) => f.checkVisibility());
  figures.forEach((figure, n) => {
    const block = figure.closest(".block");
    const name = block?.id
      || block?.querySelector('[data-testid="block-label"]')?.textContent.trim()
      || figure.querySelector(".gtitle")?.textContent.trim()
      || `figure ${n + 1}`;
    const texts = [...figure.querySelectorAll("text")]
      .filter((t) => t.textContent.trim()
                     && t.checkVisibility({ opacityProperty: true, visibilityProperty: true }))
      .map((t) => [t.textContent.trim(), corners(t)])
      .filter(([, quad]) => quad);
    texts.forEach(([a, p], i) => texts.slice(i + 1).forEach(([b, q]) => {
      const d = depth(p, q);
      if (d > tolerance) found.push({ figure: name, a, b, depth: Math.round(d * 10) / 10 });
    }));
  });
  return found;
}
"""
SERIOUS = {"serious", "critical"}
AXE_JS = (files("axe_playwright_python") / "axe.min.js").read_text()  # axe-core, bundled
# Gradio's own markup that no option of ours changes, by rule: the placeholder of an empty
# gr.Plot puts an aria-label on a plain <div>; gr.Image wraps its picture in a <button> whose
# only content is an <img alt=""> (gr.Image takes no alt text).
GRADIO_OWN = {
    "aria-prohibited-attr": '.empty[aria-label="Empty value"]',
    "button-name": ".image-container > button:has(> .image-frame > img[alt=''])",
}
# axe-core's violations in ``context``, less the nodes of GRADIO_OWN.
AXE_RUN_JS = """
async ([context, gradioOwn]) => {
  const { violations } = await axe.run(context, { resultTypes: ["violations"] });
  const ours = (rule, node) => !(rule in gradioOwn
    && document.querySelector(node.target[0])?.matches(gradioOwn[rule]));
  return violations.map((v) => ({ ...v, nodes: v.nodes.filter((n) => ours(v.id, n)) }))
    .filter((v) => v.nodes.length);
}
"""


@pytest.fixture(scope="module")
def served(server):
    return {concept.id: concept for concept in concepts(server)}


def test_the_gallery_visits_every_concept(served):
    assert set(served) == set(VISITS), "add the missing concepts to tests/gallery.py VISITS"


def test_every_concept_tab_is_in_the_tab_bar_not_a_menu(page, server, served):
    page.goto(server)
    for concept in served.values():
        expect(page.locator(f"#tab-{concept.id}-button")).to_be_visible()
    expect(page.get_by_label("More tabs")).to_have_count(0)


def overlaps_in(page, concept) -> list[dict]:
    return page.evaluate(OVERLAPS_JS, [panel(page, concept).element_handle(), OVERLAP_PX])


@pytest.mark.parametrize("width", VIEWPORTS)
@pytest.mark.parametrize("concept_id", VISITS)
def test_no_two_texts_of_a_figure_overlap_and_axe_finds_nothing_serious(
    page, server, served, concept_id, width
):
    """One visit a tab and width: axe-core on the first view (at desktop width), then every
    inner tab's figures for overlapping texts."""
    concept = served[concept_id]
    page.set_viewport_size({"width": width, "height": VIEWPORTS[width]})
    open_first_view(page, server, concept)
    serious = serious_violations(page, concept_id) if width == DESKTOP else ""
    assert not serious, serious
    found = {}  # (figure, text, text) -> the inner tab it was seen in, and how deep
    for section in [None, *concept.sections]:  # the first view, then each inner tab's figures
        if section:
            show_section(page, concept, section)
            wait_for_figures(page, concept, section)
        for o in overlaps_in(page, concept):
            found.setdefault((o["figure"], o["a"], o["b"]), (section, o["depth"]))
    assert not found, f"{len(found)} overlapping texts at {width} px:\n" + "\n".join(
        f"  {section or 'first view'} / {figure}: {a!r} × {b!r} ({depth} px)"
        for (figure, a, b), (section, depth) in found.items()
    )


def serious_violations(page, tab: str) -> str:
    """axe-core's serious and critical violations in the tab's panel, one line per node."""
    page.add_script_tag(content=AXE_JS)
    violations = page.evaluate(AXE_RUN_JS, [{"include": [f"#tab-{tab}"]}, GRADIO_OWN])
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        # a node's summary ends with why it fails: "... contrast of 3.62 (foreground ..."
        + "\n".join(
            f"    {node['target']}: {node['failureSummary'].splitlines()[-1].strip()}"
            for node in v["nodes"]
        )
        for v in violations
        if v["impact"] in SERIOUS
    )


def test_axe_finds_no_serious_accessibility_problem_on_home(page, server):
    page.goto(server)
    expect(page.locator("#card-softmax")).to_be_visible()
    serious = serious_violations(page, "home")
    assert not serious, serious
