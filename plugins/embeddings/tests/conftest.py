"""The real MiniLM and its real word index."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def device() -> str:
    from playground import testing

    return testing.context().device()  # what the tab uses, so its calls find the index built here


@pytest.fixture(scope="session")
def model(device):
    from playground import testing

    return testing.context().models.get("minilm", device)  # the registry the tab's calls use


@pytest.fixture(scope="session")
def word_index(model, device):
    """The ≥ 20 000-word index the tab uses, in the tests' cache (playground.pytest_plugin):
    built once per machine, shared with the servers the tests start."""
    from playground import testing
    from plugins.embeddings import encoding

    return encoding.shared_index(testing.context())  # on `device`
