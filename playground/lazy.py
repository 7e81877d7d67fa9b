"""Import on first use: finding plugins and building tabs imports neither torch nor transformers.

`lazy` names a function (a concept's tab builder, its bench); `lazy_module` names a module a
concept's views read (its math). Both import under `IMPORTING`: transformers' own lazy imports
are not thread-safe, and the first requests of a burst of visitors arrive together.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from playground.models import IMPORTING


def _import(name: str) -> ModuleType:
    with IMPORTING:
        return importlib.import_module(name)


def lazy(target: str) -> Callable[..., Any]:
    """A callable that imports ``"package.module:function"`` when first called, then calls it."""
    module, _, name = target.partition(":")
    if not module or not name.isidentifier():
        raise ValueError(f"lazy target {target!r} must read 'package.module:function'")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(_import(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = target  # what a traceback or a repr shows
    return call


class lazy_module(ModuleType):  # lowercase: it is used like the module it stands for
    """A module imported at its first attribute read, as in
    ``decode = lazy_module("plugins.gpt.decode")``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):  # copy, pickle and inspect probe dunders: never import for them
            raise AttributeError(attr)
        if self._module is None:
            self._module = _import(self.__name__)
        return getattr(self._module, attr)
