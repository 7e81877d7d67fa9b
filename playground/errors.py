"""Every event answers with a message, and the server log says what happened once.

The host wraps the function of every event of every tab (a plugin cannot forget it):
- a ``gr.Error`` (a refused input) reaches the visitor as it is and is logged as one line,
  without the traceback Gradio would print for it;
- any other exception reaches the visitor as "<tab> hit an unexpected error (error id …)"
  instead of Gradio's message-less "Error", and its traceback is logged once under that id,
  so a visitor's report can be matched to the log.
"""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
from collections.abc import Callable
from typing import Any

log = logging.getLogger("playground")
WRAPPED = "_playground_errors"  # marks a function already wrapped


def configure_logging() -> None:
    """One line per record on stderr for the playground's own logger (the server calls it)."""
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _answer(where: str, event: str, exc: Exception) -> Exception:
    """What the visitor gets for ``exc``, logged as said above."""
    import gradio as gr

    if isinstance(exc, gr.Error):
        log.info("%s (%s) refused: %s", where, event, exc.message)
        exc.print_exception = False  # the line above says it; a traceback adds nothing
        return exc
    error_id = secrets.token_hex(4)
    log.error("%s (%s) failed, error id %s", where, event, error_id, exc_info=exc)
    return gr.Error(
        f"{where} hit an unexpected error (error id {error_id}). It is logged on the server "
        "under that id; try again, or change a setting.",
        print_exception=False,
    )


def guarded(fn: Callable, where: str, event: str) -> Callable:
    """``fn`` (plain, generator, async or async generator) with every exception answered."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except Exception as exc:
                raise _answer(where, event, exc) from None

    elif inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def wrapper(*args, **kwargs):
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                raise _answer(where, event, exc) from None

    elif inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise _answer(where, event, exc) from None

    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                raise _answer(where, event, exc) from None

    setattr(wrapper, WRAPPED, True)
    return wrapper


def wrap(blocks: Any, where: str) -> None:
    """Guard every event function of ``blocks`` not guarded yet, naming ``where`` (a tab)."""
    for block_fn in blocks.fns.values():
        internal = block_fn.is_cancel_function or block_fn.is_validator_function  # Gradio's own
        if block_fn.fn is None or internal or getattr(block_fn.fn, WRAPPED, False):
            continue
        block_fn.fn = guarded(block_fn.fn, where, block_fn.api_name or block_fn.name)
