"""ZeroGPU: on a ZeroGPU Space the host wraps every event that runs a concept's declared GPU
endpoint in `@spaces.GPU` with the duration it asked for, and nothing off one; a GPU name that
is no endpoint costs only its plugin's tab. A fake `spaces` package records each call.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types

import pytest

from playground import hookimpl, testing, zerogpu
from playground.app import create_app
from playground.concept import Concept
from playground.host import Host
from playground.models import ModelRegistry


def fake_spaces(calls: list[int]) -> types.ModuleType:
    """A `spaces` package whose GPU decorator records each call's duration."""

    def GPU(task, *, duration=None):
        @functools.wraps(task)
        def on_gpu(*args, **kwargs):
            calls.append(duration)
            return task(*args, **kwargs)

        on_gpu.gpu_duration = duration
        return on_gpu

    module = types.ModuleType("spaces")
    module.GPU = GPU
    return module


def softmax_app():
    import plugins.softmax.plugin

    return create_app(Host(ModelRegistry()).add_module("softmax", plugins.softmax.plugin))


def _gpu_layer(fn):
    """What an event runs under the host's own wrappers (errors, shared views, lanes): the
    spaces.GPU wrapper where there is one, else the plugin's function."""
    layers = [fn]
    while hasattr(layers[-1], "__wrapped__"):
        layers.append(layers[-1].__wrapped__)
    on_gpu = [f for f in layers if hasattr(f, "gpu_duration")]  # wraps() copies it outwards
    return on_gpu[-1] if on_gpu else layers[-1]


@pytest.fixture
def softmax_events(monkeypatch) -> list:
    """Each softmax `tab.Events` a build makes, in order: tab.events(context) binds a new
    `compute` handler (the `softmax_compute` endpoint) for every build."""
    from plugins.softmax import tab

    made = []
    events = tab.events
    monkeypatch.setattr(tab, "events", lambda context: made.append(events(context)) or made[-1])
    return made


def test_on_zerogpu_every_event_running_a_gpu_endpoint_is_wrapped(monkeypatch, softmax_events):
    from plugins.softmax import views

    calls: list[int] = []
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces(calls))
    monkeypatch.setenv(zerogpu.ENV_VAR, "true")
    app = softmax_app()
    on_compute = softmax_events[-1].compute
    layers = [_gpu_layer(fn.fn) for fn in app.fns.values()]
    on_gpu = [f for f in layers if getattr(f, "__wrapped__", None) is on_compute]
    assert len(on_gpu) >= 3  # the endpoint and the private UI events that run the same math
    assert {f.gpu_duration for f in on_gpu} == {10}
    assert not any(f is on_compute for f in layers)  # none left unwrapped
    preset = next(fn for fn in app.fns.values() if fn.api_name == "softmax_preset")
    assert _gpu_layer(preset.fn) is views.load_preset  # no GPU asked for, none taken
    assert inspect.signature(on_gpu[0]) == inspect.signature(on_compute)

    with testing.serving(app) as url:  # Gradio runs the wrapper, and it still answers
        event, data = testing.call_endpoint(
            url, "softmax_compute", ("3, 1", "a, b", 1.0, "float32", "a")
        )
    assert event == "complete" and "88.08%" in data[0] and calls == [10]


def test_off_zerogpu_nothing_is_wrapped(monkeypatch, softmax_events):
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces([]))
    monkeypatch.delenv(zerogpu.ENV_VAR, raising=False)
    fns = softmax_app().fns.values()
    assert not any(hasattr(_gpu_layer(fn.fn), "gpu_duration") for fn in fns)
    assert any(_gpu_layer(fn.fn) is softmax_events[-1].compute for fn in fns)

    monkeypatch.setenv(zerogpu.ENV_VAR, "1")
    for missing in (None, types.ModuleType("spaces")):  # not installed; this repo's spaces/ folder
        monkeypatch.setitem(sys.modules, "spaces", missing)
        with pytest.warns(RuntimeWarning, match="`spaces` package is missing"):
            app = softmax_app()
        assert any(_gpu_layer(fn.fn) is softmax_events[-1].compute for fn in app.fns.values())


def test_a_gpu_name_that_is_no_endpoint_costs_only_its_tab(monkeypatch):
    import gradio as gr

    monkeypatch.delenv(zerogpu.ENV_VAR, raising=False)

    def build(_context) -> gr.Blocks:
        with gr.Blocks() as blocks:
            box = gr.Textbox()
            blocks.load(lambda: "x", None, box, api_name="typo_compute")
        return blocks

    @hookimpl
    def register_concepts(register):
        register(
            Concept(id="typo", title="Typo", summary="One.", build=build, gpu={"typo_comptue": 5})
        )

    module = types.ModuleType("typo_plugin")
    module.register_concepts = register_concepts
    host = Host(ModelRegistry()).add_module("typo", module)
    app = create_app(host)
    (error,) = host.plugins["typo"].errors
    assert (
        error.stage == "build"
        and "typo_comptue" in error.message
        and "typo_compute" in error.message
    )
    assert not any(fn.api_name == "typo_compute" for fn in app.fns.values())

    with pytest.raises(ValueError, match="not one of its endpoints"):
        Concept(id="typo", title="T", summary="S.", build=build, gpu={"other_compute": 5})
    with pytest.raises(ValueError, match="whole number of seconds"):
        Concept(id="typo", title="T", summary="S.", build=build, gpu={"typo_compute": 0})
