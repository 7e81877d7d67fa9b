"""Predict, then reveal: the exercise record a plugin registers, and how an answer is judged.

A learner commits a prediction first; only then does ``solve`` compute the truth on the real
model, and the reveal explains the gap with the numbers that decide it. Plugins register
exercises through the ``register_exercises`` hook, for their own concepts or anyone's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playground.concept import Context

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
MAX_ANSWER_CHARS = 200


@dataclass(frozen=True)
class Answer:
    truth: str | float | tuple[str, ...]  # the right choice, the number, or the right choices
    explanation: str  # Markdown: why, with the real numbers that decide it
    tolerance: float = 0.1  # a number within this relative error counts as right


@dataclass(frozen=True)
class Exercise:
    id: str  # slug, unique across plugins
    concept: str  # the id of the concept whose tab shows it
    title: str  # a few words for the list
    question: str  # Markdown: what to predict, about which setting
    # context -> the truth, computed on the real model (context.model(id)); use lazy("pkg.mod:fn")
    solve: Callable[[Context], Answer]
    choices: tuple[str, ...] = ()  # the options; none: the answer is a number
    multiple: bool = False  # several choices may be right: the answer is the set of them
    plugin: str = field(default="", compare=False)  # filled in by the host

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise ValueError(f"exercise id {self.id!r} must be a slug (a-z, 0-9, - and _)")
        if not self.title.strip() or not self.question.strip():
            raise ValueError(f"exercise {self.id!r} needs a title and a question")
        if self.multiple and len(self.choices) < 2:
            raise ValueError(f"exercise {self.id!r}: several answers need at least two choices")
        if len(set(self.choices)) != len(self.choices):
            raise ValueError(f"exercise {self.id!r}: choices must be distinct")
        if not callable(self.solve):
            raise TypeError(f"exercise {self.id!r}: solve must be callable")


def _number(text: object) -> float:
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"Enter a number, like 0.25 or 12 (not {str(text)[:40]!r}).") from None
    if not math.isfinite(value):
        raise ValueError("Enter a finite number.")
    return value


def judge(exercise: Exercise, given: object, context: Context) -> str:
    """The reveal for ``given``: right or not, the truth, and the explanation (Markdown).

    ValueError says what a valid answer looks like; the truth is computed only after that.
    """
    if given is None or given == "" or given == []:
        raise ValueError("Commit a prediction first: the answer is revealed after you choose.")
    if exercise.multiple:
        if not isinstance(given, (list, tuple)) or not all(g in exercise.choices for g in given):
            raise ValueError(f"Pick any of: {', '.join(exercise.choices)}.")
        answer = exercise.solve(context)
        assert isinstance(answer.truth, tuple), f"{exercise.id}: the truth is the right choices"
        truth, mine = set(answer.truth), set(given)
        right = truth == mine
        missed, extra = sorted(truth - mine), sorted(mine - truth)
        gap = (f" You missed {', '.join(missed)}." if missed else "") + (
            f" Not {', '.join(extra)}." if extra else ""
        )
        shown = ", ".join(c for c in exercise.choices if c in truth) or "none of them"
    elif exercise.choices:
        if given not in exercise.choices:
            raise ValueError(f"Pick one of: {', '.join(exercise.choices)}.")
        answer = exercise.solve(context)
        right, gap, shown = given == answer.truth, "", str(answer.truth)
    else:
        if len(str(given)) > MAX_ANSWER_CHARS:
            raise ValueError(f"An answer is at most {MAX_ANSWER_CHARS} characters.")
        value = _number(given)
        answer = exercise.solve(context)
        assert not isinstance(answer.truth, tuple), f"{exercise.id}: the truth is one number"
        number = float(answer.truth)
        error = abs(value - number) / max(abs(number), 1e-12)
        right = error <= answer.tolerance
        gap = f" You were off by {error:.0%} (within {answer.tolerance:.0%} counts)."
        shown = f"{number:.4g}"
    verdict = "**Right.**" if right else "**Not quite.**"
    return f"{verdict} The model says: **{shown}**.{gap}\n\n{answer.explanation}"
