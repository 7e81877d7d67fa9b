"""Lanes: sub-second events run side by side, long jobs queue in a few shared slots.

Each concept's events queue in its own lane (Gradio's ``concurrency_id``). The host sets:
- the lane's width to ``Concept.parallel``: a concept raises it only where its handlers share
  nothing mutable (eval-mode models under no_grad, a generator per request), saying why;
- the endpoints named in ``Concept.long`` (training runs, 1 000-step samplers), in every event
  that runs them, onto one process-wide lane of :data:`LONG_SLOTS` slots, so an interactive
  click never waits behind a training run. A visitor runs one long job at a time, a streamed
  one stops at :data:`LONG_CAP_S`, and the queue position shows in the job's panels.
Torch gets one thread per request (:func:`share_cores`): requests in parallel take the cores,
instead of each asking for all of them.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from playground import ui

CORES = os.cpu_count() or 1
LONG_LANE = "playground-long"
LONG_SLOTS = max(2, min(4, CORES // 2))  # long jobs running at once, process-wide
LONG_CAP_S = 240  # a streamed long job stops here, whatever its own settings
REQUEST = "_playground_request"  # the parameter through which Gradio hands us the visitor
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_RUNNING: set[str] = set()  # the visitors (Gradio sessions) with a long job running, any tab's
# Visitors who pressed Stop: their running job ends before its next update, which would reach
# the page after the Stop button's "Stopped at step N" and overwrite it.
_STOPPING: set[str] = set()
_LOCK = threading.Lock()


def share_cores() -> None:
    """One torch thread per request: parallel requests, not one request, fill the cores."""
    import torch

    torch.set_num_threads(1)


def functions(concept: Any, blocks: Any, api_names: Any) -> set[Callable]:
    """The functions behind the named endpoints (every event running one is affected)."""
    by_name = {fn.api_name: fn.fn for fn in blocks.fns.values() if fn.api_name and fn.fn}
    missing = [name for name in api_names if name not in by_name]
    if missing:
        raise ValueError(f"{concept.id}: long names {missing}, which are not its endpoints")
    return {by_name[name] for name in api_names}


def one_per_visitor(fn: Callable, title: str, summary: int | None = None) -> Callable:
    """``fn`` refusing a visitor who already has a long job running, and stopping a streamed
    one at :data:`LONG_CAP_S`. Gradio passes the visitor through an added parameter.

    Once the visitor presses Stop, a streamed job ends before its next update: Gradio's cancel
    lets the running step finish, and its update would reach the page after Stop's answer. Its
    last word is then its last update with output ``summary`` (the one a Stop button rewrites)
    marked stopped, the rest unchanged, so that whatever Gradio sends last says "Stopped"."""
    import gradio as gr

    def enter(request: Any) -> str | None:
        visitor = getattr(request, "session_hash", None)
        with _LOCK:
            if visitor in _RUNNING:
                raise gr.Error(
                    "You already have a long run going (training or a long sampler): stop it "
                    "or let it finish, then start this one."
                )
            if visitor is not None:
                _RUNNING.add(visitor)
                _STOPPING.discard(visitor)
        return visitor

    def leave(visitor: str | None) -> None:
        with _LOCK:
            _RUNNING.discard(visitor)
            _STOPPING.discard(visitor)

    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind not in POSITIONAL), len(params))

    def visitor_of(args: tuple, kwargs: dict) -> tuple[str | None, tuple]:
        """Take out the request Gradio put at our parameter's place."""
        if len(args) > at:
            return enter(args[at]), (*args[:at], *args[at + 1 :])
        return enter(kwargs.pop(REQUEST, None)), args

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def job(*args, **kwargs):
            visitor, args = visitor_of(args, kwargs)
            try:
                began, last = time.monotonic(), None
                for item in fn(*args, **kwargs):
                    if visitor in _STOPPING:
                        if last is not None and summary is not None:
                            yield _marked_stopped(last, summary)
                        return
                    last = item
                    yield item
                    if time.monotonic() - began > LONG_CAP_S:
                        gr.Warning(f"{title}: stopped at the {LONG_CAP_S} s limit for one run.")
                        return
            finally:
                leave(visitor)

    else:

        @functools.wraps(fn)
        def job(*args, **kwargs):
            visitor, args = visitor_of(args, kwargs)
            try:
                return fn(*args, **kwargs)
            finally:
                leave(visitor)

    return _taking_request(job, fn, at)


def _taking_request(wrapper: Callable, fn: Callable, at: int) -> Callable:
    """``wrapper`` with ``fn``'s signature plus our request parameter at ``at``: Gradio hands a
    gr.Request to a positional parameter annotated so."""
    import gradio as gr

    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    visitor = inspect.Parameter(
        REQUEST, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request
    )
    parameters = [*params[:at], visitor, *params[at:]]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), REQUEST: gr.Request}
    return wrapper


def _marked_stopped(update: Any, summary: int) -> Any:
    """A job's update with output ``summary`` rewritten as a Stop button would, the others
    left as they are on the page."""
    import gradio as gr

    if not isinstance(update, (tuple, list)):
        return ui.stopped(update)
    return tuple(ui.stopped(v) if i == summary else gr.skip() for i, v in enumerate(update))


def stopping(fn: Callable[[Any], Any]) -> Callable:
    """A Stop button's handler (``fn(summary)``) that also ends the visitor's long job before
    its next update: Gradio's cancel lets the running step finish, and that step's update
    would otherwise arrive after the Stop's answer."""

    @functools.wraps(fn)
    def stop(summary: Any, *args: Any, **kwargs: Any) -> Any:
        request = args[0] if args else kwargs.get(REQUEST)  # where Gradio put the visitor
        visitor = getattr(request, "session_hash", None)
        with _LOCK:
            if visitor in _RUNNING:
                _STOPPING.add(visitor)
        return fn(summary)

    return _taking_request(stop, fn, 1)


def apply(concept: Any, blocks: Any) -> None:
    """Put the concept's long jobs on the shared long lane, and widen its own lane."""
    long = functions(concept, blocks, concept.long)
    # The concept's own lane: the one its endpoints share (share.link's and exercises' own
    # small lanes are left as they are).
    lanes = [f.concurrency_id for f in blocks.fns.values() if f.api_name and f.fn not in long]
    lane = max(set(lanes), key=lanes.count) if lanes else None
    # What Stop buttons rewrite: a long job marks that output of its own when stopped.
    stops = {id(c) for f in blocks.fns.values() if f.fn is ui.stopped for c in f.outputs}
    for block_fn in blocks.fns.values():
        if block_fn.fn is ui.stopped:  # a Stop button: it ends the visitor's job, too
            block_fn.fn = stopping(ui.stopped)
        elif block_fn.fn in long:
            outputs = [id(c) for c in block_fn.outputs]
            summary = next((i for i, c in enumerate(outputs) if c in stops), None)
            block_fn.fn = one_per_visitor(block_fn.fn, concept.title, summary)
            block_fn.concurrency_id = LONG_LANE
            block_fn.concurrency_limit = LONG_SLOTS
            if block_fn.show_progress == "hidden":
                block_fn.show_progress = "minimal"  # the queue position, while it waits
        elif block_fn.concurrency_id == lane and concept.parallel > 1:
            block_fn.concurrency_limit = concept.parallel
