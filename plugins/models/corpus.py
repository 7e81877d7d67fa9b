"""The training corpus for the bundled language models, made here and reproducible.

Two sources, mixed paragraph by paragraph:
- short stories and plain facts from a seeded generator with a large hand-written lexicon
  (royalty, animals, cities and countries, colours, numbers, food, weather, feelings), whose
  sentence shapes vary enough that the next token is rarely certain;
- real English prose that ships with Python itself (the reference documentation in
  ``pydoc_data`` and the standard library's docstrings, under the PSF licence), filtered to
  sentences that read as prose rather than code.

``python -m plugins.models.corpus --out DIR`` writes train.txt and heldout.txt.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from plugins.models.lexicon import (
    ACTS,
    ADJECTIVES,
    ANIMAL_FACTS,
    ANIMALS,
    CITIES,
    COLOUR_MIXES,
    COLOURS,
    DRINKS,
    FEELINGS,
    FOODS,
    MOVES,
    NAMES,
    NUMBERS,
    OBJECTS,
    PEOPLE,
    PLACES,
    ROYALTY,
    SAYINGS,
    THING_ADJECTIVES,
    TIMES,
    TOWNS,
    VERBS,
    WEATHER,
)

TARGET_WORDS = 1_700_000  # about 2.1 M tokens with the bundled 4 096-token BPE
HELDOUT_FRACTION = 0.02


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _plural(word: str) -> str:
    irregular = {
        "loaf": "loaves",
        "scarf": "scarves",
        "mouse": "mice",
        "goose": "geese",
        "sheep": "sheep",
        "deer": "deer",
        "moose": "moose",
        "fish": "fish",
        "knife": "knives",
        "potato": "potatoes",
        "tomato": "tomatoes",
        "ox": "oxen",
    }
    if word in irregular:
        return irregular[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


class StoryWriter:
    """A seeded random grammar of stories and facts, paragraph by paragraph."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, items):
        return self.rng.choice(items)

    def character(self) -> tuple[str, str]:
        """A noun phrase for a character and the pronoun that refers back to it."""
        r = self.rng.random()
        if r < 0.3:
            return self.pick(NAMES), self.pick(["she", "he"])
        kind = self.pick(ROYALTY + PEOPLE) if r < 0.65 else self.pick(ANIMALS)
        pronoun = {
            "queen": "she",
            "princess": "she",
            "duchess": "she",
            "empress": "she",
            "lady": "she",
            "witch": "she",
            "girl": "she",
            "old woman": "she",
            "nurse": "she",
        }.get(kind, "he" if kind in ROYALTY + PEOPLE else "it")
        adjective = self.pick(ADJECTIVES) + " " if self.rng.random() < 0.6 else ""
        return f"{self.pick(['the', 'a'])} {adjective}{kind}", pronoun

    def thing(self) -> str:
        adjective = self.pick(THING_ADJECTIVES + COLOURS) + " " if self.rng.random() < 0.6 else ""
        return f"{adjective}{self.pick(OBJECTS)}"

    def place(self) -> str:
        if self.rng.random() < 0.3:
            return self.pick([c for c, _ in CITIES] + TOWNS)
        adjective = (
            self.pick(THING_ADJECTIVES + ADJECTIVES[:20]) + " " if self.rng.random() < 0.4 else ""
        )
        return f"the {adjective}{self.pick(PLACES)}"

    def story(self) -> str:
        hero, he = self.character()
        friend, _ = self.character()
        thing, place = self.thing(), self.place()
        sentences = [f"{self.pick(TIMES)}, {hero} lived near {place}."]
        for _ in range(self.rng.randint(3, 8)):
            sentences.append(self.pick(self.moves)(hero, he, friend, thing))
        sentences.append(self.pick(self.endings)(hero, he, friend, thing))
        text = " ".join(sentences)
        return text[0].upper() + text[1:]

    @property
    def moves(self):
        return [
            self._errand,
            self._weather,
            self._meeting,
            self._dialogue,
            self._feeling,
            self._count,
            self._journey,
            self._habit,
            self._question,
        ]

    @property
    def endings(self):
        return [self._moral, self._home, self._sleep, self._feast]

    def _errand(self, hero, he, friend, thing):
        verb = self.pick(VERBS)[1]
        return f"{he.capitalize()} {verb} {_a(thing)} in {self.place()}."

    def _weather(self, hero, he, friend, thing):
        return f"{self.pick(WEATHER).capitalize()}, so {he} {self.pick(ACTS)[1]} for a while."

    def _meeting(self, hero, he, friend, thing):
        return (
            f"There {he} met {friend}, who was {self.pick(ADJECTIVES)} and "
            f"{self.pick(['wore', 'carried', 'wanted'])} {_a(self.thing())}."
        )

    def _dialogue(self, hero, he, friend, thing):
        line = self.pick(
            [
                f"Have you seen my {thing}?",
                f"I am going to {self.place()}.",
                f"Let us {self.pick(MOVES)[0]} to {self.place()} together.",
                f"I feel {self.pick(FEELINGS)} today.",
                f"Would you like some {self.pick(FOODS)}?",
                f"Where is the {self.pick(OBJECTS)}?",
                f"{self.pick(SAYINGS)}.",
                f"I have {self.pick(NUMBERS[2:12])} {_plural(self.pick(OBJECTS))}.",
            ]
        )
        speaker = self.pick([hero, friend])
        if line.endswith("?"):
            return f'"{line}" {self.pick(["asked", "wondered", "whispered"])} {speaker}.'
        verb = self.pick(["said", "whispered", "shouted", "replied", "laughed"])
        return f'"{line[:-1]}," {verb} {speaker}.'

    def _feeling(self, hero, he, friend, thing):
        return (
            f"That made {hero} feel {self.pick(FEELINGS)}, because {he} had "
            f"{self.pick(['never', 'always', 'once'])} {self.pick(VERBS)[2]} {_a(thing)}."
        )

    def _count(self, hero, he, friend, thing):
        n = self.rng.randint(2, 12)
        return (
            f"{he.capitalize()} counted {NUMBERS[n]} {self.pick(COLOURS)} "
            f"{_plural(self.pick(OBJECTS))} and {NUMBERS[self.rng.randint(2, 8)]} "
            f"{_plural(self.pick(ANIMALS))}."
        )

    def _journey(self, hero, he, friend, thing):
        move = self.pick(MOVES)[1]
        return (
            f"Then {he} {move} {self.pick(['across', 'through', 'past', 'towards', 'over'])} "
            f"{self.place()} "
            f"{self.pick(['until dark', 'all day', 'for an hour', 'quickly', 'with ' + friend])}."
        )

    def _habit(self, hero, he, friend, thing):
        act = self.pick(ACTS)[0]
        meal = self.pick([f"eat {self.pick(FOODS)}", f"drink {self.pick(DRINKS)}"])
        when = self.pick(["day", "night", "week", "morning"])
        return f"Every {when}, {hero} liked to {act} and {meal}."

    def _question(self, hero, he, friend, thing):
        return (
            f"Why was the {self.pick(OBJECTS)} {self.pick(COLOURS)}? Nobody in "
            f"{self.place()} knew, not even {friend}."
        )

    def _moral(self, hero, he, friend, thing):
        return f"In the end {he} learned a lesson: {self.pick(SAYINGS).lower()}."

    def _home(self, hero, he, friend, thing):
        return f"At last {hero} went home with the {thing} and was {self.pick(FEELINGS)}."

    def _sleep(self, hero, he, friend, thing):
        place = self.place()
        return (
            f"That night {he} dreamed of {place} and a {self.pick(COLOURS)} {self.pick(ANIMALS)}."
        )

    def _feast(self, hero, he, friend, thing):
        return (
            f"Everyone shared {self.pick(FOODS)} and {self.pick(FOODS)}, and {friend} sang "
            f"until the {self.pick(['moon', 'sun', 'stars'])} came out."
        )

    def facts(self) -> str:
        makers = [
            self._capital,
            self._arith,
            self._colour,
            self._animal_fact,
            self._royal,
            self._order,
        ]
        sentences = [self.pick(makers)() for _ in range(self.rng.randint(2, 5))]
        return " ".join(sentences)

    def _capital(self):
        city, country = self.pick(CITIES)
        return self.pick(
            [
                f"{city} is the capital of {country}.",
                f"The capital of {country} is {city}.",
                f"People in {city} live in {country}.",
            ]
        )

    def _arith(self):
        a, b = self.rng.randint(0, 10), self.rng.randint(0, 10)
        if self.rng.random() < 0.6:  # a + b <= 20 always: plus; else minus
            return f"{NUMBERS[a].capitalize()} plus {NUMBERS[b]} is {NUMBERS[a + b]}."
        a, b = max(a, b), min(a, b)
        return f"{NUMBERS[a].capitalize()} minus {NUMBERS[b]} is {NUMBERS[a - b]}."

    def _colour(self):
        a, b, c = self.pick(COLOUR_MIXES)
        return self.pick(
            [
                f"Mixing {a} and {b} makes {c}.",
                f"{a.capitalize()} and {b} make {c}.",
                f"The {self.pick(OBJECTS)} was {self.pick(COLOURS)}.",
            ]
        )

    def _animal_fact(self):
        animal, has = self.pick(ANIMAL_FACTS)
        return f"{_a(animal).capitalize()} has {has}."

    def _royal(self):
        pairs = [
            ("king", "queen"),
            ("prince", "princess"),
            ("man", "woman"),
            ("boy", "girl"),
            ("duke", "duchess"),
            ("emperor", "empress"),
            ("father", "mother"),
            ("brother", "sister"),
            ("husband", "wife"),
            ("uncle", "aunt"),
        ]
        a, b = self.pick(pairs)
        return self.pick(
            [
                f"The {a} and the {b} ruled together.",
                f"A {b} is like a {a}, but she is a woman."
                if a != "man"
                else "A woman is like a man, and both are people.",
                f"The {a} spoke to the {b} in {self.pick(CITIES)[0]}.",
            ]
        )

    def _order(self):
        i = self.rng.randint(1, 19)
        return f"After {NUMBERS[i]} comes {NUMBERS[i + 1]}."


_SENTENCE = re.compile(r"^[A-Z][A-Za-z0-9 ,;:'\"()/\-]{20,}[.!?]$")


def _is_prose(sentence: str) -> bool:
    """A sentence of mostly plain words: no code, no identifiers_with_underscores."""
    words = sentence.split()
    plain = sum(w.strip(",;:.!?()\"'").isalpha() for w in words)
    return bool(_SENTENCE.match(sentence)) and len(words) >= 5 and plain >= 0.85 * len(words)


def python_prose() -> list[str]:
    """Prose sentences from the documentation and docstrings that ship with Python."""
    import pydoc_data.topics as topics

    texts = list(topics.topics.values())
    stdlib = Path(ast.__file__).parent
    for path in sorted(stdlib.rglob("*.py")):
        if any(part in {"site-packages", "test", "tests", "idlelib"} for part in path.parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        texts += [
            doc
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and (doc := ast.get_docstring(node))
        ]
    paragraphs = []
    for text in texts:
        for block in re.split(r"\n\s*\n", text):
            flat = " ".join(block.split())
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", flat) if _is_prose(s)]
            if sentences:
                paragraphs.append(" ".join(sentences))
    return paragraphs


def paragraphs(seed: int = 0, target_words: int = TARGET_WORDS) -> Iterator[str]:
    """Stories, facts and Python's prose, shuffled together deterministically."""
    writer = StoryWriter(seed)
    prose = python_prose()
    rng = random.Random(seed + 1)
    rng.shuffle(prose)
    words = 0
    prose_iter = iter(prose)
    while words < target_words:
        r = rng.random()
        if r < 0.3:
            text = next(prose_iter, None) or writer.story()
        elif r < 0.45:
            text = writer.facts()
        else:
            text = writer.story()
        words += len(text.split())
        yield text


def write(out: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write train.txt and heldout.txt (every 50th paragraph) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    every = round(1 / HELDOUT_FRACTION)
    train, heldout = [], []
    for i, text in enumerate(paragraphs(seed)):
        (heldout if i % every == every - 1 else train).append(text)
    (out / "train.txt").write_text("\n".join(train) + "\n", encoding="utf-8")
    (out / "heldout.txt").write_text("\n".join(heldout) + "\n", encoding="utf-8")
    return out / "train.txt", out / "heldout.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, heldout = write(args.out, args.seed)
    for path in (train, heldout):
        text = path.read_text(encoding="utf-8")
        distinct = len(set(re.findall(r"[a-z]+", text.lower())))
        print(f"{path}: {len(text.split()):,} words, {distinct:,} distinct", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
