"""A tab's "Predict, then reveal" panel: pick an exercise, commit a prediction, then see the
truth its plugin computes live (`playground.exercise` holds the records and the judging)."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr

from playground.concept import Context
from playground.exercise import Exercise, judge


def panel(concept_id: str, items: list[Exercise], context: Context) -> None:
    """The tab's exercises: pick one, commit a prediction, then see the truth computed live."""
    by_id = {item.id: item for item in items}
    first = items[0]
    with gr.Accordion(f"Predict, then reveal: {len(items)} exercises", open=False):
        pick = gr.Radio(
            [(item.title, item.id) for item in items],
            value=first.id,
            label="Exercise",
            elem_id=f"{concept_id}-exercise",
        )
        question = gr.Markdown(first.question)
        choice = gr.Radio(
            list(first.choices),
            label="Your prediction",
            visible=bool(first.choices) and not first.multiple,
            elem_id=f"{concept_id}-exercise-choice",
        )
        several = gr.CheckboxGroup(
            list(first.choices),
            label="Your prediction (all that apply)",
            visible=first.multiple,
            elem_id=f"{concept_id}-exercise-choices",
        )
        number = gr.Textbox(
            label="Your prediction (a number)",
            visible=not first.choices,
            elem_id=f"{concept_id}-exercise-number",
        )
        commit = gr.Button("Commit and reveal", variant="primary", size="sm")
        reveal = gr.Markdown(elem_id=f"{concept_id}-reveal")

    def show(exercise_id: str):
        item = _exercise(by_id, exercise_id)
        single, multiple = bool(item.choices) and not item.multiple, item.multiple
        return (
            item.question,
            gr.Radio(list(item.choices), value=None, visible=single),
            gr.CheckboxGroup(list(item.choices), value=[], visible=multiple),
            gr.Textbox(value="", visible=not item.choices),
            "",
        )

    def check(exercise_id: str, one: str | None, many: list[str] | None, text: str | None):
        item = _exercise(by_id, exercise_id)
        return _judged(item, many if item.multiple else one if item.choices else text, context)

    def answer(exercise_id: str, prediction: str) -> str:
        """Judge a prediction: a choice, a JSON list of choices, or a number."""
        item = _exercise(by_id, exercise_id)
        if not isinstance(prediction, str):
            raise gr.Error("The prediction is text: a choice, a JSON list of them, or a number.")
        if item.multiple:
            try:
                prediction = json.loads(prediction)
            except (TypeError, ValueError):
                raise gr.Error('Give the choices as a JSON list, like ["a", "b"].') from None
        return _judged(item, prediction, context)

    queue = f"{concept_id}-exercises"
    pick.input(show, pick, [question, choice, several, number, reveal], api_visibility="private")
    commit.click(
        check,
        [pick, choice, several, number],
        reveal,
        concurrency_id=queue,
        api_visibility="private",
    )
    # The API takes plain text: a Radio's choices are checked against its first exercise's.
    gr.api(answer, api_name=f"{concept_id}_exercise", concurrency_id=queue)


def _judged(item: Exercise, given: Any, context: Context) -> str:
    try:
        return judge(item, given, context)
    except ValueError as exc:
        raise gr.Error(str(exc)) from None


def _exercise(by_id: dict[str, Exercise], exercise_id: str) -> Exercise:
    if not isinstance(exercise_id, str) or exercise_id not in by_id:
        raise gr.Error(f"Unknown exercise {str(exercise_id)[:40]!r}; choose one of the list.")
    return by_id[exercise_id]
