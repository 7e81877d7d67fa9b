"""The records a plugin registers (a Concept for each tab, a Command for each CLI command),
and the Context the host hands to what they run."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from playground import devices

if TYPE_CHECKING:
    import gradio as gr

    from playground.bench import BenchCase, Measure
    from playground.models import ModelRegistry

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")

# Where a concept sits on the home page's map: ML ⊃ deep learning ⊃ LLMs.
Area = Literal["ml", "deep-learning", "llm"]
AREAS: dict[str, str] = {
    "ml": "Machine learning",
    "deep-learning": "Deep learning",
    "llm": "Large language models",
}


@dataclass(frozen=True)
class Context:
    """What the host hands a concept's build, bench and exercises, and a plugin's commands:
    the models every plugin registered, and the devices the concept's torch code supports.
    Nothing in a plugin reads a process-wide registry, so a test passes in its own."""

    models: ModelRegistry
    supported: tuple[str, ...] = devices.DEVICES

    def device(self) -> str:
        """Where to compute now. Asked per call, not at build: finding out imports torch."""
        return devices.device(self.supported)

    def model(self, model_id: str) -> Any:
        """A registered model, loaded on first use onto `device()` (see ModelRegistry.get)."""
        return self.models.get(model_id, self.device())

    def bind(self, view: Callable) -> Callable:
        """``view`` with this context as its first argument, as an event handler: it keeps the
        view's name and docstring (Gradio's API page shows them) but not ``__wrapped__``,
        which would hand Gradio the view's own signature, context and all."""
        handler = functools.partial(view, self)
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(handler, name, getattr(view, name, None))
        return handler


@dataclass(frozen=True)
class Concept:
    id: str  # slug: tab id, elem_id, and the prefix of every API endpoint ("<id>_<verb>")
    title: str  # the tab's label
    summary: str  # one sentence for the home page's concept map
    build: Callable[[Context], gr.Blocks]  # builds the tab; must not download or load models
    order: int = 100  # tabs are sorted by (order, title)
    area: Area = "deep-learning"  # the innermost circle of the map the concept belongs to
    devices: tuple[str, ...] = ("cuda", "mps", "cpu")  # devices its torch code can run on
    preload: tuple[str, ...] = ()  # modules the host imports in the background once serving
    bench: Callable[[Context], list[BenchCase | Measure]] | None = None  # run on ctx.device()
    # ZeroGPU: endpoint api_name -> seconds one call may hold a GPU. On a ZeroGPU Space the
    # host wraps that endpoint's function, in every event that runs it, with spaces.GPU;
    # elsewhere it is left alone. Name only what touches the device: each call costs quota.
    gpu: dict[str, int] = field(default_factory=dict, hash=False)
    # Whether the tab's first view at given settings is the same for every visitor: the host
    # then computes it once per process and serves it from memory (playground/opening.py).
    shared_view: bool = True
    # Endpoints that are long jobs (training runs, 1 000-step samplers): the host runs them,
    # in every event that calls them, in a few process-wide slots, one per visitor at a time.
    long: tuple[str, ...] = ()
    # How many of its other events may run at once. Raise it only where they share nothing
    # mutable (eval-mode models under no_grad, a generator per request), and say why.
    parallel: int = 1
    # Cheap arguments for the contract's calls "at the defaults" where the defaults are long
    # work (a 150-step training run): endpoint api_name -> {input label: value}. The app never
    # reads it; `playground.testing` uses it in every call it makes to that endpoint.
    quick: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)
    plugin: str = field(default="", compare=False)  # filled in by the host: who registered it

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise ValueError(
                f"concept id {self.id!r} must be a slug: a lowercase letter, then 1-31 of "
                "lowercase letters, digits or underscores"
            )
        if self.area not in AREAS:
            raise ValueError(f"concept area {self.area!r} must be one of {', '.join(AREAS)}")
        if not self.title.strip() or not self.summary.strip():
            raise ValueError(f"concept {self.id!r} needs a title and a one-sentence summary")
        if not callable(self.build):
            raise TypeError(f"concept {self.id!r}: build must be a callable returning gr.Blocks")
        if (
            isinstance(self.parallel, bool)
            or not isinstance(self.parallel, int)
            or (self.parallel < 1)
        ):
            raise ValueError(f"concept {self.id!r}: parallel must be a whole number ≥ 1")
        for api_name in (*self.quick, *self.long):
            if not str(api_name).startswith(f"{self.id}_"):
                raise ValueError(
                    f"concept {self.id!r}: quick/long name {api_name!r}, not one of its endpoints "
                    f"('{self.id}_<verb>')"
                )
        for api_name, seconds in self.gpu.items():
            if not str(api_name).startswith(f"{self.id}_"):
                raise ValueError(
                    f"concept {self.id!r}: gpu names {api_name!r}, not one of its endpoints "
                    f"('{self.id}_<verb>')"
                )
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
                raise ValueError(
                    f"concept {self.id!r}: gpu[{api_name!r}] must be a whole number of seconds "
                    f"above 0, not {seconds!r}"
                )


COMMAND_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,31}$")


@dataclass(frozen=True)
class Command:
    name: str  # `playground <name> ...`: lowercase letters, digits and hyphens
    help: str  # one line for `playground --help`
    # (context, the arguments after the name) -> exit status; use lazy()
    main: Callable[[Context, list[str]], int]
    plugin: str = field(default="", compare=False)  # filled in by the host

    def __post_init__(self) -> None:
        if not COMMAND_PATTERN.match(self.name):
            raise ValueError(f"command name {self.name!r} must be lowercase words and hyphens")
        if not self.help.strip() or not callable(self.main):
            raise ValueError(f"command {self.name!r} needs a help line and a callable main")
