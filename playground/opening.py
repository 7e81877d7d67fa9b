"""A tab computes when it is first shown, and its default view is computed once per process.

Lazy tabs. A concept builds its tab as if it were alone: its first view comes from page-load
events (`share.link` sets them up, or ``tab.load``). In the composed app the host moves those
events onto a hidden "open" button per tab, which the page's script (tabs.js) clicks the first
time the tab is shown: a card, the tab bar or a deep link (``?tab=``).
Opening the page therefore runs no concept's work; a deep link runs only its own tab's.

Shared default views. The functions of those opening events are wrapped by :func:`shared`:
a call with plain arguments (text, numbers, choices) is computed once
and then served from memory to every visitor, and a second visitor arriving while it is
being computed waits for that computation rather than starting another (single flight). What
an event writes into a visitor's gr.State is theirs alone and never shared. The server warms
every tab's default view in the background once it answers, so the first visitor of a tab
usually finds it ready. A concept whose first view must differ per visitor sets
``Concept.shared_view = False``.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

PLAIN = (str, int, float, bool, type(None))
KEEP = 8  # views kept per opening event: the default and a few linked variants
OPENER = "pg-open-"  # + concept id: the hidden button tabs.js clicks


def opening_events(app: Any, blocks: Any) -> list[Any]:
    """The events of a rendered concept that its page load triggers."""
    return [fn for fn in blocks.fns.values() if (app._id, "load") in fn.targets]


def defer(app: Any, blocks: Any, concept_id: str) -> list[Any]:
    """Move the concept's page-load events onto its hidden opener (call inside ``app``, after
    ``blocks.render()``); returns the events that now fire when the tab is first shown."""
    import gradio as gr

    events = opening_events(app, blocks)
    opener = gr.Button(visible="hidden", elem_id=f"{OPENER}{concept_id}", elem_classes="pg-opener")
    for fn in events:
        fn.targets = [(opener._id, "click") if t == (app._id, "load") else t for t in fn.targets]
    for fn in chain(blocks, events):
        if fn not in events:  # restoring a link's settings is instant: it shows nothing
            fn.show_progress = "full"  # never a blank panel while the first view computes
    return events


def chain(blocks: Any, heads: Iterable[Any]) -> list[Any]:
    """``heads`` and every event that runs after them (``.then``/``.success``), in order."""
    found, todo = [], list(heads)
    while todo:
        fn = todo.pop(0)
        found.append(fn)
        todo += [f for f in blocks.fns.values() if f.trigger_after == fn._id]
    return found


def _key(args: tuple) -> tuple | None:
    """A hashable fingerprint of plain arguments, or None (not shared) for anything else; a
    progress tracker Gradio passes is not part of what is computed."""
    import gradio as gr

    key: list[Any] = []
    for arg in args:
        if isinstance(arg, (list, tuple)) and all(isinstance(a, PLAIN) for a in arg):
            key.append(("seq", *arg))
        elif isinstance(arg, PLAIN):
            key.append(arg)
        elif not isinstance(arg, gr.Progress):
            return None
    return tuple(key)


def shared(fn: Callable) -> Callable:
    """``fn`` computed once per distinct plain arguments (the last :data:`KEEP` of them), in
    single flight. Generators and coroutines are returned as they are."""
    if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn):
        return fn
    lock = threading.Lock()
    views: OrderedDict[tuple, Future] = OrderedDict()

    @functools.wraps(fn)
    def view(*args: Any, **kwargs: Any) -> Any:
        key = _key((*args, *kwargs.values()))
        if key is None:
            return fn(*args, **kwargs)
        with lock:
            future = views.get(key)
            owner = future is None
            if future is None:
                future = views[key] = Future()
                while len(views) > KEEP:
                    views.popitem(last=False)
            else:
                views.move_to_end(key)
        if owner:
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:
                with lock:  # a failure is not shared: the next visitor tries again
                    views.pop(key, None)
                future.set_exception(exc)
        return future.result()

    view.shared_views = views  # type: ignore[attr-defined]  # for playground.testing's check
    return view


def shareable(fn: Callable, args: tuple) -> bool:
    """Whether ``fn(*args)`` alone is a view to share: plain arguments, and nothing more asked
    for (a visitor's request)."""
    try:
        inspect.signature(fn).bind(*args)
    except TypeError:
        return False
    return _key(args) is not None


def share_views(app: Any, heads: list[Any]) -> None:
    """Wrap the functions of the opening events ``heads`` and their chains with :func:`shared`."""
    import gradio as gr

    for fn in chain(app, heads):
        # A gr.State output is that visitor's own (a decode trail, a trained model): not shared.
        if fn.fn is not None and not any(isinstance(c, gr.State) for c in fn.outputs):
            fn.fn = shared(fn.fn)


def warm(app: Any) -> None:
    """Compute every shared default view once, in order; a failure is logged, not raised (the
    visitor who opens that tab sees it as a message)."""
    from playground.errors import log

    openers = [b._id for b in app.blocks.values() if str(b.elem_id).startswith(OPENER)]
    heads = [fn for fn in app.fns.values() if any((o, "click") in fn.targets for o in openers)]
    for fn in chain(app, heads):
        if not hasattr(fn.fn, "shared_views"):
            continue
        args = tuple(getattr(c, "value", None) for c in fn.inputs)
        if not shareable(fn.fn, args):
            continue
        try:
            fn.fn(*args)
        except Exception as exc:  # the errors wrapper has logged it already
            log.debug("warming %s failed: %s", fn.name, exc)


def warm_in_background(app: Any) -> threading.Thread:
    thread = threading.Thread(target=warm, args=(app,), name="playground-warm", daemon=True)
    thread.start()
    return thread
