"""The host's own pages: Home (the concept map) and Plugins (what loaded, what broke)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path

from playground.concept import AREAS, Concept
from playground.host import PluginRecord

INTRO = (
    "Deep learning is a handful of ideas applied at scale. Each tab takes one of them and lets "
    "you change the numbers and watch what a real model does with them — no pictures, "
    "no pretend weights."
)

# What each circle of the map is, and what it is used for: a learner places every concept.
AREA_NOTES = {
    "ml": "Programs that learn a function from examples instead of being written by hand: "
    "spam filters, recommendations, credit scores, forecasts.",
    "deep-learning": "Machine learning with many-layer neural networks trained by gradient "
    "descent, which learn their own features: image recognition, speech, search, image "
    "generation.",
    "llm": "Deep networks trained to predict the next token of huge amounts of text, then "
    "adapted: chat assistants, code completion, translation, summaries.",
}

HERE = Path(__file__).parent
CSS = (HERE / "style.css").read_text()
HEAD = f"<script>\n{(HERE / 'tabs.js').read_text()}</script>"


def _card(concept: Concept, device: str | None) -> str:
    badge = f'<em class="pg-device">{escape(device or "…")}</em>'
    return (
        f'<a class="pg-card" href="?tab={concept.id}" data-tab="{concept.id}" '
        f'id="card-{concept.id}">'
        f"{badge}<b>{escape(concept.title)}</b>"
        f"<span>{escape(concept.summary)}</span></a>"
    )


def home_html(
    concepts: Iterable[Concept], device_of: Callable[[Concept], str] | None = None
) -> str:
    """The concept map: each concept in the innermost of ML ⊃ deep learning ⊃ LLMs it belongs to."""
    concepts = list(concepts)
    inner = ""
    for area in reversed(AREAS):  # build from the innermost circle outwards
        cards = "".join(
            _card(c, device_of(c) if device_of else None) for c in concepts if c.area == area
        )
        body = f'<div class="pg-cards">{cards}</div>' if cards else ""
        if not cards and not inner:
            body = '<p class="pg-empty">No concept here yet.</p>'
        note = f'<p class="pg-note">{escape(AREA_NOTES[area])}</p>'
        inner = f'<section class="pg-field"><h3>{AREAS[area]}</h3>{note}{body}{inner}</section>'
    return f'<p class="pg-intro">{escape(INTRO)}</p>{inner}'


def plugins_html(records: Iterable[PluginRecord]) -> str:
    rows = []
    for r in records:
        status = '<span class="pg-ok">loaded</span>'
        if r.errors:
            status = "".join(
                f'<span class="pg-error">failed at {escape(e.stage)}</span><br>{escape(e.message)}'
                f"<details><summary>traceback</summary><pre>{escape(e.detail)}</pre></details>"
                for e in r.errors
            )
        dist = f"{r.distribution} {r.version}" if r.distribution else "—"
        rows.append(
            f"<tr><td><b>{escape(r.name)}</b><br><code>{escape(r.module)}</code></td>"
            f"<td>{escape(dist)}</td><td>{escape(', '.join(r.hooks) or '—')}</td>"
            f"<td>{escape(', '.join(r.concepts) or '—')}</td>"
            f"<td>{escape(', '.join(r.models) or '—')}</td><td>{status}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>" for h in ("Plugin", "Distribution", "Hooks", "Concepts", "Models", "Status")
    )
    body = "".join(rows) or '<tr><td colspan="6" class="pg-empty">No plugins installed.</td></tr>'
    intro = (
        "<p>Plugins are found through the <code>playground</code> entry-point group; built-ins "
        "load the same way. A plugin that fails shows here with the stage where it failed "
        "(import, validation, hook call or build) and costs only its own tab.</p>"
    )
    table = f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
    return f'{intro}<table class="pg-plugins">{table}</table>'
