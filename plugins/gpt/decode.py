"""GPT-style generation, one token at a time: our own decode loops over a causal LM.

Every step answers one question: given all the tokens so far, what comes next? The model
returns logits for the next position; `sampling.pick` turns them into a token, which is
appended and fed back in. The key/value cache keeps each layer's keys and values of the tokens
already read, so a step feeds the model one new token instead of the whole sequence again:
per-step work stays flat instead of growing with the length.

The loops talk to a `Decoder`: our own forward (llama.py) for Llama-architecture models, and
the transformers forward with its own cache for every other causal LM.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from plugins.gpt import llama
from plugins.gpt.sampling import Settings, pick, process

NEG_INF = -1e9  # "this beam does not exist": finite, so adding log-probs to it stays finite


class Decoder(Protocol):
    def start(self, ids: Tensor) -> tuple[Tensor, Any]:
        """Read (B, T) tokens into a new cache: the next-token logits (B, V), and the cache."""

    def extend(self, ids: Tensor, cache: Any) -> Tensor:
        """Read more tokens after the cached ones; the next-token logits (B, V)."""

    def reorder(self, cache: Any, index: Tensor) -> None:
        """Row b of the batch continues from row index[b] (beam search)."""


class Library:
    """Any transformers causal LM, through its own forward and its own cache."""

    def __init__(self, model) -> None:
        self.model = model

    @torch.no_grad()
    def start(self, ids: Tensor) -> tuple[Tensor, Any]:
        out = self.model(input_ids=ids, use_cache=True)
        return out.logits[:, -1].float(), out.cache

    @torch.no_grad()
    def extend(self, ids: Tensor, cache: Any) -> Tensor:
        return self.model(input_ids=ids, cache=cache, use_cache=True).logits[:, -1].float()

    @staticmethod
    def reorder(cache: Any, index: Tensor) -> None:
        cache.reorder_cache(index)


def decoder(model) -> Decoder:
    return llama.Llama(model) if llama.supports(model) else Library(model)


@dataclass(frozen=True)
class Step:
    token: int  # the token chosen
    logits: Tensor  # (V,) the model's raw next-token logits before it was chosen
    prob: float  # its probability under the settings it was chosen with
    rank: int  # 1 = the model's most likely token


def rank_of(logits: Tensor, token: int) -> int:
    return int((logits > logits[token]).sum()) + 1


def steps(
    model,
    input_ids: Tensor,
    settings: Settings,
    new_tokens: int,
    generator: torch.Generator | None = None,
    eos_id: int | None = None,
    use_cache: bool = True,
) -> Iterator[Step]:
    """Yield each new token of one sequence (batch 1) with what the model saw when choosing it.

    Stops early after ``eos_id``. Without the cache every step re-reads the whole sequence,
    which gives the same tokens, slower: that is the point of the KV-cache switch.
    """
    dec = decoder(model)
    logits, cache = dec.start(input_ids)
    ids = input_ids
    for _ in range(new_tokens):
        token = pick(logits, settings, generator)  # (1,)
        raw = logits[0]
        prob = process(logits, settings).softmax(-1)[0, token].item()
        yield Step(int(token), raw, prob, rank_of(raw, int(token)))
        if eos_id is not None and int(token) == eos_id:
            return
        ids = torch.cat([ids, token[:, None]], dim=1)
        logits = dec.extend(token[:, None], cache) if use_cache else dec.start(ids)[0]


def greedy(model, input_ids: Tensor, new_tokens: int) -> Tensor:
    """Append the most likely next token ``new_tokens`` times, reusing the key/value cache.

    The lean loop: no records, no early stop, any batch size. (B, T) -> (B, T + new_tokens).
    """
    dec = decoder(model)
    logits, cache = dec.start(input_ids)
    tokens = [input_ids]
    for _ in range(new_tokens):
        next_id = logits.argmax(-1, keepdim=True)  # (B, 1)
        tokens.append(next_id)
        logits = dec.extend(next_id, cache)
    return torch.cat(tokens, dim=1)


@dataclass(frozen=True)
class Beam:
    tokens: list[int]  # the generated tokens (without the prompt)
    score: float  # sum of log-probabilities / (length ** length_penalty)


def beam_search(
    model,
    input_ids: Tensor,
    beams: int,
    new_tokens: int,
    eos_id: int | None = None,
    length_penalty: float = 1.0,
) -> list[Beam]:
    """Keep the ``beams`` best partial sequences by total log-probability; return the finished
    ones, best first.

    Each step scores every (beam, next token) pair, keeps the 2·beams best candidates (so that
    enough survive when some end), moves those that end (EOS, or the last step) among the top
    ``beams`` to the finished list with their length-normalised score, and continues the best
    ``beams`` that did not. The search stops when no running beam can beat the worst finished
    one. These are transformers' default rules (early_stopping=False), so the tokens agree.
    """
    dec = decoder(model)
    logits, cache = dec.start(input_ids.repeat(beams, 1))  # every beam starts as the prompt
    running: list[list[int]] = [[] for _ in range(beams)]
    scores = torch.full((beams,), NEG_INF, device=input_ids.device)
    scores[0] = 0.0  # one live beam at first, or all of them would pick the same tokens
    finished: list[Beam] = []
    can_improve = True
    for length in range(1, new_tokens + 1):
        vocab = logits.shape[-1]
        totals = (logits.log_softmax(-1) + scores[:, None]).view(-1)  # (beams · V,)
        top, flat = totals.topk(2 * beams)
        origin, token = flat // vocab, flat % vocab
        ends = token == eos_id if eos_id is not None else torch.zeros_like(token, dtype=bool)
        ends |= length == new_tokens
        if can_improve:
            for i in range(beams):  # only the top `beams` candidates may finish
                if ends[i]:
                    seq = [*running[origin[i]], int(token[i])]
                    finished.append(Beam(seq, top[i].item() / length**length_penalty))
            finished = sorted(finished, key=lambda b: -b.score)[:beams]
        alive = top + ends.float() * NEG_INF
        keep = alive.topk(beams).indices
        running = [[*running[origin[i]], int(token[i])] for i in keep]
        scores = alive[keep]
        if len(finished) == beams:  # full: can any running beam still do better?
            best_running = scores.max().item() / length**length_penalty
            can_improve = best_running > finished[-1].score
        if not can_improve or bool(ends.all()):
            break
        dec.reorder(cache, origin[keep])
        logits = dec.extend(token[keep][:, None], cache)
    return finished


@torch.no_grad()
def next_token_logits(model, ids: Tensor) -> Tensor:
    """(T, V): row t is the model's logits for the token after position t, in one forward."""
    return model(input_ids=ids, use_cache=False).logits[0].float()


def sequence_logprob(logits: Tensor, tokens: list[int]) -> list[float]:
    """log p of each token under the model's raw distribution, given rows of next-token logits."""
    logp = logits.log_softmax(-1)
    return [logp[i, t].item() for i, t in enumerate(tokens)]


def step_times(model, input_ids: Tensor, new_tokens: int, use_cache: bool) -> list[float]:
    """Milliseconds each greedy step takes (the first includes reading the prompt)."""
    times, last = [], time.perf_counter()
    for _ in steps(model, input_ids, Settings("greedy"), new_tokens, use_cache=use_cache):
        now = time.perf_counter()
        times.append((now - last) * 1000)
        last = now
    return times
