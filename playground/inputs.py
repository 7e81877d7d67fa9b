"""Checking what a learner sends: a refused input says what is allowed.

A concept's views (torch, no gradio) raise :class:`BadInput`; its tab wraps each handler in
:func:`guard`, which shows the message as a ``gr.Error`` (so does a model that cannot load), and
hands a view's :class:`Result` to Gradio as the event's outputs, field by field.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

from playground.models import ModelUnavailable

MAX_SEED = 2**31 - 1  # every seed box: torch takes more, numpy's legacy seeding does not


class BadInput(ValueError):
    """An input the tab refuses; the message says what is allowed."""


def _limit(x: float) -> str:
    """A range's end as a person writes it: 2,147,483,647 and 0.05, not 2.14748e+09."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def check_number(value: Any, what: str, low: float, high: float, *, whole: bool = False) -> float:
    """A finite number in [low, high] (a whole one when ``whole``), or BadInput naming the range."""
    kind = "a whole number" if whole else "a number"
    allowed = f"{what} must be {kind} from {_limit(low)} to {_limit(high)}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{allowed}, not {str(value)[:40]!r}.") from None
    if not math.isfinite(number) or not low <= number <= high or (whole and number % 1):
        raise BadInput(f"{allowed}, not {number:g}.")
    return number


def check_whole(value: Any, what: str, low: int, high: int) -> int:
    """A whole number in [low, high], as an int, or BadInput naming the range."""
    return int(check_number(value, what, low, high, whole=True))


def check_choice(value: Any, what: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (a Dropdown's or Radio's), or BadInput listing them."""
    if value not in choices:
        raise BadInput(f"{what} must be one of {', '.join(choices)}, not {str(value)[:40]!r}.")
    return value


def check_seed(value: Any) -> int:
    return check_whole(value, "The seed", 0, MAX_SEED)


class Result:
    """The base of a view's result dataclass: its fields are the event's outputs, in order.

    A view returns ``Grid(figure=..., note=...)``, not a tuple a reader must count; `guard`
    hands the fields to Gradio. (A dataclass kept in a gr.State is not a Result: it is one output.)
    """


def outputs(result: Any) -> Any:
    if isinstance(result, Result):
        return tuple(getattr(result, f.name) for f in dataclasses.fields(result))  # type: ignore[arg-type]
    return result


def guard(fn: Callable) -> Callable:
    """``fn`` with a refused input or an unavailable model answered as a gr.Error."""
    import gradio as gr

    if inspect.isgeneratorfunction(fn):  # a live run: the error may come at any step

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                for result in fn(*args, **kwargs):
                    yield outputs(result)
            except (BadInput, ModelUnavailable) as exc:
                raise gr.Error(str(exc)) from None

        return stream

    @functools.wraps(fn)
    def handler(*args, **kwargs):
        try:
            return outputs(fn(*args, **kwargs))
        except (BadInput, ModelUnavailable) as exc:
            raise gr.Error(str(exc)) from None

    return handler
