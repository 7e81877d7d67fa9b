"""The model registry: models any concept can use, loaded lazily, cached, placed on a device.

Plugins contribute ``ModelSpec`` records through the ``register_models`` hook; nothing is
loaded until a concept asks for it. Bundled models ship in the package and are always
available; hub models declare ``available`` so they show only when the cache or hub has them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from playground import devices

MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")  # like "tiny-llama" or "smollm2-135m"
Source = Literal["bundled", "hub"]


@dataclass(frozen=True)
class ModelSpec:
    id: str  # slug used by concepts and the CLI
    title: str  # shown in model pickers
    kind: str  # what it is, e.g. "causal-lm", "moe-lm", "encoder", "diffusion"
    load: Callable[[str], Any]  # device -> the loaded model, ready to use there
    source: Source = "bundled"  # bundled models ship in the package; hub models are optional
    available: Callable[[], bool] = lambda: True  # cheap check, never downloads
    description: str = ""  # one line for `playground models`
    plugin: str = field(default="", compare=False)  # filled in by the host

    def __post_init__(self) -> None:
        if not MODEL_ID.match(self.id):
            raise ValueError(f"model id {self.id!r} must be lowercase letters, digits, . _ -")


class ModelRegistry:
    """Specs by id, and the models loaded from them, one per (id, device)."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # two requests for one model load it once

    def register(self, spec: ModelSpec) -> None:
        if spec.id in self._specs:
            raise ValueError(f"model id {spec.id!r} is already registered")
        self._specs[spec.id] = spec

    def specs(self, kind: str | None = None, only_available: bool = False) -> list[ModelSpec]:
        found = [s for s in self._specs.values() if kind is None or s.kind == kind]
        return [s for s in found if s.available()] if only_available else found

    def spec(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise KeyError(f"unknown model {model_id!r} (registered: {known})") from None

    def get(self, model_id: str, device: str | None = None) -> Any:
        """The model, loaded on first use onto ``device`` (default: the process's device)."""
        spec = self.spec(model_id)
        device = device or devices.preferred()
        key = (model_id, device)
        with self._lock:
            if key not in self._loaded:
                if not spec.available():
                    raise RuntimeError(f"model {model_id!r} is not available on this machine")
                self._loaded[key] = spec.load(device)
            return self._loaded[key]

    def loaded(self) -> list[tuple[str, str]]:
        return sorted(self._loaded)

    def unload(self) -> None:
        with self._lock:
            self._loaded.clear()


REGISTRY = ModelRegistry()  # the process's registry, filled by the host from register_models
