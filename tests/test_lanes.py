"""Lanes (playground.lanes): a long job never holds up a click, runs once per visitor at a
time and stops at its cap; checked on the functions and on a live app through the API."""

from __future__ import annotations

import inspect
import sys
import threading
import types
from concurrent.futures import TimeoutError as FutureTimeout

import gradio as gr
import pytest

from playground import Concept, hookimpl, lanes, testing, ui
from playground.host import Host
from playground.models import ModelRegistry

LANE = types.SimpleNamespace(id="lane", title="Lane")  # what a job knows of its concept
RELEASE = threading.Event()  # the long job holds its slot until a test lets it go


def _long(seconds: float) -> str:
    RELEASE.wait(timeout=120)
    return f"trained for {seconds:g}"


def _click(x: float) -> float:
    return x * 2


def _build(_context) -> gr.Blocks:
    with gr.Blocks() as tab:
        x = gr.Number(1, label="x")
        out = gr.Textbox(label="out")
        gr.Button("Train").click(_long, x, out, api_name="lane_train", concurrency_id="lane")
        gr.Button("Sample").click(_long, x, out, api_name="lane_sample", concurrency_id="lane")
        gr.Button("Double").click(_click, x, out, api_name="lane_double", concurrency_id="lane")
        gr.Button("Stop").click(**ui.STOP)
    return tab


@hookimpl
def register_concepts(register):
    register(
        Concept(
            id="lane",
            title="Lane",
            summary="A long job and a click.",
            build=_build,
            long=("lane_train", "lane_sample"),
            gpu={"lane_train": 30},
        )
    )


@pytest.fixture
def app():
    module = types.ModuleType("lane_plugin")
    module.register_concepts = register_concepts
    host = Host(ModelRegistry()).add_module("lane_plugin", module)
    ((_, blocks),) = host.build()
    RELEASE.clear()
    with testing.serving(blocks) as url:
        yield blocks, url
    RELEASE.set()


def test_long_jobs_go_to_the_shared_lane_and_the_rest_stay(app):
    blocks, _ = app
    lanes_of = {
        fn.api_name: (fn.concurrency_id, fn.concurrency_limit) for fn in blocks.fns.values()
    }
    assert lanes_of["lane_train"] == (lanes.LONG_LANE, lanes.LONG_SLOTS)
    assert lanes_of["lane_double"][0] == "lane"


def test_a_click_is_answered_while_a_long_job_runs_and_a_visitor_runs_one_at_a_time(app):
    from gradio_client import Client

    _, url = app
    client = Client(url, verbose=False)
    first = client.submit(3, api_name="/lane_train")
    with pytest.raises(FutureTimeout):
        first.result(timeout=1)  # it holds its slot until released
    assert client.predict(21, api_name="/lane_double") == "42"  # not behind the training
    for name in ("/lane_train", "/lane_sample"):  # the same visitor, a second long job
        with pytest.raises(Exception, match="You already have a long run going"):
            client.predict(4, api_name=name)
    other = Client(url, verbose=False).submit(5, api_name="/lane_train")  # another visitor
    RELEASE.set()
    assert first.result(timeout=60) == "trained for 3" and other.result(timeout=60) == (
        "trained for 5"
    )
    assert client.predict(6, api_name="/lane_train") == "trained for 6"  # once it finished


def test_on_zerogpu_a_long_job_holds_the_gpu_only_while_it_runs(monkeypatch):
    from playground import zerogpu
    from tests.test_zerogpu import fake_spaces

    calls: list[int] = []
    monkeypatch.setitem(sys.modules, "spaces", fake_spaces(calls))
    monkeypatch.setenv(zerogpu.ENV_VAR, "1")
    module = types.ModuleType("lane_plugin")
    module.register_concepts = register_concepts
    ((_, blocks),) = Host(ModelRegistry()).add_module("lane_plugin", module).build()
    (train,) = [fn for fn in blocks.fns.values() if fn.api_name == "lane_train"]
    assert (train.concurrency_id, train.concurrency_limit) == (lanes.LONG_LANE, lanes.LONG_SLOTS)
    RELEASE.set()
    with testing.serving(blocks) as url:
        assert testing.call_endpoint(url, "lane_train", (2,)) == ("complete", ["trained for 2"])
    assert calls == [30]  # the GPU was asked for when the job ran, once, for its duration


def test_a_streamed_long_job_stops_at_the_cap(monkeypatch):
    def steps():
        yield from range(1_000)

    monkeypatch.setattr(lanes, "LONG_CAP_S", 0)
    warned = []
    monkeypatch.setattr(gr, "Warning", warned.append)
    assert list(lanes.one_per_visitor(steps, LANE)()) == [0]
    assert warned == ["Lane: stopped at the 0 s limit for one run."]


def test_a_long_name_that_is_no_endpoint_is_refused():
    concept = Concept(id="lane", title="Lane", summary="x", build=_build, long=("lane_trian",))
    with pytest.raises(ValueError, match="lane_trian"):
        testing.build_concept(concept)


def test_stop_ends_the_visitors_job_of_its_tab_with_an_update_that_says_stopped():
    visitor, other = (types.SimpleNamespace(session_hash=h) for h in ("visitor", "other"))

    def steps():
        yield from ((f"Step {i} of 4", i) for i in range(1, 5))  # (summary, a plot)

    job = lanes.one_per_visitor(steps, LANE)(visitor)
    assert next(job) == ("Step 1 of 4", 1)
    lanes.stopping("lane")(other)  # someone else's Stop
    lanes.stopping("moe")(visitor)  # this visitor's Stop in another tab
    assert next(job) == ("Step 2 of 4", 2)
    lanes.stopping("lane")(visitor)
    # The job's next update is its last, and says so: the run's one stream ends with it.
    assert list(job) == [("**Stopped at step 3 of 4**", 3)]
    assert next(lanes.one_per_visitor(steps, LANE)(visitor)) == ("Step 1 of 4", 1)  # anew


def test_the_host_gives_every_stop_button_the_visitor():
    module = types.ModuleType("lane_plugin")
    module.register_concepts = register_concepts
    ((_, blocks),) = Host(ModelRegistry()).add_module("lane_plugin", module).build()
    (stop,) = [fn for fn in blocks.fns.values() if fn.name == "stop"]
    assert inspect.signature(stop.fn).parameters[lanes.REQUEST].annotation is gr.Request
