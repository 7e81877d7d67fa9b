"""The plugin contract: every hook a concept plugin may implement.

Hooks hand the plugin a ``register`` callback instead of asking for return values, so the
host decides where things are stored and always knows which plugin registered what.
Each hook is documented in the README under a heading that is its signature.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from playground.concept import Command, Concept
    from playground.exercise import Exercise
    from playground.models import ModelSpec

hookspec = pluggy.HookspecMarker("playground")


@hookspec
def register_concepts(register: Callable[[Concept], None]) -> None:
    """Call ``register(Concept(...))`` once for each concept (one tab) the plugin provides."""


@hookspec
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Call ``register(ModelSpec(...))`` for each model that concepts may load by id."""


@hookspec
def register_exercises(register: Callable[[Exercise], None]) -> None:
    """Call ``register(Exercise(...))`` for each predict-then-reveal exercise, for any concept."""


@hookspec
def register_commands(register: Callable[[Command], None]) -> None:
    """Call ``register(Command(...))`` for each `playground <name>` command the plugin adds."""
