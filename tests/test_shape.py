"""Every built-in concept has one shape, and the packages depend on each other only as declared.

A newcomer changes a tab by reading its tab.py (components, then events), its views.py (checked
inputs in, a result out) and its math module. These tests keep it that way: tab.py imports no
torch and holds no checks, and a concept reaches another package's code only through a
module-level import (or `lazy_module`) that the table below allows. A new dependency is a
decision: add it here, with the reason.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent.parent / "plugins"
CONCEPTS = sorted(p.parent.name for p in PLUGINS.glob("*/tab.py"))
HEAVY = ("torch", "transformers", "diffusers", "peft", "sentence_transformers")  # gradio has numpy
TAB_IMPORTS = (
    "__future__",
    "collections.abc",
    "dataclasses",  # the Events record of the handlers bound to the host's context
    "functools",
    "pathlib",
    "typing",
    "gradio",
    "playground",
)

# package -> the other packages it may import, and why
ALLOWED = {
    "attention": {"models"},  # the bundled models' folders
    "diffusion": {"models"},  # the bundled denoisers, their schedules and training shape
    "embeddings": {"models"},
    "gpt": {"models"},
    "lora": {"models", "quantization"},  # QLoRA's NF4 base: the NF4 math is quantization/nf4.py's
    "models": set(),  # the shared base: it imports no concept
    "moe": {"models", "attention", "gpt"},  # anatomy's FLOP count, gpt's greedy loop
    "quantization": {"models", "gpt"},  # held-out perplexity and corpus; gpt's greedy loop
    "softmax": set(),
}
TRAINING_SCRIPTS = {"plugins.models.train_lm", "plugins.models.train_diffusion"}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) for every import and lazy_module("...") in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from plugins.lora import data` imports plugins.lora.data: name the module itself
            found += [(f"{node.module}.{a.name}", id(node) in top) for a in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "lazy_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((node.args[0].value, True))  # bound once, where a reader looks
    return found


def _within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


@pytest.mark.parametrize("concept", CONCEPTS)
def test_tab_py_is_layout_and_events(concept):
    tab = PLUGINS / concept / "tab.py"
    own = f"plugins.{concept}"
    for module, _ in imports(tab):
        assert _within(module, (*TAB_IMPORTS, own)), f"{tab}: imports {module}"
    source = tab.read_text(encoding="utf-8")
    assert "raise gr.Error" not in source, f"{tab}: checks belong in views.py (raise BadInput)"
    assert "def _math" not in source


@pytest.fixture(scope="module")
def heavy_after_tab() -> dict[str, list[str]]:
    """Each concept's tab.py imported in turn, in one fresh Python (one start, not one a
    concept): the heavy modules loaded once each is in, the tabs before it included."""
    probe = (
        "import json, sys\n"
        "found = {}\n"
        f"for concept in {CONCEPTS!r}:\n"
        "    __import__(f'plugins.{concept}.tab')\n"
        f"    found[concept] = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps(found))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("concept", CONCEPTS)
def test_building_a_tab_imports_no_torch(concept, heavy_after_tab):
    # the first concept that fails is the one to fix: those after it only inherit its imports
    heavy = heavy_after_tab[concept]
    assert not heavy, f"plugins.{concept}.tab (or a tab before it) imports {heavy}"


def test_packages_import_each_other_only_as_declared():
    seen: dict[str, set[str]] = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        package = path.relative_to(PLUGINS).parts[0]
        if "tests" in path.parts or package not in ALLOWED:
            continue
        for module, top_level in imports(path):
            parts = module.split(".")
            if parts[0] != "plugins" or len(parts) < 2 or parts[1] == package:
                continue
            assert top_level, f"{path}: imports {module} inside a function (import it at the top)"
            assert module not in TRAINING_SCRIPTS, f"{path}: imports the script {module}"
            seen.setdefault(package, set()).add(parts[1])
    for package, others in seen.items():
        assert others <= ALLOWED[package], f"plugins.{package} imports {others - ALLOWED[package]}"


def test_no_import_cycle_between_modules():
    graph: dict[str, set[str]] = {}
    for path in sorted(PLUGINS.rglob("*.py")):
        if "tests" in path.parts:
            continue
        name = ".".join(path.relative_to(PLUGINS.parent).with_suffix("").parts)
        graph[name] = {m for m, _ in imports(path) if m.startswith("plugins.")}
    for name, modules in graph.items():  # `from plugins.x import CONSTANT` names plugins.x
        graph[name] = {m if m in graph else m.rpartition(".")[0] for m in modules}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        assert node not in trail, f"import cycle: {' -> '.join((*trail, node))}"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, (*trail, node))

    for name in graph:
        visit(name, ())
