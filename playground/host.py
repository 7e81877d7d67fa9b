"""Discovery, validation and isolation of concept plugins.

A plugin can break in four places, and each costs only that plugin, never the app:
  1. import      — loading its entry point raises
  2. validation  — pluggy rejects its hook implementations (bad signature, misspelled hook)
  3. hook call   — one of its hooks raises, or registers something invalid
  4. build       — one of its concepts' ``build()`` raises or returns something unusable
Everything a plugin registered is kept only if its hook returned cleanly.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from playground import errors, hookspecs, lanes, unreadable, zerogpu
from playground.concept import Command, Concept, Context
from playground.exercise import Exercise
from playground.models import IMPORTING, ModelRegistry, ModelSpec

if TYPE_CHECKING:
    import gradio as gr

PROJECT = "playground"  # the pluggy project name and the entry-point group
ENV_LOAD_PLUGINS = "PLAYGROUND_LOAD_PLUGINS"  # comma-separated entry-point names to load

Stage = Literal["import", "validation", "hook call", "build"]


@dataclass
class PluginError:
    stage: Stage
    message: str  # one line a person can act on
    detail: str = ""  # the traceback, for the Plugins page's "details"


@dataclass
class PluginRecord:
    name: str  # entry-point name
    module: str  # what the entry point points at
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    errors: list[PluginError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, stage: Stage, exc: BaseException, context: str = "") -> None:
        message = f"{type(exc).__name__}: {exc}"
        self.errors.append(
            PluginError(stage, f"{context}{message}", "".join(traceback.format_exception(exc)))
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def discovered_entry_points(only: Iterable[str] | None = None) -> list[EntryPoint]:
    """Installed `playground` entry points, limited to ``only`` (or $PLAYGROUND_LOAD_PLUGINS)."""
    if only is None and os.environ.get(ENV_LOAD_PLUGINS):
        only = os.environ[ENV_LOAD_PLUGINS].split(",")
    found = sorted(entry_points(group=PROJECT), key=lambda ep: ep.name)
    if only is None:
        return found
    wanted = {name.strip() for name in only if name.strip()}
    unknown = wanted - {ep.name for ep in found}
    if unknown:
        known = ", ".join(ep.name for ep in found) or "none"
        raise ValueError(f"no such plugin: {', '.join(sorted(unknown))} (installed: {known})")
    return [ep for ep in found if ep.name in wanted]


class Host:
    """One plugin manager, the plugins it tried to load, and what they registered."""

    def __init__(self, registry: ModelRegistry | None = None) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.registry = registry if registry is not None else ModelRegistry()
        self.plugins: dict[str, PluginRecord] = {}
        self._concepts: dict[str, Concept] = {}
        self._exercises: dict[str, Exercise] = {}
        self.commands: dict[str, Command] = {}
        self.built: list[Concept] = []  # the concepts whose tab built, after build()

    # -- loading ------------------------------------------------------------------------

    def load(self, eps: Iterable[EntryPoint]) -> Host:
        for ep in eps:
            module = self._import(ep)
            if module is not None and self._validate(ep.name, module):
                self._call_hooks(ep.name)
        return self

    def add_module(self, name: str, module: ModuleType) -> Host:
        """Load a plugin from a module object (for tests and for `playground.testing`)."""
        self.plugins[name] = PluginRecord(name=name, module=module.__name__)
        if self._validate(name, module):
            self._call_hooks(name)
        return self

    def _import(self, ep: EntryPoint) -> ModuleType | None:
        dist = getattr(ep, "dist", None)
        record = PluginRecord(
            name=ep.name,
            module=ep.value,
            distribution=dist.name if dist else None,
            version=dist.version if dist else None,
        )
        self.plugins[ep.name] = record
        try:
            return ep.load()
        except Exception as exc:  # any failure in third-party code must not stop the app
            record.fail("import", exc)
            return None

    def _validate(self, name: str, module: ModuleType) -> bool:
        record = self.plugins[name]
        try:
            self.pm.register(module, name=name)
            self.pm.check_pending()  # rejects hooks that match no hookspec (typos)
        except Exception as exc:
            if self.pm.has_plugin(name):
                self.pm.unregister(name=name)
            record.fail("validation", exc)
            return False
        record.hooks = sorted(c.name for c in self.pm.get_hookcallers(module) or [])
        return True

    def _call_hooks(self, name: str) -> None:
        """Call each of one plugin's hooks on its own; keep what it registered only on success."""
        record = self.plugins[name]
        concepts: list[Concept] = []
        models: list[ModelSpec] = []
        exercises: list[Exercise] = []
        commands: list[Command] = []
        hooks = {
            "register_concepts": _collector(Concept, concepts, self._check_concept),
            "register_models": _collector(ModelSpec, models, self._check_model),
            "register_exercises": _collector(Exercise, exercises, self._check_exercise),
            "register_commands": _collector(Command, commands, self._check_command),
        }
        for hook_name, register in hooks.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                if impl.plugin_name != name:
                    continue
                try:
                    impl.function(**{arg: register for arg in impl.argnames})
                except Exception as exc:
                    record.fail("hook call", exc, f"{hook_name}: ")
                    return
        for concept in concepts:
            self._concepts[concept.id] = replace(concept, plugin=name)
            record.concepts.append(concept.id)
        for spec in models:
            self.registry.register(replace(spec, plugin=name))
            record.models.append(spec.id)
        for exercise in exercises:
            self._exercises[exercise.id] = replace(exercise, plugin=name)
            record.exercises.append(exercise.id)
        for command in commands:
            self.commands[command.name] = replace(command, plugin=name)
            record.commands.append(command.name)

    def _check_concept(self, concept: Concept, pending: list[Concept]) -> None:
        if concept.id in self._concepts or any(c.id == concept.id for c in pending):
            owner = self._concepts[concept.id].plugin if concept.id in self._concepts else "itself"
            raise ValueError(f"concept id {concept.id!r} is already registered by {owner}")

    def _check_model(self, spec: ModelSpec, pending: list[ModelSpec]) -> None:
        if any(s.id == spec.id for s in (*self.registry.specs(), *pending)):
            raise ValueError(f"model id {spec.id!r} is already registered")

    def _check_exercise(self, exercise: Exercise, pending: list[Exercise]) -> None:
        if exercise.id in self._exercises or any(e.id == exercise.id for e in pending):
            raise ValueError(f"exercise id {exercise.id!r} is already registered")

    def _check_command(self, command: Command, pending: list[Command]) -> None:
        if command.name in self.commands or any(c.name == command.name for c in pending):
            raise ValueError(f"command {command.name!r} is already registered")

    # -- what was loaded ----------------------------------------------------------------

    @property
    def concepts(self) -> list[Concept]:
        return sorted(self._concepts.values(), key=lambda c: (c.order, c.title))

    def context(self, concept: Concept | None = None) -> Context:
        """What a concept's build, bench and exercises receive (a command: with no concept)."""
        if concept is None:
            return Context(self.registry)
        return Context(self.registry, concept.devices)

    def build(self) -> list[tuple[Concept, gr.Blocks]]:
        """Build every concept on its own, before the host's Blocks exist; drop those that fail."""
        unreadable.guard()
        built = []
        for concept in self.concepts:
            try:
                blocks = concept.build(self.context(concept))
                check_endpoints(concept.id, blocks)
                zerogpu.wrap(concept, blocks)  # checks the gpu names everywhere, wraps on ZeroGPU
                lanes.apply(concept, blocks)
                errors.wrap(blocks, concept.title)  # outermost: whatever fails gets a message
            except Exception as exc:
                self.plugins[concept.plugin].fail("build", exc, f"concept {concept.id!r}: ")
                continue
            built.append((concept, blocks))
        self.built = [concept for concept, _ in built]
        ids = set(self._concepts)  # a concept that failed to build has its error already
        for exercise in self._exercises.values():
            if exercise.concept not in ids:
                self.plugins[exercise.plugin].errors.append(
                    PluginError(
                        "build",
                        f"exercise {exercise.id!r}: there is no concept "
                        f"{exercise.concept!r} (loaded: {', '.join(sorted(ids))})",
                    )
                )
        return built

    def exercises(self, concept_id: str | None = None) -> list[Exercise]:
        """The exercises registered (for one concept, if named), in registration order."""
        return [e for e in self._exercises.values() if concept_id in (None, e.concept)]

    def preload(self, concepts: Iterable[Concept]) -> threading.Thread:
        """Import the concepts' heavy modules in the background, so first use is quick."""

        def work() -> None:
            for concept in concepts:
                for module in concept.preload:
                    # A module that fails here fails again, with a message, in the event using it.
                    with IMPORTING, contextlib.suppress(Exception):
                        importlib.import_module(module)

        thread = threading.Thread(target=work, name="playground-preload", daemon=True)
        thread.start()
        return thread


def check_endpoints(concept_id: str, blocks: Any) -> None:
    """Raise unless ``blocks`` is a gr.Blocks whose public endpoints are all ``<id>_<verb>``."""
    import gradio as gr

    if not isinstance(blocks, gr.Blocks):
        raise TypeError(f"build() must return a gr.Blocks, not {type(blocks).__name__}")
    for fn in blocks.fns.values():
        if fn.api_visibility == "private" or not fn.api_name:
            continue
        if not str(fn.api_name).startswith(f"{concept_id}_"):
            raise ValueError(
                f"endpoint {fn.api_name!r} must be named '{concept_id}_<verb>' "
                "(endpoints of merged tabs are renamed silently on clashes otherwise)"
            )


def _collector(kind: type, bucket: list, check: Callable[[Any, list], None]) -> Callable:
    """The ``register`` callback handed to a hook: type-check, validate, then keep."""

    def register(item: Any) -> None:
        if not isinstance(item, kind):
            raise TypeError(f"register() takes a {kind.__name__}, not {item!r}")
        check(item, bucket)
        bucket.append(item)

    return register


def load(only: Iterable[str] | None = None, registry: ModelRegistry | None = None) -> Host:
    """A host with every installed plugin (or just ``only``) loaded into ``registry``, by
    default a new one."""
    return Host(registry).load(discovered_entry_points(only))
