"""The analogy workbench's little language: `king - man + woman`, `0.5*paris + 0.5*rome`.

    expression := term (("+" | "-") term)*
    term       := ["+" | "-"] [number ["*"]] (word | "quoted text")

A word is letters, with apostrophes inside (don't); a minus is always subtraction, so
"x-ray" and "new york" go in quotes, and quoted text is embedded as a whole. A ParseError
knows the column where reading stopped, so the tab can point at it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_TERMS = 10
MAX_WEIGHT = 10.0
MAX_CHARS = 300
MAX_TERM_CHARS = 60

_TOKEN = re.compile(
    r"""(?:
      (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<word>[^\W\d_](?:[\w']*\w)?)
    | "(?P<quoted>[^"]*)"
    | (?P<op>[+\-*])
    )""",
    re.VERBOSE,
)


class ParseError(ValueError):
    """The expression does not parse; ``column`` (1-based) is where reading stopped."""

    def __init__(self, message: str, text: str, column: int) -> None:
        self.column = column
        self.text = text
        shown = f"{text[: column - 1]}⟨here⟩{text[column - 1 :]}"
        super().__init__(f"{message} at column {column}: {shown!r}")


@dataclass(frozen=True)
class Term:
    weight: float  # +1 for `+ king`, −1 for `- man`, 0.5 for `0.5*paris`
    text: str  # the word or quoted phrase, lower-cased as the uncased model sees it
    column: int  # where the term starts (1-based), for messages


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, value, column) for each token; anything else is a ParseError at its column."""
    found, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return found
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == '"':
                raise ParseError("A quoted phrase is not closed", text, pos + 1)
            raise ParseError(
                f'Unexpected {text[pos]!r}: use words, numbers, + - * and "quoted text"',
                text,
                pos + 1,
            )
        kind = match.lastgroup
        found.append((kind, match.group(kind), pos + 1))
        pos = match.end()


def parse(text: str) -> list[Term]:
    """The terms of an expression, each with its weight, in order."""
    if len(text) > MAX_CHARS:
        raise ParseError(f"The expression is longer than {MAX_CHARS} characters", text, MAX_CHARS)
    tokens = _tokens(text)
    if not tokens:
        raise ParseError("The expression is empty; try king - man + woman", text, 1)
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        sign, column = 1.0, tokens[i][2]
        if terms:  # between terms an operator is required
            kind, value, col = tokens[i]
            if kind != "op" or value == "*":
                raise ParseError(f"Expected + or - before {value!r}", text, col)
            sign, i = (-1.0 if value == "-" else 1.0), i + 1
        elif tokens[i][0] == "op" and tokens[i][1] in "+-":
            sign, i = (-1.0 if tokens[i][1] == "-" else 1.0), i + 1
        if i >= len(tokens):
            raise ParseError("Expected a word after the last operator", text, len(text) + 1)
        weight = 1.0
        kind, value, col = tokens[i]
        if kind == "number":
            weight = float(value)
            if not math.isfinite(weight) or weight > MAX_WEIGHT:
                raise ParseError(f"A weight must be at most {MAX_WEIGHT:g}", text, col)
            i += 1
            if i < len(tokens) and tokens[i][:2] == ("op", "*"):
                i += 1
            if i >= len(tokens):
                raise ParseError(f"Expected a word after the weight {value}", text, len(text) + 1)
            kind, value, col = tokens[i]
        if kind not in ("word", "quoted"):
            raise ParseError(f"Expected a word, found {value!r}", text, col)
        phrase = " ".join(value.split()).lower()
        if not phrase or len(phrase) > MAX_TERM_CHARS:
            raise ParseError(f"A quoted phrase needs 1 to {MAX_TERM_CHARS} characters", text, col)
        terms.append(Term(sign * weight, phrase, column))
        if len(terms) > MAX_TERMS:
            raise ParseError(f"At most {MAX_TERMS} terms are allowed", text, column)
        i += 1
    return terms


def parallelogram(terms: list[Term]) -> tuple[str, str, str] | None:
    """(b, a, c) when the expression is b − a + c in some order, each weight ±1: the shape
    whose fourth corner the analogy predicts. None for any other expression."""
    plus = [t.text for t in terms if t.weight == 1.0]
    minus = [t.text for t in terms if t.weight == -1.0]
    if len(terms) != 3 or len(plus) != 2 or len(minus) != 1:
        return None
    return plus[0], minus[0], plus[1]
