"""What the GPT tab shows, from a decode trail and checked settings: the token strip, the
candidates, the path, the summary, and the draws, KV-cache and side-by-side panels.

No gradio here; views.py checks the inputs and reaches this module at first use, so opening the
app does not import torch.
"""

from __future__ import annotations

import statistics

import torch

from plugins.gpt import decode, figures, sampling
from plugins.models.text import readable


def piece(tokenizer, token: int) -> str:
    """A token as text with its whitespace visible: subwords often start with a space."""
    text = readable(tokenizer.decode([token]))
    return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


def label(tokenizer, token: int) -> str:
    return f"{piece(tokenizer, token)} ({token})"


def strip(trail, tokenizer) -> list[tuple[str, str]]:
    """(text, "id" or "id · probability when generated") for every token of the trail."""
    spans = []
    for i, token in enumerate(trail.ids):
        choice = trail.choices.get(i)
        tag = f"{token}" if choice is None else f"{token} · {choice.prob:.0%}"
        spans.append((piece(tokenizer, token), tag))
    return spans


def candidates(logits, settings, tokenizer, chosen: int | None, top_n: int):
    """(top token ids, model probabilities, probabilities after the settings, table rows)."""
    raw = logits.softmax(-1)
    kept = sampling.process(logits[None], settings)[0].softmax(-1)
    top = raw.topk(min(top_n, raw.shape[-1])).indices.tolist()
    if chosen is not None and chosen not in top:
        top[-1] = chosen  # the picked token is always on screen, even if it was a long shot
    rows = [
        [
            decode.rank_of(logits, t),
            piece(tokenizer, t),
            t,
            round(logits[t].item(), 3),
            f"{raw[t].item():.2%}",
            f"{kept[t].item():.2%}",
            "kept" if kept[t] > 0 else "removed",
        ]
        for t in top
    ]
    return top, raw, kept, rows


def bars(tokenizer, top: list[int], raw, kept, position: int, chosen: int | None):
    """The candidates' probabilities before and after the settings, the chosen one marked."""
    title = (
        "Next-token distribution"
        if chosen is None
        else f"At position {position} the model chose {piece(tokenizer, chosen)!r}"
    )
    return figures.distribution(
        [label(tokenizer, t) for t in top],
        [raw[t].item() for t in top],
        [kept[t].item() for t in top],
        top.index(chosen) if chosen is not None else None,
        title,
    )


def summary(trail, logits, kept, position: int, settings, notice: str) -> str:
    kept_n = int((kept > 0).sum())
    raw = logits.softmax(-1)
    entropy = float(sampling.entropy(logits))
    mass = float(raw[kept > 0].sum())
    where = (
        "the next token"
        if position >= len(trail.ids)
        else f"position {position} (when the model chose it)"
    )
    timing = ""
    if trail.step_ms:
        ms, cached = trail.step_ms[-1]
        timing = f" · last step **{ms:.1f} ms** ({'KV cache' if cached else 'no cache'})"
    lines = [
        f"**{len(trail.ids)} tokens** ({trail.prompt_len} prompt, {len(trail.generated)} "
        f"generated) · showing {where} · entropy **{entropy:.2f} nats**{timing}",
    ]
    if settings.strategy == "sample":
        lines.append(
            f"**{settings.describe()}** keeps **{kept_n:,}** of {raw.shape[-1]:,} tokens, "
            f"holding {mass:.1%} of the model's probability; those are renormalised to sum to 1."
        )
    else:  # nothing is drawn: temperature, top-k, top-p and min-p have nothing to act on
        lines.append(
            f"**{settings.describe()}** takes the most likely token (p = {float(raw.max()):.1%}); "
            "nothing is drawn, so temperature, top-k, top-p and min-p change nothing."
        )
    if settings.strategy == "beam":
        lines.append(
            "Beam search looks ahead: **Run** keeps the best of the beams; **Step** is one "
            "greedy step."
        )
    return "\n\n".join([*lines, *([f"_{notice}_"] if notice else [])])


def path_rows(trail, tokenizer) -> list[list]:
    """How each generated token was picked: position, token, id, p, rank, how."""
    return [
        [i, piece(tokenizer, trail.ids[i]), trail.ids[i], f"{c.prob:.2%}", c.rank, c.how]
        for i, c in sorted(trail.choices.items())
    ]


def draws(trail, tokenizer, settings, position: int, n: int, top_n: int):
    """(figure, note): ``n`` seeded draws from the distribution at ``position`` against its
    exact probabilities."""
    logits = trail.logits_at(position)
    probs = sampling.process(logits[None], settings)[0].softmax(-1)
    if settings.strategy != "sample":  # greedy (and one step of a beam) take the argmax
        probs = torch.nn.functional.one_hot(logits.argmax(), logits.shape[-1]).float()
    counts = sampling.draw(probs, n, trail.seed)
    # only tokens that can be drawn: greedy's one-hot would add bars of zero
    top = probs.topk(min(top_n, int((probs > 0).sum()))).indices.tolist()
    tv = float(sampling.total_variation(counts.float() / n, probs))
    note = (
        f"{int(counts[top].sum()):,} of {n:,} draws landed on these {len(top)} tokens. "
        f"Total variation distance between the draws and the exact distribution: **{tv:.3f}** "
        f"(it shrinks like 1/√n as the number of draws n grows). Seed {trail.seed}."
    )
    exact = [probs[t].item() for t in top]
    labels = [label(tokenizer, t) for t in top]
    return figures.histogram(labels, exact, counts[top].tolist(), n), note


def cache_timing(trail, new_tokens: int):
    """(figure, note): milliseconds per greedy token from the trail's text, with and without
    the KV cache (the first token, which reads the whole text either way, left out)."""
    ids = torch.tensor([trail.ids], device=trail.device)
    cached = decode.step_times(trail.model, ids, new_tokens, use_cache=True)[1:]
    uncached = decode.step_times(trail.model, ids, new_tokens, use_cache=False)[1:]
    a, b = statistics.median_high(cached), statistics.median_high(uncached)
    note = (
        f"Median per token over {len(cached)} greedy tokens after the first: "
        f"**{a:.2f} ms with the KV cache**, **{b:.2f} ms without** ({b / a:.1f}× slower). "
        "Without the cache each step runs the model over the whole text again, so its cost grows "
        "with the length; with it, a step feeds one token and reuses every earlier key and value."
    )
    return figures.step_times(cached, uncached, len(trail.ids) + 1), note


def continuations(lm, ids: list[int], settings: list, n: int, seed: int) -> list[list]:
    """One row per setting: its continuation of ``ids``, its length, mean log p under the
    model, distinct-1 and distinct-2 (every sampled row from the same seed)."""
    prompt_ids = torch.tensor([ids], device=lm.model.device)
    eos = lm.tokenizer.eos_token_id
    table = []
    for s in settings:
        if s.strategy == "beam":
            tokens = decode.beam_search(lm.model, prompt_ids, s.beams, n, eos)[0].tokens
        else:
            gen = torch.Generator(lm.model.device).manual_seed(seed)
            tokens = [st.token for st in decode.steps(lm.model, prompt_ids, s, n, gen, eos)]
        full = torch.tensor([ids + tokens], device=lm.model.device)
        logits = decode.next_token_logits(lm.model, full)[len(ids) - 1 : -1]
        logp = decode.sequence_logprob(logits, tokens)
        table.append(
            [
                s.describe(),
                readable(lm.tokenizer.decode(tokens)),
                len(tokens),
                round(sum(logp) / len(logp), 3),
                round(sampling.distinct_n(tokens, 1), 3),
                round(sampling.distinct_n(tokens, 2), 3),
            ]
        )
    return table
