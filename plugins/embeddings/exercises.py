"""Predict, then reveal: four exercises on MiniLM's vectors, each answered on the real model.

The analogies search the same whole-word index the tab searches (built once, then cached), with
our own top-k; the sentence one embeds the tab's default sentences.
"""

from __future__ import annotations

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

QUEEN_CHOICES = ("queen", "princess", "monarch", "king", "woman")
CAPITAL_CHOICES = ("rome", "florence", "milan", "venice", "naples")
INPUT_CHOICES = ("king", "woman", "queen", "man")
ANCHOR = "A cat sat on the mat."
SENTENCES = (
    "A kitten was sleeping on the rug.",
    "The stock market fell sharply today.",
    "Shares dropped as investors panicked.",
    "I love eating fresh pasta.",
)
SHOWN = 5  # neighbours the reveal lists


def _index(context: Context):
    from plugins.embeddings import encoding

    return encoding.shared_index(context)


def _search(
    context: Context, terms, exclude: bool, choices: tuple[str, ...]
) -> tuple[str, str, str]:
    """Σ weight · (unit vector of word), searched by cosine over the whole vocabulary: the
    best-ranked of the choices, the SHOWN nearest words and the choices' cosines, in words."""
    from plugins.embeddings.embeddings import similarity, top_k

    index = _index(context)
    rows = [index.rows[word] for _, word in terms]
    query = sum(weight * index.unit[row] for (weight, _), row in zip(terms, rows, strict=True))
    banned = [rows] if exclude else None
    scores, found = top_k(query, index.unit, SHOWN, "cosine", banned, index.unit_norms)
    pairs = zip(found[0].tolist(), scores[0].tolist(), strict=True)
    listed = ", ".join(f"{index.words[r]} ({s:.3f})" for r, s in pairs)
    candidates = index.unit[[index.rows[c] for c in choices]]
    cosines = similarity(query, candidates, "cosine")[0].tolist()
    allowed = [c for c in choices if not (exclude and index.rows[c] in rows)]
    best = max(allowed, key=lambda c: cosines[choices.index(c)])
    scored = ", ".join(
        f"{c} {'(an input, excluded)' if c not in allowed else f'{cosine:.3f}'}"
        for c, cosine in zip(choices, cosines, strict=True)
    )
    return best, listed, scored


def queen(context: Context) -> Answer:
    terms = [(1, "king"), (-1, "man"), (1, "woman")]
    best, listed, _ = _search(context, terms, True, QUEEN_CHOICES)
    return Answer(
        best,
        f"With the inputs excluded, the {SHOWN} nearest of {len(_index(context).words):,} words by "
        f"cosine are {listed}. The offset woman − man moves king along a direction the "
        "model learned for gender, but the scores are far from 1: the analogy lands *near* "
        "queen, not on it.",
    )


def italy(context: Context) -> Answer:
    terms = [(1, "paris"), (-1, "france"), (1, "italy")]
    best, listed, scored = _search(context, terms, True, CAPITAL_CHOICES)
    return Answer(
        best,
        f"The {SHOWN} nearest words by cosine: {listed}. The five cities score {scored}. "
        "MiniLM learned from sentence pairs, not from a table of capitals: the offset "
        "france → italy moves paris towards Italian cities in general, and *capital* is only "
        "one of the things paris stands for.",
    )


def inputs_allowed(context: Context) -> Answer:
    terms = [(1, "king"), (-1, "man"), (1, "woman")]
    best, listed, _ = _search(context, terms, False, INPUT_CHOICES)
    return Answer(
        best,
        f"Without the exclusion the {SHOWN} nearest are {listed}. The query is "
        "king + (woman − man): it still holds all of king and of woman, so an input word is "
        "its natural nearest neighbour. That is why analogy tests (Mikolov et al., 2013) "
        "exclude the inputs.",
    )


def closest_sentence(context: Context) -> Answer:
    from plugins.embeddings.embeddings import cos_sim
    from plugins.embeddings.encoding import MODEL_ID, encode_raw

    model = context.model(MODEL_ID)
    vectors = encode_raw(model, [ANCHOR, *SENTENCES])
    scores = cos_sim(vectors[:1], vectors[1:])[0].tolist()
    best = max(range(len(SENTENCES)), key=scores.__getitem__)
    listed = "; ".join(f"{s!r}: {c:.3f}" for s, c in zip(SENTENCES, scores, strict=True))
    return Answer(
        SENTENCES[best],
        f"Cosine with {ANCHOR!r}: {listed}. The kitten sentence shares only *a* and *on* "
        "with it: a sentence vector encodes what a sentence means (an animal resting on a "
        "floor covering), not which words it uses.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="embeddings-queen",
        concept="embeddings",
        title="king − man + woman",
        question="Search MiniLM's whole-word vocabulary by cosine for **king − man + woman**, "
        "with the three input words excluded. **Which of these words ranks highest?**",
        solve=lazy("plugins.embeddings.exercises:queen"),
        choices=QUEEN_CHOICES,
    ),
    Exercise(
        id="embeddings-italy",
        concept="embeddings",
        title="paris − france + italy",
        question="Same search for **paris − france + italy**, the inputs excluded. "
        "**Which of these Italian cities ranks highest?**",
        solve=lazy("plugins.embeddings.exercises:italy"),
        choices=CAPITAL_CHOICES,
    ),
    Exercise(
        id="embeddings-inputs-allowed",
        concept="embeddings",
        title="Let the inputs answer",
        question="Untick *Exclude the input words* and search **king − man + woman** again. "
        "**Which of these ranks highest now?**",
        solve=lazy("plugins.embeddings.exercises:inputs_allowed"),
        choices=INPUT_CHOICES,
    ),
    Exercise(
        id="embeddings-closest-sentence",
        concept="embeddings",
        title="The closest sentence",
        question=f"Embed **{ANCHOR!r}** and the four sentences below with MiniLM. "
        "**Which one has the highest cosine with it?**",
        solve=lazy("plugins.embeddings.exercises:closest_sentence"),
        choices=SENTENCES,
    ),
]
