"""ML Playground: a pluggy host that composes concept plugins into one Gradio app."""

import pluggy

from playground.concept import Command, Concept
from playground.exercise import Answer, Exercise
from playground.lazy import lazy, lazy_module
from playground.models import ModelSpec

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("playground")

__all__ = [
    "Answer",
    "Command",
    "Concept",
    "Exercise",
    "ModelSpec",
    "__version__",
    "hookimpl",
    "lazy",
    "lazy_module",
]
