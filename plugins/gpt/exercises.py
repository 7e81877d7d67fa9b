"""Predict, then reveal: three exercises on next-token prediction, run on tiny-llama."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playground import lazy
from playground.exercise import Answer, Exercise

if TYPE_CHECKING:
    from playground.concept import Context

MODEL = "tiny-llama"
PROMPT = "The little dragon"  # an unsure next token: many survive
STORY = "She opened the door and saw"  # greedy and beam search part ways here
NEW_TOKENS = 16
SAME = ("Yes, the same tokens", "No, they differ")


def _model(context: Context):
    return context.model(MODEL)


def _ids(lm, text: str):
    import torch

    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    return torch.tensor([ids], device=lm.model.device)


def top_p_survivors(context: Context) -> Answer:
    from plugins.gpt import decode, sampling

    lm = _model(context)
    logits = decode.next_token_logits(lm.model, _ids(lm, PROMPT))[-1]
    kept = sampling.top_p_filter(logits[None], 0.9)[0] > float("-inf")
    probs = logits.softmax(-1)
    n, top = int(kept.sum()), float(probs.max())
    return Answer(
        n,
        f"The most likely next token has p = {top:.1%}; it takes the **{n}** most likely "
        f"tokens of {logits.shape[-1]:,} to gather 90% of the probability, so top-p 0.9 keeps "
        f"{n} and removes the rest. A confident model keeps few; an unsure one keeps many.",
        tolerance=0.25,
    )


def greedy_vs_beam(context: Context) -> Answer:
    from plugins.gpt import decode

    lm = _model(context)
    ids = _ids(lm, STORY)
    greedy = decode.greedy(lm.model, ids, NEW_TOKENS)[0, ids.shape[1] :].tolist()
    beam = decode.beam_search(lm.model, ids, 4, NEW_TOKENS)[0].tokens
    same = greedy == beam
    differ = next((i for i, (a, b) in enumerate(zip(greedy, beam, strict=False)) if a != b), None)
    text = lm.tokenizer.decode
    why = (
        "They agree: here the locally best token is also on the best path."
        if same
        else f"They part at token {differ + 1}: beam search keeps 4 partial sequences and "
        "picks the best whole continuation, which may start with a token greedy would not take."
    )
    return Answer(
        SAME[0] if same else SAME[1],
        f"Greedy: “{text(greedy)}”. Beam search (4 beams): “{text(beam)}”. {why}",
    )


def cache_changes_nothing(context: Context) -> Answer:
    from plugins.gpt import decode, sampling

    lm = _model(context)
    ids = _ids(lm, PROMPT)
    settings = sampling.Settings(strategy="greedy")
    runs = {
        cached: list(decode.steps(lm.model, ids, settings, NEW_TOKENS, use_cache=cached))
        for cached in (True, False)
    }
    tokens = {cached: [s.token for s in run] for cached, run in runs.items()}
    pairs = zip(runs[True], runs[False], strict=False)
    gap = max(float((a.logits - b.logits).abs().max()) for a, b in pairs)
    same = tokens[True] == tokens[False]
    return Answer(
        SAME[0] if same else SAME[1],
        f"With and without the KV cache the {NEW_TOKENS} greedy tokens are "
        f"{'identical' if same else 'different'}, and the logits at each step agree to "
        f"{gap:.0e}. The cache keeps each layer's keys and values, so a step feeds one token "
        "instead of re-reading the text: the same arithmetic in another order, only faster.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="gpt-top-p-survivors",
        concept="gpt",
        title="Who survives top-p 0.9?",
        question=f"Prompt “{PROMPT}”, tiny-llama's 4 096-token vocabulary. "
        "**How many candidate tokens does top-p 0.9 keep for the next token?**",
        solve=lazy("plugins.gpt.exercises:top_p_survivors"),
    ),
    Exercise(
        id="gpt-greedy-vs-beam",
        concept="gpt",
        title="Greedy or beam search?",
        question=f"Prompt “{STORY}”, {NEW_TOKENS} new tokens. **Do greedy decoding and beam "
        "search with 4 beams produce the same continuation?**",
        solve=lazy("plugins.gpt.exercises:greedy_vs_beam"),
        choices=SAME,
    ),
    Exercise(
        id="gpt-kv-cache",
        concept="gpt",
        title="Does the KV cache change the text?",
        question=f"Prompt “{PROMPT}”, {NEW_TOKENS} greedy tokens, once with the KV cache and "
        "once re-reading the whole text at every step. **Are the tokens the same?**",
        solve=lazy("plugins.gpt.exercises:cache_changes_nothing"),
        choices=SAME,
    ),
]
