"""A small analogy test set, written for this project, and how well an index answers it.

Each item reads "a is to b as c is to d": the model answers the query b − a + c, and is right
when d comes out on top (top-1) or among the five best (top-5). Like Mikolov et al. (2013)'s
test set, the question's own words are usually excluded from the answers, because the nearest
vector to b − a + c is very often b or c itself; the bench reports both ways, honestly.

Every word must be a whole word of MiniLM's vocabulary (a test checks it). No item was
dropped or changed after seeing how the model answers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plugins.embeddings.embeddings import combine, normalize, top_k

# fmt: off
ANALOGIES: dict[str, list[tuple[str, str, str, str]]] = {
    "capital-country": [
        ("france", "paris", "italy", "rome"), ("germany", "berlin", "spain", "madrid"),
        ("japan", "tokyo", "china", "beijing"), ("england", "london", "russia", "moscow"),
        ("greece", "athens", "portugal", "lisbon"), ("egypt", "cairo", "kenya", "nairobi"),
        ("sweden", "stockholm", "norway", "oslo"), ("austria", "vienna", "hungary", "budapest"),
        ("poland", "warsaw", "ireland", "dublin"), ("canada", "ottawa", "cuba", "havana"),
    ],
    "gender": [
        ("man", "woman", "king", "queen"), ("boy", "girl", "brother", "sister"),
        ("father", "mother", "son", "daughter"), ("husband", "wife", "uncle", "aunt"),
        ("prince", "princess", "actor", "actress"), ("he", "she", "his", "her"),
        ("nephew", "niece", "grandfather", "grandmother"), ("lord", "lady", "sir", "madam"),
        ("emperor", "empress", "waiter", "waitress"), ("male", "female", "men", "women"),
    ],
    "plural": [
        ("dog", "dogs", "cat", "cats"), ("car", "cars", "house", "houses"),
        ("city", "cities", "country", "countries"), ("apple", "apples", "tree", "trees"),
        ("child", "children", "woman", "women"), ("bird", "birds", "horse", "horses"),
        ("book", "books", "song", "songs"), ("mouse", "mice", "foot", "feet"),
        ("church", "churches", "box", "boxes"), ("knife", "knives", "leaf", "leaves"),
    ],
    "comparative": [
        ("good", "better", "bad", "worse"), ("big", "bigger", "small", "smaller"),
        ("fast", "faster", "slow", "slower"), ("tall", "taller", "short", "shorter"),
        ("old", "older", "young", "younger"), ("strong", "stronger", "weak", "weaker"),
        ("hot", "hotter", "cold", "colder"), ("easy", "easier", "hard", "harder"),
        ("high", "higher", "low", "lower"), ("rich", "richer", "poor", "poorer"),
    ],
    "verb-tense": [
        ("walk", "walked", "jump", "jumped"), ("go", "went", "see", "saw"),
        ("run", "ran", "swim", "swam"), ("eat", "ate", "drink", "drank"),
        ("write", "wrote", "speak", "spoke"), ("take", "took", "give", "gave"),
        ("play", "played", "work", "worked"), ("sing", "sang", "fly", "flew"),
        ("think", "thought", "buy", "bought"), ("come", "came", "find", "found"),
    ],
}
# fmt: on


def items() -> list[tuple[str, str, str, str, str]]:
    """(category, a, b, c, d) for every item."""
    return [(cat, *item) for cat, found in ANALOGIES.items() for item in found]


@dataclass(frozen=True)
class Accuracy:
    top1: float  # share of items whose answer d ranks first
    top5: float  # share of items whose answer d is among the five best
    by_category: dict[str, tuple[float, float]]  # category -> (top-1, top-5)
    answers: list[list[str]]  # each item's five best words


def evaluate(index, exclude_inputs: bool) -> Accuracy:
    """3CosAdd on unit vectors: query = b − a + c, neighbours by cosine, for every item at once.

    ``index`` is an ``encoding.WordIndex`` (words, unit, unit_norms, rows).
    """
    rows = [[index.rows[w] for w in item[1:]] for item in items()]  # (a, b, c, d) rows
    weights = torch.tensor([-1.0, 1.0, 1.0], device=index.unit.device)
    queries = torch.stack([combine(index.unit[r[:3]], weights) for r in rows])  # (Q, D)
    exclude = [r[:3] for r in rows] if exclude_inputs else None
    _, top = top_k(normalize(queries), index.unit, 5, "cosine", exclude, index.unit_norms)
    answers = [[index.words[i] for i in found] for found in top.tolist()]
    wanted = [item[4] for item in items()]
    hits = [(found[0] == d, d in found) for found, d in zip(answers, wanted, strict=True)]
    by_category = {}
    for cat in ANALOGIES:
        mine = [h for h, item in zip(hits, items(), strict=True) if item[0] == cat]
        by_category[cat] = (
            sum(h[0] for h in mine) / len(mine),
            sum(h[1] for h in mine) / len(mine),
        )
    return Accuracy(
        top1=sum(h[0] for h in hits) / len(hits),
        top5=sum(h[1] for h in hits) / len(hits),
        by_category=by_category,
        answers=answers,
    )
