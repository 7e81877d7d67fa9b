"""ML Playground: a pluggy host that composes concept plugins into one Gradio app."""

import pluggy

from playground.concept import Command, Concept, lazy
from playground.exercise import Answer, Exercise
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
]
