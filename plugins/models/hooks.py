"""Forward hooks on shared models. A loaded model serves every visitor's requests at once (and
the background warm-up of the default views), so a hook that records must keep only the
forwards of the thread that installed it."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any


def this_thread(hook: Callable[..., Any]) -> Callable[..., None]:
    """``hook``, run only for forwards of the thread that calls this.

    It takes any arguments: torch copies a module's pre-hooks, then asks each whether it takes
    kwargs, so another thread's hook removed in between is called without them."""
    owner = threading.get_ident()

    @functools.wraps(hook)
    def mine(*args: Any) -> None:
        if threading.get_ident() == owner:
            hook(*args)

    return mine
