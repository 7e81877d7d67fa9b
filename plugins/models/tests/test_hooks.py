"""A hook made with hooks.this_thread records only the forwards of the thread that made it."""

from __future__ import annotations

import threading

import torch

from plugins.models.hooks import this_thread


def test_a_hook_keeps_only_its_own_threads_forwards_and_takes_any_arguments():
    layer = torch.nn.Linear(3, 2)
    seen: list[torch.Tensor] = []
    handle = layer.register_forward_hook(this_thread(lambda _m, _args, out: seen.append(out)))
    try:
        other = threading.Thread(target=layer, args=(torch.ones(1, 3),))
        other.start()
        other.join()
        assert seen == []  # another thread's forward
        mine = layer(torch.zeros(1, 3))
        assert len(seen) == 1 and seen[0] is mine
    finally:
        handle.remove()
    # Torch, in another thread, can call a kwargs pre-hook just removed without its kwargs.
    kwargs_hook = this_thread(lambda _m, _args, kwargs: seen.append(kwargs))
    failed: list[BaseException] = []
    other = threading.Thread(target=_calling, args=(kwargs_hook, (layer, ()), failed))
    other.start()
    other.join()
    assert failed == [] and len(seen) == 1


def _calling(hook, args, failed) -> None:
    try:
        hook(*args)
    except BaseException as exc:  # handed to the test's thread
        failed.append(exc)
