"""Seeded draws from torch's global generator, one block at a time in the whole process.

Some libraries draw only from the global generator (peft's LoRA init, dropout, a module's
``reset_parameters``). Two long jobs run at once (playground.lanes), so a job's "seed, then
draw" must hold the generator for itself: otherwise another job's seed or draws land between,
and the same settings give other numbers than on screen and in the exported script.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_GLOBAL = threading.RLock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """The global generator seeded with ``seed`` for this block and held by it; its state
    before the block comes back after."""
    with _GLOBAL, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
