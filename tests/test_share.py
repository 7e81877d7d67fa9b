"""Links, exports and exercises: the host's sharing mechanisms, without a browser."""

from __future__ import annotations

import json
import types
from pathlib import Path

import gradio as gr
import pytest

from playground import Answer, Concept, Exercise, compare, hookimpl, share
from playground.concept import Context
from playground.exercise import judge
from playground.export import Export
from playground.host import Host
from playground.models import ModelRegistry


@pytest.fixture(scope="module")
def controls():
    with gr.Blocks():
        return {
            "t": gr.Slider(0.05, 5, value=1, step=0.05),
            "k": gr.Slider(0, 50, value=0, step=1),
            "n": gr.Number(10, minimum=1, maximum=100, precision=0),
            "on": gr.Checkbox(True),
            "mode": gr.Radio(["greedy", "sample"], value="greedy"),
            "model": gr.Dropdown(["a", "b"], value="a"),
            "free": gr.Dropdown(["x"], value="x", allow_custom_value=True),
            "show": gr.CheckboxGroup(["p", "q", "r"], value=["p"]),
            "text": gr.Textbox("hi", max_length=10),
        }


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("t", "0.7", 0.7),
        ("k", "12", 12),
        ("n", "3", 3),
        ("on", "false", False),
        ("mode", "sample", "sample"),
        ("model", "b", "b"),
        ("free", "anything", "anything"),
        ("show", '["q", "r"]', ["q", "r"]),
        ("text", "hello", "hello"),
    ],
)
def test_a_link_value_becomes_what_the_control_holds(controls, key, text, value):
    parsed = share.parse_value(controls[key], text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("key", "text", "why"),
    [
        ("t", "9", "between 0.05 and 5"),
        ("t", "nan", "finite"),
        ("t", "hot", "could not convert"),
        ("k", "2.5", "whole number"),
        ("n", "0", "between 1 and 100"),
        ("on", "yes", "true or false"),
        ("mode", "beam", "one of: greedy, sample"),
        ("model", "../../etc/passwd", "one of: a, b"),
        ("show", '["p", "z"]', "list of: p, q, r"),
        ("text", "x" * 11, "longer than 10"),
    ],
)
def test_a_value_the_control_cannot_hold_is_refused_with_the_reason(controls, key, text, why):
    with pytest.raises(ValueError, match=why):
        share.parse_value(controls[key], text)


def test_restore_sets_only_its_own_tab_and_names_what_it_ignored(controls):
    def even(value):
        if value % 2:
            raise gr.Error("k must be even.")

    state = {**controls, "k": (controls["k"], even)}
    query = {
        "tab": "demo",
        "t": "0.5",
        "k": "3",
        "mode": "beam",
        "show": "[oops",
        "zzz": "1",
        "__theme": "dark",
    }
    values, ignored = share.restore("demo", state, query)
    assert values == {"t": 0.5}
    assert ignored == [
        "k='3' (k must be even)",
        "mode='beam' (must be one of: greedy, sample)",
        "show='[oops' (is not a list)",
        "zzz (this tab has no such setting)",
    ]
    assert share.restore("other", state, query) == ({}, [])  # another tab's link: untouched


def test_link_refuses_what_cannot_live_in_an_address():
    with gr.Blocks() as tab:
        plot = gr.Plot()
        slider = gr.Slider()
        with pytest.raises(TypeError, match="state 'fig' must be one of"):
            share.link(tab, "demo", {"fig": plot}, load={"fn": lambda: None})
        with pytest.raises(TypeError, match="other than 'tab'"):
            share.link(tab, "demo", {"tab": slider}, load={"fn": lambda: None})


def test_export_files_hold_the_numbers_tables_and_script():
    result = Export(
        {"p": [0.25, 0.75]}, "print('{}')\n", {"probs": (["token", "p"], [["a", 0.25]])}
    )
    paths = [Path(p) for p in share.write_files("demo", result)]
    assert [p.name for p in paths] == ["demo.json", "reproduce_demo.py", "demo-probs.csv"]
    assert json.loads(paths[0].read_text()) == {"p": [0.25, 0.75]}
    assert paths[2].read_text().splitlines() == ["token,p", "a,0.25"]


# -- exercises ------------------------------------------------------------------------------

SOLVED: list[str] = []
NO_MODELS = Context(ModelRegistry())  # these exercises' truths need no model


def _truth(value):
    def solve(context):
        assert isinstance(context, Context)  # what the host hands every solve
        SOLVED.append("solved")
        return Answer(value, "because", tolerance=0.05)

    return solve


def exercise(**kwargs) -> Exercise:
    fields = {"id": "demo-ex", "concept": "demo", "title": "T", "question": "Q?"}
    return Exercise(**{**fields, **kwargs})


def test_a_choice_is_judged_against_the_computed_truth():
    item = exercise(choices=("up", "down"), solve=_truth("down"))
    assert judge(item, "down", NO_MODELS).startswith("**Right.** The model says: **down**.")
    assert judge(item, "up", NO_MODELS).startswith("**Not quite.**")


def test_several_choices_name_what_was_missed_and_what_was_extra():
    item = exercise(choices=("a", "b", "c"), multiple=True, solve=_truth(("a", "b")))
    assert "Right" in judge(item, ["b", "a"], NO_MODELS)
    reveal = judge(item, ["a", "c"], NO_MODELS)
    assert "You missed b. Not c." in reveal and "**a, b**" in reveal


def test_a_number_counts_within_its_tolerance():
    item = exercise(solve=_truth(0.5))
    reveal = judge(item, "0.51", NO_MODELS)
    assert "Right" in reveal and "off by 2%" in reveal
    assert "Not quite" in judge(item, "0.6", NO_MODELS)


@pytest.mark.parametrize(
    ("kwargs", "given", "why"),
    [
        ({"choices": ("up", "down")}, "sideways", "Pick one of: up, down"),
        ({"choices": ("a", "b"), "multiple": True}, ["a", "z"], "Pick any of: a, b"),
        ({}, "lots", "Enter a number"),
        ({}, "inf", "finite"),
        ({}, "", "Commit a prediction first"),
        ({}, "1" * 300, "at most 200"),
    ],
)
def test_a_bad_answer_is_refused_before_the_truth_is_computed(kwargs, given, why):
    SOLVED.clear()
    with pytest.raises(ValueError, match=why):
        judge(exercise(solve=_truth(1.0), **kwargs), given, NO_MODELS)
    assert not SOLVED  # nothing revealed, nothing spent


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"id": "Bad Id"}, "slug"),
        ({"question": " "}, "needs a title and a question"),
        ({"choices": ("a",), "multiple": True}, "at least two"),
        ({"choices": ("a", "a")}, "distinct"),
        ({"solve": "not callable"}, "callable"),
    ],
)
def test_an_exercise_is_validated_when_made(kwargs, why):
    with pytest.raises((ValueError, TypeError), match=why):
        exercise(**{"solve": _truth(1), **kwargs})


def _plugin(*exercises: Exercise) -> types.ModuleType:
    module = types.ModuleType("demo_plugin")

    @hookimpl
    def register_concepts(register):
        register(
            Concept(id="demo", title="Demo", summary="A demo.", build=lambda _context: gr.Blocks())
        )

    @hookimpl
    def register_exercises(register):
        for item in exercises:
            register(item)

    module.register_concepts, module.register_exercises = register_concepts, register_exercises
    return module


def test_the_host_keeps_exercises_by_concept_and_flags_one_for_a_missing_concept():
    good = exercise(solve=_truth(1.0))
    stray = exercise(id="stray", concept="nowhere", solve=_truth(1.0))
    host = Host(ModelRegistry()).add_module("demo", _plugin(good, stray))
    assert host.plugins["demo"].exercises == ["demo-ex", "stray"]
    host.build()
    assert [e.id for e in host.exercises("demo")] == ["demo-ex"]
    assert host.exercises("demo")[0].plugin == "demo"
    (error,) = host.plugins["demo"].errors
    assert error.stage == "build" and "there is no concept 'nowhere'" in error.message


def test_a_duplicate_exercise_id_costs_the_plugin_its_hook():
    item = exercise(solve=_truth(1.0))
    host = Host(ModelRegistry()).add_module("demo", _plugin(item, item))
    (error,) = host.plugins["demo"].errors
    assert error.stage == "hook call" and "already registered" in error.message
    assert host.exercises() == []


# -- compare --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_divergence_matches_torch_on_random_distributions(seed):
    import torch

    g = torch.Generator().manual_seed(seed)
    p, q = torch.rand(50, generator=g).softmax(0), (3 * torch.rand(50, generator=g)).softmax(0)
    ours = compare.kl_divergence(p.tolist(), q.tolist())
    theirs = torch.nn.functional.kl_div(q.log(), p, reduction="sum").item()
    assert ours == pytest.approx(theirs, rel=1e-5)
    assert compare.kl_divergence([0.5, 0.5], [1.0, 0.0]) == float("inf")


def test_diff_reads_distributions_arrays_numbers_and_the_rest():
    a = {"labels": ["x", "y", "z"], "p": [0.7, 0.2, 0.1], "image": [[0, 1], [2, 3]],
         "loss": 2.0, "ids": [1, 2, 3], "text": "hi"}  # fmt: skip
    b = {"labels": ["x", "y", "z"], "p": [0.1, 0.2, 0.7], "image": [[0, 1], [2, 5]],
         "loss": 1.5, "ids": [1, 2, 3], "text": "ho"}  # fmt: skip
    rows = {r.quantity: r for r in compare.diff(a, b)}
    assert list(rows) == [
        "labels",
        "p: KL(A ‖ B)",
        "p: total variation",
        "p: top 3",
        "p: largest p",
        "image: mean |B − A| over 4",
        "loss",
        "ids: mean |B − A| over 3",
        "text",
    ]  # in A's order
    assert rows["labels"].a == "same"
    assert rows["p: total variation"].delta == "0.6"
    assert rows["p: top 3"].a == "x, y, z" and rows["p: top 3"].b == "z, y, x"
    assert rows["image: mean |B − A| over 4"].delta == "0.5 (max 2)"
    assert rows["loss"].delta == "-0.5"
    assert rows["ids: mean |B − A| over 3"].delta == "0 (max 0)"
    assert (rows["text"].a, rows["text"].b, rows["text"].delta) == ("hi", "ho", "differs")


def test_setting_bs_changes_are_read_like_a_link_and_refused_when_wrong(controls):
    assert share.changes(controls, "t=1.3&mode=sample") == {"t": 1.3, "mode": "sample"}
    for text, why in [
        ("", "Write what differs in B"),
        ("t", "key=value pairs"),
        ("temp=2", "no setting 'temp'; the settings are: t, k"),
        ("t=99", "B's t='99': must be between 0.05 and 5"),
    ]:
        with pytest.raises(gr.Error, match=why):
            share.changes(controls, text)
