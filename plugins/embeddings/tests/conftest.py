"""The real MiniLM and its real word index."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def device() -> str:
    from playground import devices

    return devices.device()  # what the tab uses, so its calls find the index built here


@pytest.fixture(scope="session")
def model(device):
    from playground.host import load
    from playground.models import REGISTRY

    load(only=["models"])  # fills the process registry, as the app does
    return REGISTRY.get("minilm", device)


@pytest.fixture(scope="session")
def word_index(model, device):
    """The ≥ 20 000-word index the tab uses, in the tests' cache (playground.pytest_plugin):
    built once per machine, shared with the servers the tests start."""
    from plugins.embeddings import encoding

    return encoding.shared_index(device)
