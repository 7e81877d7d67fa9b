"""Checking what a learner sends: a refused input says what is allowed.

A concept's views (torch, no gradio) raise :class:`BadInput`; its tab wraps each handler in
:func:`guard`, which shows the message as a ``gr.Error`` (so does a model that cannot load).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

from playground.models import ModelUnavailable


class BadInput(ValueError):
    """An input the tab refuses; the message says what is allowed."""


def check_number(value: Any, what: str, low: float, high: float, *, whole: bool = False) -> float:
    """A finite number in [low, high] (a whole one when ``whole``), or BadInput naming the range."""
    kind = "a whole number" if whole else "a number"
    allowed = f"{what} must be {kind} from {low:g} to {high:g}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{allowed}, not {str(value)[:40]!r}.") from None
    if not math.isfinite(number) or not low <= number <= high or (whole and number % 1):
        raise BadInput(f"{allowed}, not {number:g}.")
    return number


def guard(fn: Callable) -> Callable:
    """``fn`` with a refused input or an unavailable model answered as a gr.Error."""
    import gradio as gr

    if inspect.isgeneratorfunction(fn):  # a live run: the error may come at any step

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except (BadInput, ModelUnavailable) as exc:
                raise gr.Error(str(exc)) from None

        return stream

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (BadInput, ModelUnavailable) as exc:
            raise gr.Error(str(exc)) from None

    return handler
