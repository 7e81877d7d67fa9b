"""What a concept's tab shares: its state in the page's address, its numbers and a script.

A concept never parses URLs or writes files itself. Inside its ``build()`` it names the
controls that make up its state, and the host does the rest:

    share.link(tab, "softmax", {"logits": logits, "t": temperature}, load=run)

puts a "Copy link" button where it is called, and replaces the tab's own page-load event:
when a page opens with ``?tab=softmax&t=0.7``, the controls are set from the address first,
then ``load`` runs on them, so the link shows the same result. A value a control cannot hold
(out of range, not among the choices, unknown key) is skipped with a notice, never an error.
A text the concept must parse can name its parser: ``{"logits": (logits, check_logits)}``;
a value the parser refuses (with gr.Error or ValueError, BadInput included) is skipped with
its message.

    share.export("softmax", on_export, inputs, state, api_name="softmax_export")

adds an Export panel: ``on_export`` returns a :class:`playground.export.Export` (the numbers
on screen, tables and a Python script that reproduces those numbers with the public
libraries); the panel offers them as JSON, CSV and .py files. Given the link's ``state``, a
Compare panel too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

import gradio as gr

from playground import compare
from playground.export import write_files

MAX_TEXT_IN_LINK = 4_000  # a Textbox without its own max_length takes this much from a link
RESERVED = {"tab"}  # keys of the address that are not a concept's state
STATE_TYPES = (
    gr.Textbox,
    gr.Number,
    gr.Slider,
    gr.Checkbox,
    gr.Radio,
    gr.Dropdown,
    gr.CheckboxGroup,
)


def _choices(component: Any) -> list:
    return [value for _, value in (component.choices or [])]


def parse_value(component: Any, text: str) -> Any:
    """The value ``text`` from an address means for ``component``; ValueError says why not."""
    if isinstance(component, (gr.Slider, gr.Number)):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        low, high = component.minimum, component.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be between {low:g} and {high:g}")
        whole = getattr(component, "precision", None) == 0 or (
            isinstance(component, gr.Slider)
            and float(component.step).is_integer()
            and float(component.minimum).is_integer()
        )
        if whole and not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value) if whole else value
    if isinstance(component, gr.Checkbox):
        if text not in ("true", "false"):
            raise ValueError("must be true or false")
        return text == "true"
    if isinstance(component, gr.CheckboxGroup) or (
        isinstance(component, gr.Dropdown) and component.multiselect
    ):
        values = json.loads(text)
        if not isinstance(values, list) or not all(v in _choices(component) for v in values):
            raise ValueError(f"must be a list of: {', '.join(map(str, _choices(component)))}")
        return values
    if isinstance(component, (gr.Radio, gr.Dropdown)):
        allowed = _choices(component)
        custom = isinstance(component, gr.Dropdown) and component.allow_custom_value
        choice = next((c for c in allowed if str(c) == text), text if custom else None)
        if choice is None:
            raise ValueError(f"must be one of: {', '.join(map(str, allowed))}")
        if len(text) > MAX_TEXT_IN_LINK:
            raise ValueError(f"is longer than {MAX_TEXT_IN_LINK:,} characters")
        return choice
    limit = component.max_length or MAX_TEXT_IN_LINK
    if len(text) > limit:
        raise ValueError(f"is longer than {limit:,} characters")
    return text


def _split(entry: Any) -> tuple[Any, Callable[[Any], Any] | None]:
    return entry if isinstance(entry, tuple) else (entry, None)


def restore(
    concept_id: str, state: Mapping[str, Any], query: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The values an address sets for ``concept_id``'s controls, and what it ignored (why).

    ``state`` maps a key to a control, or to ``(control, check)``: ``check(value)`` raises
    for a value the concept refuses."""
    if query.get("tab") != concept_id:
        return {}, []
    values, ignored = {}, []
    for key, text in query.items():
        if key in RESERVED or key.startswith("__"):  # Gradio's own (__theme) are not ours
            continue
        if key not in state:
            ignored.append(f"{key} (this tab has no such setting)")
            continue
        component, check = _split(state[key])
        try:
            values[key] = parse_value(component, text)
            if check is not None:
                check(values[key])
        except (ValueError, gr.Error) as exc:  # json's decode error is a ValueError too
            values.pop(key, None)
            message = "is not a list" if isinstance(exc, json.JSONDecodeError) else _message(exc)
            ignored.append(f"{key}={text[:40]!r} ({message})")
    return values, ignored


def _message(exc: Exception) -> str:
    return str(exc.message if isinstance(exc, gr.Error) else exc).rstrip(".")


def _link_js(concept_id: str, keys: list[str]) -> str:
    # Built in the browser: the values are what the learner sees, not a server round trip.
    return f"""(...values) => {{
  const query = new URLSearchParams({{tab: {json.dumps(concept_id)}}});
  {json.dumps(keys)}.forEach((key, i) => {{
    const v = values[i];
    if (v === null || v === undefined) return;  // not set yet: the tab's default stands
    query.set(key, typeof v === "string" ? v : JSON.stringify(v));
  }});
  const url = `${{location.origin}}${{location.pathname}}?${{query}}`;
  history.replaceState(null, "", url);
  navigator.clipboard?.writeText(url).catch(() => {{}});
  return url;
}}"""


def link(
    tab: gr.Blocks,
    concept_id: str,
    state: Mapping[str, Any],
    load: dict,
    also: Sequence[dict] = (),
    after: Sequence[dict] = (),
) -> gr.Textbox:
    """Make ``state`` (address key -> control, or (control, check)) round-trip through the
    page's address.

    ``load`` is the keyword arguments of the tab's page-load event (fn, inputs, outputs,
    api_name, ...): it runs after the address has set the controls, as does each event of
    ``also`` (the page-load events of the tab's other sections); each event of ``after`` runs
    once ``load`` has finished, in order (a panel drawn from what ``load`` put on screen).
    Returns the link's box.
    """
    for key, entry in state.items():
        component, _ = _split(entry)
        if key in RESERVED or not isinstance(component, STATE_TYPES):
            raise TypeError(
                f"{concept_id}: state {key!r} must be one of "
                f"{', '.join(t.__name__ for t in STATE_TYPES)} under a key other than 'tab'"
            )
    components = [_split(entry)[0] for entry in state.values()]

    def from_address(request: gr.Request) -> list:
        values, ignored = restore(concept_id, state, dict(request.query_params))
        if ignored:
            # Stays until closed: it explains why the page differs from the link it came from.
            gr.Warning(f"Ignored from the link: {'; '.join(ignored)}.", duration=None)
        return [values[key] if key in values else gr.skip() for key in state]

    with gr.Row(elem_classes="pg-share"):
        copy = gr.Button("Copy link", size="sm", scale=0, min_width=120)
        box = gr.Textbox(
            show_label=False,
            placeholder="A link to this tab with every setting on screen",
            interactive=False,
            buttons=["copy"],
            elem_id=f"{concept_id}-link",
            scale=4,
        )
    copy.click(None, components, box, js=_link_js(concept_id, list(state)))
    # Not behind the tab's heavy work: restoring only sets controls (and shows the notice).
    restored = tab.load(
        from_address,
        None,
        components,
        api_visibility="private",
        show_progress="hidden",
        concurrency_limit=None,
    )
    loaded = restored.then(**load)
    for event in also:
        restored.then(**event)
    for event in after:
        loaded = loaded.then(**event)
    return box


# -- export ---------------------------------------------------------------------------------


def export(
    concept_id: str, fn: Any, inputs: list, state: Mapping[str, Any] | None = None, **event: Any
) -> None:
    """An Export panel: a button that runs ``fn(*inputs) -> Export`` and offers its files.

    Given the tab's link ``state``, a Compare panel too: the export of what is on screen (A)
    beside the export with some settings changed (B), and the differences between them."""
    with gr.Accordion("Export: numbers, tables and a script that reproduces them", open=False):
        gr.Markdown(
            "The numbers on screen as JSON, tables as CSV, and a Python script that computes "
            "the same numbers with the public libraries. Figures: hover one and use its camera "
            "button for a PNG."
        )
        button = gr.Button("Export what is on screen", size="sm", elem_id=f"{concept_id}-export")
        files = gr.File(
            label="Files",
            file_count="multiple",
            interactive=False,
            elem_id=f"{concept_id}-export-files",
        )
        code = gr.Code(label="reproduce.py", language="python", interactive=False)

    def run(*values: Any) -> tuple[list[str], str]:
        result = fn(*values)
        return write_files(concept_id, result), result.snippet

    button.click(run, inputs, [files, code], **event)
    if state is not None:
        _compare(concept_id, fn, inputs, state, event)


def changes(state: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Setting B's changes, written as in a link (``t=1.3&dtype=float16``); gr.Error if bad."""
    if not (text or "").strip():
        raise gr.Error(f"Write what differs in B, as in a link: e.g. {next(iter(state))}=…")
    if len(text) > MAX_TEXT_IN_LINK:
        raise gr.Error(f"The changes are longer than {MAX_TEXT_IN_LINK:,} characters.")
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise gr.Error("Write the changes as key=value pairs joined by &.") from None
    values = {}
    for key, value in pairs:
        if key not in state:
            raise gr.Error(
                f"There is no setting {key[:40]!r}; the settings are: {', '.join(state)}."
            )
        component, check = _split(state[key])
        try:
            values[key] = parse_value(component, value)
            if check is not None:
                check(values[key])
        except (ValueError, gr.Error) as exc:
            raise gr.Error(f"B's {key}={value[:40]!r}: {_message(exc)}.") from None
    return values


def _compare(concept_id: str, fn: Any, inputs: list, state: Mapping[str, Any], event: dict):
    where = {key: inputs.index(_split(e)[0]) for key, e in state.items() if _split(e)[0] in inputs}
    with gr.Accordion("Compare: the same input under two settings", open=False):
        gr.Markdown(
            "**A** is what is on screen; **B** is the same with the changes you write, as in "
            f"a link: `{'&'.join(f'{k}=…' for k in list(where)[:2])}`. Distributions are "
            "compared by KL divergence, total variation and their top entries; arrays by the "
            f"mean difference; numbers by B − A. Settings: {', '.join(f'`{k}`' for k in where)}."
        )
        text = gr.Textbox(
            label="B: what differs from A",
            lines=1,
            max_length=MAX_TEXT_IN_LINK,
            elem_id=f"{concept_id}-compare-changes",
        )
        button = gr.Button("Compare A and B", size="sm", elem_id=f"{concept_id}-compare-run")
        table = gr.Dataframe(
            headers=["quantity", "A", "B", "B − A"],
            interactive=False,
            wrap=True,
            elem_id=f"{concept_id}-compare",
        )

    def run(changed: str, *values: Any) -> list[list[str]]:
        other = list(values)
        for key, value in changes({k: state[k] for k in where}, changed).items():
            other[where[key]] = value
        a = fn(*values)
        try:
            b = fn(*other)
        except gr.Error as exc:
            raise gr.Error(f"Setting B: {exc.message}") from None
        return [[r.quantity, r.a, r.b, r.delta] for r in compare.diff(a.numbers, b.numbers)]

    rest = {k: v for k, v in event.items() if k != "api_name"}
    button.click(run, [text, *inputs], table, api_name=f"{concept_id}_diff", **rest)
