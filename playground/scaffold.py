"""`playground new-plugin NAME [DIR]`: scaffold an installable concept plugin.

The result has the shape of a built-in: a distribution whose pyproject declares the
`playground` entry point, a package with plugin.py (hookimpls only), <NAME>.py (torch math,
no gradio), views.py (checked inputs in, results out; no gradio) and tab.py (the Gradio UI:
components, then events), and tests that run `playground.testing.check_plugin`.
Its concept is small but real — dot product and cosine similarity — so it passes the contract
as written and shows every rule in place before the author replaces it.

The templates are files under playground/templates/plugin/; ``@@key@@`` marks what is filled
in (a marker no Python, TOML or Markdown file uses, unlike ``{}`` or ``$``).
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from importlib.metadata import entry_points, version
from pathlib import Path

from playground.concept import ID_PATTERN
from playground.host import PROJECT

TEMPLATES = Path(__file__).parent / "templates" / "plugin"
MARKER = re.compile(r"@@(\w+)@@")
RESERVED = {"plugin", "tab", "views"}  # modules the package already has


def names(name: str) -> dict[str, str]:
    """What the templates are filled with; raise ValueError for an unusable NAME."""
    if not ID_PATTERN.match(name) or keyword.iskeyword(name) or name in RESERVED:
        raise ValueError(
            f"plugin name {name!r} must be a Python identifier slug: a lowercase letter, then "
            "1-31 lowercase letters, digits or underscores (like dot_product), and not a "
            f"Python keyword or one of {', '.join(sorted(RESERVED))}"
        )
    package = f"playground_{name}"
    if name in {ep.name for ep in entry_points(group=PROJECT)}:
        raise ValueError(f"a plugin named {name!r} is already installed; choose another name")
    if importlib.util.find_spec(package) is not None:
        raise ValueError(f"a module named {package!r} is already importable; choose another name")
    return {
        "concept": name,  # the entry-point name, the concept id and its module
        "package": package,
        "dist": f"playground-{name.replace('_', '-')}",
        "title": name.replace("_", " ").capitalize(),
        "host_version": version("ml-playground"),
    }


def render(text: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template marker {match.group(0)} has no value")
        return values[match.group(1)]

    return MARKER.sub(fill, text)


def target(template: Path, values: dict[str, str]) -> Path:
    """Where a template lands: package/ -> the package, concept.py -> <NAME>.py, no .tmpl."""
    parts = list(template.relative_to(TEMPLATES).with_suffix("").parts)  # drops .tmpl
    if parts[0] == "package":
        parts[0] = values["package"]
    renames = {
        "concept.py": f"{values['concept']}.py",
        "test_concept.py": f"test_{values['concept']}.py",
        "gitignore": ".gitignore",
    }
    parts[-1] = renames.get(parts[-1], parts[-1])
    return Path(*parts)


def create(name: str, dest: Path | None = None) -> Path:
    """Write the plugin into ``dest`` (default ./playground-NAME), which must be new or empty."""
    values = names(name)
    dest = Path(dest) if dest is not None else Path.cwd() / values["dist"]
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} is not an empty folder; refusing to overwrite it")
    files = {
        target(template, values): render(template.read_text(), values)
        for template in sorted(TEMPLATES.rglob("*.tmpl"))
    }
    for relative, text in files.items():
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return dest
