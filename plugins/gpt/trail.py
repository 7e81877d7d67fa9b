"""One learner's path through generation: the tokens so far, the cache, and how each was picked.

The tab keeps one `Trail` per browser session (in gr.State). It holds only what the next step
needs (the key/value cache and the current next-token logits); the distribution at an earlier
position is recomputed by one forward pass when the learner clicks it, so a session never
stores a vocabulary-sized row per token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from plugins.gpt.decode import Decoder, beam_search, decoder, rank_of
from plugins.gpt.sampling import Settings, pick, process


@dataclass(frozen=True)
class Choice:
    prob: float  # probability of the token under the settings it was picked with
    rank: int  # 1 = the model's most likely token at that position
    how: str  # "sample, T=0.8", "greedy", "beam search, 4 beams", "by hand"


@dataclass
class Trail:
    model_id: str
    model: Any = field(repr=False)  # the registry's model; `dec` runs it
    dec: Decoder = field(repr=False)
    ids: list[int]  # prompt + generated tokens
    prompt_len: int
    seed: int
    logits: Tensor = field(repr=False)  # (V,) the model's logits for the next token
    cache: Any = field(default=None, repr=False)  # None: the next step re-reads everything
    choices: dict[int, Choice] = field(default_factory=dict)  # position -> how it was picked
    generator: torch.Generator = field(default=None, repr=False)
    step_ms: list[tuple[float, bool]] = field(default_factory=list)  # (ms/token, cache on)

    def __post_init__(self) -> None:
        if self.generator is None:
            self.generator = torch.Generator(self.logits.device).manual_seed(self.seed)

    @property
    def device(self) -> torch.device:
        return self.logits.device

    def _read(self, use_cache: bool) -> None:
        """Recompute the next-token logits from the whole sequence (keeping the cache if asked)."""
        logits, cache = self.dec.start(torch.tensor([self.ids], device=self.device))
        self.logits, self.cache = logits[0], cache if use_cache else None

    def append(self, token: int, choice: Choice, use_cache: bool) -> None:
        """Add one token and read the model's next-token logits after it."""
        start = time.perf_counter()
        self.choices[len(self.ids)] = choice
        self.ids.append(token)
        if use_cache and self.cache is not None:  # feed only the new token
            self.logits = self.dec.extend(torch.tensor([[token]], device=self.device), self.cache)[
                0
            ]
        else:
            self._read(use_cache)
        self.step_ms.append(((time.perf_counter() - start) * 1000, use_cache))

    def step(self, settings: Settings, use_cache: bool) -> None:
        token = int(pick(self.logits[None], settings, self.generator)[0])
        prob = process(self.logits, settings).softmax(-1)[token].item()
        self.append(token, self._choice(token, prob, settings.describe()), use_cache)

    def beam(self, settings: Settings, new_tokens: int, eos_id: int | None, use_cache: bool):
        """Extend by the best of a beam search over the next ``new_tokens`` tokens."""
        ids = torch.tensor([self.ids], device=self.device)
        best = beam_search(self.model, ids, settings.beams, new_tokens, eos_id)[0]
        for token in best.tokens:
            prob = self.logits.softmax(-1)[token].item()
            self.append(token, self._choice(token, prob, settings.describe()), use_cache)

    def choose(self, token: int, use_cache: bool) -> None:
        """Append a token the learner picked by hand."""
        self.append(
            token, self._choice(token, self.logits.softmax(-1)[token].item(), "by hand"), use_cache
        )

    def _choice(self, token: int, prob: float, how: str) -> Choice:
        return Choice(prob, rank_of(self.logits, token), how)

    def rewind(self, position: int) -> None:
        """Drop the token at ``position`` and everything after it; the prompt stays."""
        position = max(position, self.prompt_len)
        del self.ids[position:]
        self.choices = {p: c for p, c in self.choices.items() if p < position}
        self.cache = None  # rebuilt from the kept tokens: cheaper than cropping every layer
        self._read(use_cache=True)

    def logits_at(self, position: int) -> Tensor:
        """(V,) the logits the model had when it chose the token at ``position``."""
        if position >= len(self.ids):
            return self.logits
        return self.dec.start(torch.tensor([self.ids[:position]], device=self.device))[0][0]

    @property
    def generated(self) -> list[int]:
        return self.ids[self.prompt_len :]


def start(model_id: str, model: Any, ids: list[int], seed: int) -> Trail:
    """A fresh trail for a prompt: one forward pass fills the cache and the first logits."""
    dec = decoder(model)
    logits, cache = dec.start(torch.tensor([ids], device=model.device))
    return Trail(model_id, model, dec, list(ids), len(ids), seed, logits[0], cache)
