"""Load: a short run of the harness in tests/load (5 users, 20 s) against a server of its own,
and the queue and concurrency settings chosen for a shared machine. No timing assertions:
the machine is shared; the full run's figures are in docs/reliability.md."""

from __future__ import annotations

import threading
import time

import gradio as gr
import pytest
from gradio_client import Client
from gradio_client.utils import Status

from playground.app import QUEUE_MAX_SIZE, create_app
from playground.host import load
from tests.helpers import start_server
from tests.load import run, warm_up

USERS, SECONDS = 5, 20
RSS_GROWTH = 1.15  # the full run's target is 10 %; a short run has less time to settle
MALLOC_ARENAS = "2"  # see docs/reliability.md: glibc's per-thread arenas otherwise grow RSS


@pytest.fixture(scope="module")
def own_server():
    """A server only this module loads, so its memory is what the load did."""
    proc, url = start_server(env={"MALLOC_ARENA_MAX": MALLOC_ARENAS})
    yield proc, url
    proc.terminate()
    proc.wait(timeout=30)


def test_a_short_load_run_fails_nothing_and_keeps_memory_bounded(own_server):
    proc, url = own_server
    endpoints = warm_up(url, USERS, 5)
    concepts = {name.split("_", 1)[0] for name in endpoints}
    assert {"/softmax", "/gpt", "/embeddings", "/attention", "/moe", "/diffusion"} <= concepts
    report = run(url, USERS, SECONDS, endpoints, pid=proc.pid)
    print(report.markdown())
    assert report.failures == []
    assert report.requests >= USERS
    assert report.rss_after_mb <= RSS_GROWTH * report.rss_before_mb, report.markdown()


@pytest.fixture(scope="module")
def app():
    return create_app(load())


def test_the_app_queue_is_capped(app):
    assert app._queue.max_size == QUEUE_MAX_SIZE


def test_each_tab_runs_its_events_one_at_a_time_on_its_own_workers(app):
    """A tab's heavy torch work shares its concurrency id, one at a time (so 20 users cannot
    start 20 model runs at once); no id is shared between tabs, so a long diffusion run never
    makes a softmax user wait."""
    ids: dict[str, set] = {}
    for fn in app.fns.values():
        if fn.api_visibility == "public" and fn.api_name:
            assert fn.concurrency_id and fn.concurrency_limit in (1, "default"), fn.api_name
            ids.setdefault(fn.api_name.split("_", 1)[0], set()).add(fn.concurrency_id)
    assert len(ids) >= 6
    for concept, found in ids.items():
        others = set().union(*(v for k, v in ids.items() if k != concept))
        assert not found & others, (concept, found & others)
    assert app._queue.default_concurrency_limit == 1  # "default" above means 1


def test_waiting_users_are_told_their_place_and_a_full_queue_says_so():
    """What the app's queue(max_size=...) gives a visitor, on a tiny app with a slow event."""
    release = threading.Event()

    def slow(x):
        release.wait(30)
        return x

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(slow, box, box, api_name="slow", concurrency_limit=1)
    demo.queue(max_size=2)
    demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        running = client.submit("a", api_name="/slow")
        time.sleep(1)  # the first is running: the next two wait
        waiting = [client.submit(x, api_name="/slow") for x in ("b", "c")]
        time.sleep(1)
        with pytest.raises(Exception, match="Queue is full"):  # the third waiter is refused
            Client(demo.local_url, verbose=False).predict("d", api_name="/slow")
        deadline = time.monotonic() + 20
        ranks = set()
        while time.monotonic() < deadline and len(ranks) < 2:
            for job in waiting:
                status = job.status()
                if status.code == Status.IN_QUEUE and status.rank is not None:
                    ranks.add(status.rank)
            time.sleep(0.05)
        assert ranks == {0, 1}  # each waiter is told where it stands
        release.set()
        assert [running.result(30), *(j.result(30) for j in waiting)] == ["a", "b", "c"]
    finally:
        release.set()
        demo.close()
