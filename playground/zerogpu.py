"""ZeroGPU: a Hugging Face Space whose GPU is lent per call.

On ZeroGPU hardware CUDA exists only inside functions decorated with the `spaces` package's
``@spaces.GPU``: each call is scheduled onto a GPU for at most its ``duration`` and runs in a
forked worker. The host applies the decorator from each concept's ``gpu`` field
(``{api_name: seconds}``), so no plugin imports `spaces` or behaves differently on a Space.
The named endpoint selects a *function*: every event running that function is wrapped, the
private UI events included, because every one of them touches the device.

Off ZeroGPU (no ``SPACES_ZERO_GPU``, or no `spaces` package) nothing is wrapped. The names are
checked everywhere, so a typo in ``gpu`` fails on a laptop rather than first on a Space.
References: https://huggingface.co/docs/hub/spaces-zerogpu
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr

    from playground.concept import Concept

ENV_VAR = "SPACES_ZERO_GPU"  # set by the Hub on ZeroGPU hardware


def on_zerogpu() -> bool:
    """Whether this process runs on ZeroGPU hardware (read as the `spaces` package reads it)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "t", "true")


def prepare() -> None:
    """Import `spaces` first on ZeroGPU: it patches torch and refuses to load once CUDA is up."""
    decorator()


def decorator() -> Callable[..., Any] | None:
    """``spaces.GPU`` where the app runs on ZeroGPU and `spaces` is importable, else None."""
    if not on_zerogpu():
        return None
    try:
        import spaces
    except ImportError:
        gpu = None
    else:
        # Without the package, this repository's own spaces/ folder imports as an empty namespace.
        gpu = getattr(spaces, "GPU", None)
    if gpu is None:
        warnings.warn(
            f"{ENV_VAR} is set but the `spaces` package is missing: nothing gets a GPU "
            "(pip install spaces)",
            RuntimeWarning,
            stacklevel=2,
        )
    return gpu


def targets(concept: Concept, blocks: gr.Blocks) -> dict[Callable[..., Any], int]:
    """The functions behind the endpoints ``concept.gpu`` names, each with its duration.

    Raises ValueError for a name that is not one of the concept's endpoints.
    """
    by_name = {fn.api_name: fn.fn for fn in blocks.fns.values() if fn.api_name and fn.fn}
    found: dict[Callable[..., Any], int] = {}
    for api_name, seconds in concept.gpu.items():
        if api_name not in by_name:
            have = ", ".join(sorted(str(n) for n in by_name if str(n).startswith(concept.id)))
            raise ValueError(f"gpu names {api_name!r}, which is not an endpoint (have: {have})")
        fn = by_name[api_name]
        found[fn] = max(seconds, found.get(fn, 0))  # two names, one function: the longer wins
    return found


def wrap(concept: Concept, blocks: gr.Blocks) -> None:
    """Check the concept's ``gpu`` names (ValueError if one is not an endpoint); on ZeroGPU,
    wrap the functions they name with ``spaces.GPU``. The host calls this while building."""
    durations = targets(concept, blocks)
    gpu = decorator() if durations else None
    if gpu is None:
        return
    wrapped = {fn: gpu(fn, duration=seconds) for fn, seconds in durations.items()}
    for block_fn in blocks.fns.values():
        if block_fn.fn in wrapped:
            block_fn.fn = wrapped[block_fn.fn]
