"""Inputs Gradio cannot read, answered with a message instead of a message-less crash.

Gradio validates an event's inputs (a dict for a slider, a table that is not one, a file from
outside the upload folder, text with a lone surrogate) before any plugin code runs, and a
failure there reaches the visitor as an error with no message. `guard` patches that one
step, once per process, so the refusal names the input and what it takes.
"""

from __future__ import annotations

from typing import Any

FILE_INPUTS = ("File", "Image", "Audio", "Video", "Gallery", "Model3D", "ImageEditor")


def _allowed(component: Any) -> str:
    """What an input component takes, in words, for a refusal."""
    kind = type(component).__name__
    low, high = getattr(component, "minimum", None), getattr(component, "maximum", None)
    if kind in ("Slider", "Number"):
        bounded = low is not None and high is not None
        return "a number" + (f" from {low} to {high}" if bounded else "")
    if kind in ("Dropdown", "Radio", "CheckboxGroup"):
        choices = [c[1] if isinstance(c, tuple) else c for c in component.choices or []]
        return "one of " + ", ".join(map(repr, choices[:20]))
    if kind == "Checkbox":
        return "true or false"
    if kind == "Dataframe":
        return "a table with the columns " + ", ".join(map(str, component.headers or []))
    if kind in FILE_INPUTS:
        return "a file uploaded to this app"
    return "text" if kind == "Textbox" else f"a {kind} value"


def _unreadable_input(block_fn: Any, inputs: list[Any]) -> str:
    """Name the first input Gradio could not read, and what it takes."""
    for component, value in zip(block_fn.inputs, inputs, strict=False):
        model = getattr(component, "data_model", None)
        try:
            if model is not None and value is not None:
                value = model.model_validate(value, context={"validate_meta": True})
            if type(component).__name__ not in FILE_INPUTS:  # never open a path to check it
                component.preprocess(value)
        except Exception:
            label = getattr(component, "label", None) or type(component).__name__
            return f"{label} must be {_allowed(component)}, not {str(value)[:60]!r}."
    names = ", ".join(getattr(c, "label", None) or type(c).__name__ for c in block_fn.inputs)
    return f"The inputs could not be read ({names}): send the kinds the API description shows."


def _check_text(block_fn: Any, inputs: list[Any]) -> None:
    """Refuse text that is not valid Unicode (a lone surrogate, which JSON can carry): a
    tokenizer or a plot would fail on it with no message."""
    import gradio as gr

    for component, value in zip(block_fn.inputs, inputs, strict=False):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                label = getattr(component, "label", None) or type(component).__name__
                raise gr.Error(
                    f"{label} must be valid Unicode text: character {exc.start + 1} is an "
                    "unpaired surrogate."
                ) from None


def guard() -> None:
    """Make an input Gradio cannot read (a dict for a slider, a table that is not one, a file
    from outside the upload folder) a gr.Error naming the input and what it takes, not the
    message-less crash Gradio answers before any plugin code runs. Installed once, for every
    Blocks of the process: only the failure path changes."""
    import gradio as gr

    original = gr.Blocks.preprocess_data
    if getattr(original, "_playground_guard", False):
        return

    async def preprocess_data(self, block_fn, inputs, *args, **kwargs):
        _check_text(block_fn, inputs)
        try:
            return await original(self, block_fn, inputs, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:
            raise gr.Error(_unreadable_input(block_fn, inputs)) from exc

    preprocess_data._playground_guard = True  # type: ignore[attr-defined]  # installed once
    gr.Blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]  # the guard
