"""The expression parser: what it reads, and where it says it stopped when it cannot."""

from __future__ import annotations

import re

import pytest

from plugins.embeddings.expression import MAX_TERMS, ParseError, Term, parallelogram, parse


def weights(text: str) -> list[tuple[float, str]]:
    return [(t.weight, t.text) for t in parse(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("king - man + woman", [(1, "king"), (-1, "man"), (1, "woman")]),
        ("King-Man+Woman", [(1, "king"), (-1, "man"), (1, "woman")]),
        ("0.5*paris + 0.5 rome", [(0.5, "paris"), (0.5, "rome")]),
        ("-2 * dog", [(-2, "dog")]),
        ('"new   York" - usa', [(1, "new york"), (-1, "usa")]),
        ('don\'t + "x-ray"', [(1, "don't"), (1, "x-ray")]),
        (".25*cat + 1e-1*dog", [(0.25, "cat"), (0.1, "dog")]),
        ("  queen  ", [(1, "queen")]),
    ],
)
def test_expressions_parse_into_weighted_terms(text, expected):
    assert weights(text) == expected


def test_terms_know_their_columns():
    assert parse("king - man") == [Term(1.0, "king", 1), Term(-1.0, "man", 6)]


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 1, "empty"),
        ("king - + woman", 8, "Expected a word, found '+'"),
        ("king man", 6, "Expected + or -"),
        ("king -", 7, "after the last operator"),
        ("king $ man", 6, "Unexpected '$'"),
        ('king + "queen', 8, "not closed"),
        ("3*", 3, "after the weight"),
        ("11*king", 1, "at most 10"),
        ("king * man", 6, "Expected + or -"),
        ("king + 4", 9, "after the weight 4"),
    ],
)
def test_errors_say_where(text, column, message):
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        parse(text)
    assert caught.value.column == column
    assert f"at column {column}" in str(caught.value) and "⟨here⟩" in str(caught.value)


def test_at_most_ten_terms():
    assert len(parse(" + ".join(["cat"] * MAX_TERMS))) == MAX_TERMS
    with pytest.raises(ParseError, match=f"At most {MAX_TERMS} terms"):
        parse(" + ".join(["cat"] * (MAX_TERMS + 1)))


def test_long_text_is_refused():
    with pytest.raises(ParseError, match="longer than 300"):
        parse("cat + " * 100)


def test_the_parallelogram_is_b_minus_a_plus_c_only():
    assert parallelogram(parse("king - man + woman")) == ("king", "man", "woman")
    assert parallelogram(parse("woman - man + king")) == ("woman", "man", "king")
    assert parallelogram(parse("king + woman")) is None
    assert parallelogram(parse("king - 0.5*man + woman")) is None
