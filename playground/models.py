"""The model registry: models any concept can use, loaded lazily, cached, placed on a device.

Plugins contribute ``ModelSpec`` records through the ``register_models`` hook; nothing is
loaded until a concept asks for it, and then once per (model, device), in eval mode.
Bundled models ship in the package and are always there; hub models say why they are not
(not in the local cache and the hub unreachable) instead of hanging when chosen.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from playground import devices

if TYPE_CHECKING:
    from playground.bench import BenchCase

MODEL_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")  # like "tiny-llama" or "smollm2-135m"
Source = Literal["bundled", "hub"]
TASK = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
# A task says what a loaded model is, so a concept knows what it gets back from `get`. A plugin
# may name a new one; the built-ins use:
#   causal-lm, moe-lm   -> LanguageModel(model, tokenizer)
#   sentence-embedding  -> a sentence_transformers.SentenceTransformer
#   diffusion-unet      -> a diffusers model (UNet2DModel) or pipeline
#   toy-denoiser        -> a torch.nn.Module predicting noise for 2-D points
#   text-to-image       -> a diffusers pipeline


class LanguageModel(NamedTuple):
    model: Any  # a transformers PreTrainedModel, in eval mode
    tokenizer: Any  # its fast tokenizer


class ModelUnavailable(RuntimeError):
    """The model cannot be loaded on this machine; the message says why."""


def _always_available() -> str | None:
    return None


@dataclass(frozen=True)
class ModelSpec:
    id: str  # slug used by concepts and the CLI
    title: str  # shown in model pickers
    task: str  # what `get` returns, like "causal-lm" (see TASK above)
    load: Callable[[str], Any]  # device -> the loaded model, already on that device
    source: Source = "bundled"  # bundled models ship in the package; hub models are optional
    parameters: int | None = None  # parameter count, for listings
    licence: str = ""
    description: str = ""  # one line for `playground models`
    unavailable: Callable[[], str | None] = _always_available  # why not here, or None; cheap
    bench: Callable[[Any, str], list[BenchCase]] | None = None  # (loaded model, device) -> cases
    plugin: str = field(default="", compare=False)  # filled in by the host

    def __post_init__(self) -> None:
        if not MODEL_ID.match(self.id):
            raise ValueError(f"model id {self.id!r} must be lowercase letters, digits, . _ -")
        if not TASK.match(self.task):
            raise ValueError(f"model task {self.task!r} must be a lowercase slug like 'causal-lm'")


def load_model(spec: ModelSpec, device: str) -> Any:
    """Load one model now, uncached: the registry's loader, also used to time loading."""
    reason = spec.unavailable()
    if reason:
        raise ModelUnavailable(f"{spec.title} is not available here: {reason}")
    try:
        model = spec.load(device)
    except (OSError, ValueError) as exc:
        # Files gone, unreachable or corrupt (the bundled loaders raise ValueError naming an
        # unreadable file): every tab turns ModelUnavailable into a message, not a crash.
        raise ModelUnavailable(f"{spec.title} could not be loaded: {exc}") from exc
    inner = model.model if isinstance(model, LanguageModel) else model
    if hasattr(inner, "eval"):
        inner.eval()
    return model


# Heavy imports and model loads take turns. transformers resolves its names lazily, and two
# threads asking for them at once can see a half-initialised module ("cannot import name
# 'AutoModelForCausalLM'"); the host's background preload and first requests take this too.
IMPORTING = threading.RLock()


class ModelRegistry:
    """Specs by id, and the models loaded from them, one per (id, device)."""

    def __init__(self) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()  # guards the two dicts

    def register(self, spec: ModelSpec) -> None:
        if spec.id in self._specs:
            raise ValueError(f"model id {spec.id!r} is already registered")
        self._specs[spec.id] = spec

    def specs(self, task: str | None = None, only_available: bool = False) -> list[ModelSpec]:
        found = [s for s in self._specs.values() if task is None or s.task == task]
        return [s for s in found if s.unavailable() is None] if only_available else found

    def spec(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except (KeyError, TypeError):  # TypeError: not even a string (a list from the API)
            known = ", ".join(sorted(self._specs)) or "none"
            raise KeyError(f"unknown model {model_id!r} (registered: {known})") from None

    def get(self, model_id: str, device: str | None = None) -> Any:
        """The model, loaded on first use onto ``device`` (default: the process's device).

        A loaded model is returned at once; loading holds `IMPORTING`, so two first requests
        never import transformers at the same time (see there).
        """
        spec = self.spec(model_id)
        key = (model_id, device or devices.preferred())
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
        with IMPORTING:
            if key not in self._loaded:  # another request may have loaded it meanwhile
                model = load_model(spec, key[1])
                with self._lock:
                    self._loaded[key] = model
            return self._loaded[key]

    def is_loaded(self, model_id: str) -> bool:
        with self._lock:
            return any(key[0] == model_id for key in self._loaded)

    def listing(self) -> list[dict[str, Any]]:
        """One row per model, for `playground models` and the Plugins page."""
        rows = []
        for s in self._specs.values():
            reason = s.unavailable()
            rows.append(
                {
                    "id": s.id,
                    "title": s.title,
                    "task": s.task,
                    "source": s.source,
                    "parameters": s.parameters,
                    "licence": s.licence,
                    "plugin": s.plugin,
                    "available": reason is None,
                    "why_unavailable": reason,
                    "loaded": self.is_loaded(s.id),
                    "description": s.description,
                }
            )
        return rows
