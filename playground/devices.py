"""The one place that decides where tensors live: cuda, mps or cpu.

The choice is made once per process (``--device`` or ``PLAYGROUND_DEVICE``, else the best
available) and every concept asks here, passing the devices its own code supports.
torch is imported only when a device is actually needed, so starting the app stays cheap.
"""

from __future__ import annotations

import os
from functools import cache

DEVICES = ("cuda", "mps", "cpu")  # best first
ENV_VAR = "PLAYGROUND_DEVICE"


@cache
def available() -> tuple[str, ...]:
    """The devices this machine has, best first."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    return (*found, "cpu")


def check(name: str) -> str:
    """Return ``name`` if it names a device this machine has, else raise ValueError."""
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}: choose one of {', '.join(DEVICES)}")
    if name not in available():
        raise ValueError(f"device {name!r} is not available here (have: {', '.join(available())})")
    return name


def preferred() -> str:
    """The device chosen for this process: ``PLAYGROUND_DEVICE`` if set, else the best one."""
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    return check(requested) if requested else available()[0]


def check_environment() -> None:
    """Raise ValueError now if ``PLAYGROUND_DEVICE`` names no device (imports torch only then)."""
    if os.environ.get(ENV_VAR, "").strip():
        preferred()


def set_preferred(name: str) -> None:
    """Choose the device for this process (and for the processes it starts)."""
    os.environ[ENV_VAR] = check(name)


def device(supported: tuple[str, ...] = DEVICES) -> str:
    """The device a concept runs on: the preferred one if the concept supports it, else cpu."""
    chosen = preferred()
    return chosen if chosen in supported else "cpu"
