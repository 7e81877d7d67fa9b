"""seeding.seeded: a block's draws from the global generator follow its seed alone."""

from __future__ import annotations

import threading

import torch

from plugins.models import seeding
from plugins.models.seeding import seeded


def test_a_seeded_block_draws_its_seeds_numbers_and_holds_the_generator():
    expected = torch.randn(4, generator=torch.Generator().manual_seed(7))
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    held: list[bool] = []

    def another_job():  # another long job wanting to seed while this block draws
        got = seeding._GLOBAL.acquire(blocking=False)
        held.append(not got)
        if got:
            seeding._GLOBAL.release()

    with seeded(7):
        other = threading.Thread(target=another_job)
        other.start()
        other.join()
        drawn = torch.randn(4)
    assert held == [True]  # it could not seed in between
    torch.testing.assert_close(drawn, expected, atol=0, rtol=0)
    assert torch.equal(torch.random.get_rng_state(), before)  # the state before comes back
