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
_RUNNING: dict[str, str] = {}  # visitor (Gradio session) -> the concept of its running long job
_STOPPING: set[str] = set()  # visitors who pressed Stop: their job ends at its next update
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


def one_per_visitor(fn: Callable, concept: Any) -> Callable:
    """``fn`` refusing a visitor who already has a long job running, and ending a streamed one
    at :data:`LONG_CAP_S` or at its first update after the visitor pressed the tab's Stop
    (:func:`stopping`), that update's summary saying so. Gradio passes the visitor through an
    added parameter."""
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
                _RUNNING[visitor] = concept.id
        return visitor

    def leave(visitor: str | None) -> None:
        if visitor is None:  # a call without a visitor (the job's own tests) holds no place
            return
        with _LOCK:
            _RUNNING.pop(visitor, None)
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
                began = time.monotonic()
                for update in fn(*args, **kwargs):
                    if visitor in _STOPPING:
                        yield _marked_stopped(update)
                        return
                    yield update
                    if time.monotonic() - began > LONG_CAP_S:
                        gr.Warning(
                            f"{concept.title}: stopped at the {LONG_CAP_S} s limit for one run."
                        )
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


def _marked_stopped(update: Any) -> Any:
    """A job's update with its summary saying where it stopped (text outputs without a "Step N
    of M" are left as they are)."""
    if isinstance(update, str):
        return ui.stopped(update)
    if isinstance(update, (tuple, list)):
        return type(update)(ui.stopped(v) if isinstance(v, str) else v for v in update)
    return update


def stopping(concept_id: str) -> Callable:
    """A Stop button's handler (:func:`playground.ui.stop`) for concept ``concept_id``: the
    visitor's long job of that concept ends at its next update. (A job still waiting for a
    slot is not stopped: it starts, and Stop pressed then ends it.)"""

    def stop(request: Any = None) -> None:
        visitor = getattr(request, "session_hash", None)
        with _LOCK:
            if visitor is not None and _RUNNING.get(visitor) == concept_id:
                _STOPPING.add(visitor)

    return _taking_request(stop, ui.stop, 0)


def apply(concept: Any, blocks: Any) -> None:
    """Put the concept's long jobs on the shared long lane, and widen its own lane."""
    long = functions(concept, blocks, concept.long)
    # The concept's own lane: the one its endpoints share (share.link's and exercises' own
    # small lanes are left as they are).
    lanes = [f.concurrency_id for f in blocks.fns.values() if f.api_name and f.fn not in long]
    lane = max(set(lanes), key=lanes.count) if lanes else None
    for block_fn in blocks.fns.values():
        if block_fn.fn is ui.stop:  # a Stop button: it ends the visitor's job of this tab
            block_fn.fn = stopping(concept.id)
        elif block_fn.fn in long:
            block_fn.fn = one_per_visitor(block_fn.fn, concept)
            block_fn.concurrency_id = LONG_LANE
            block_fn.concurrency_limit = LONG_SLOTS
            if block_fn.show_progress == "hidden":
                block_fn.show_progress = "minimal"  # the queue position, while it waits
        elif block_fn.concurrency_id == lane and concept.parallel > 1:
            block_fn.concurrency_limit = concept.parallel
