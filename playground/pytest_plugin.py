"""A pytest plugin (loaded through the `pytest11` entry point) for any plugin's test suite:
tests run offline and keep their caches out of the user's, and the ``gpu`` marker skips its
tests where no CUDA device is available."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from playground.quiet import WARNINGS, quiet

# One folder for every test run on this machine: an index built once is reused by later runs
# and by the servers the tests start (they inherit the environment), never ~/.cache.
TEST_CACHE = Path(tempfile.gettempdir()) / "ml-playground-tests"


def pytest_configure(config: pytest.Config) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may download in a test
    os.environ.setdefault("PLAYGROUND_CACHE", str(TEST_CACHE))
    config.addinivalue_line("markers", "gpu: needs a CUDA device (skipped without one)")
    quiet()  # the library notices a server silences stay out of the tests' output too
    for message, category, module in WARNINGS:  # pytest sets its filters anew for each test
        config.addinivalue_line(
            "filterwarnings", f"ignore:{re.escape(message)}:{category.__name__}:{module}"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_tests:
            item.add_marker(skip)
