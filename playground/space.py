"""`playground space export DIR`: write a folder that is a ready-to-push Hugging Face Space.

What the Hub does with the folder decides its shape:
- README.md's YAML front matter configures the Space: SDK and version, Python, hardware
  (https://huggingface.co/docs/hub/spaces-config-reference).
- The Gradio SDK's builder installs requirements.txt *before* it copies the folder into the
  image (it mounts that one file), so requirements.txt cannot name a file of the folder. It
  pins every package the project needs, at the versions of its lock (requirements/, which
  `requirements/compile` writes); the project itself ships as its wheel, unpacked into
  site/ — what pip would have installed: the packages, the bundled models, and the dist-info
  whose entry points register the plugins. app.py puts site/ first on sys.path.
- Nothing downloads at start-up: the bundled models are inside the wheel, and the export
  checks that they are.
This builds from a source checkout (the wheel is built from it), not from an installed copy.
"""

from __future__ import annotations

import json
import re
import shutil
import string
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if TYPE_CHECKING:
    from playground.host import Host

ROOT = Path(__file__).resolve().parent.parent  # the source checkout the wheel is built from
TEMPLATE = ROOT / "spaces" / "template"
DISTRIBUTION = "ml-playground"
PACKAGES = ("playground", "plugins")  # the top-level packages pyproject's packages.find takes
SITE = "site"  # the folder of the Space that holds the unpacked wheel
LOCKS = ROOT / "requirements"  # the version locks, written by requirements/compile

HARDWARE = ("zero-a10g", "cpu-basic", "t4-small")
DEFAULT_HARDWARE = "zero-a10g"  # a GPU lent per call: free to visitors, within a daily quota
FALLBACK_HARDWARE = "cpu-basic"  # what a Space runs on until its owner assigns other hardware
# ZeroGPU runs one fixed Python build (docs: spaces-zerogpu, "Supported versions").
ZEROGPU_PYTHON = "3.10.13"
# The lock each hardware installs: some of cpu.txt's releases need Python 3.11, so ZeroGPU's
# 3.10 has a lock of its own.
LOCK = {"zero-a10g": "zerogpu.txt", "cpu-basic": "cpu.txt", "t4-small": "cpu.txt"}
# cpu-basic has no GPU: the CPU build of torch, not a multi-GB CUDA one.
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

# Allowed values from the Spaces configuration reference.
COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")
SHORT_DESCRIPTION_MAX = 60
CARD = {
    "title": "ML Playground",
    "emoji": "🧪",
    "colorFrom": "indigo",  # the app's theme: indigo and amber
    "colorTo": "yellow",
    "short_description": "Play with how deep learning works, on real models",
}
PIP_WHEEL = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet"]
PLUGINS_LINE = "PLUGINS: list[str] | None = None"  # the line of the app.py template to fill in


# -- the lock ----------------------------------------------------------------------------


def read_lock(path: Path) -> dict[str, str]:
    """{name: version} of every package a lock pins (names in their canonical form)."""
    pinned: dict[str, str] = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, version = requirement.split("==")
            pinned[canonicalize_name(name)] = version
    return pinned


def lock_python(path: Path) -> str:
    """The Python version a lock was compiled for, from the uv command in its header."""
    found = re.search(r"--python-version (\S+)", path.read_text())
    if found is None:
        raise RuntimeError(f"{path} does not say which Python it is for: run requirements/compile")
    return found.group(1)


def pins(hardware: str, requires: list[str]) -> list[str]:
    """`name==version` for every package the hardware's lock holds, once it is checked to pin
    each of ``requires`` (the project's dependencies) at a version they allow."""
    lock = LOCKS / LOCK[hardware]
    pinned = read_lock(lock)
    for text in requires:
        requirement = Requirement(text)
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            raise RuntimeError(
                f"{lock} pins {requirement.name} at {version}, which {requirement} does not "
                "allow: regenerate the locks with requirements/compile"
            )
    if hardware != "cpu-basic":  # a GPU: PyPI's CUDA torch, not the CPU index's torch==X+cpu
        pinned = {name: Version(version).public for name, version in pinned.items()}
    return [f"{name}=={version}" for name, version in pinned.items()]


# -- what the folder says -----------------------------------------------------------------


def python_version(hardware: str) -> str:
    """The Space's Python: ZeroGPU's own, else the one its lock was compiled for."""
    if hardware == "zero-a10g":
        return ZEROGPU_PYTHON
    return lock_python(LOCKS / LOCK[hardware])


def front_matter(hardware: str, licence: str) -> dict[str, object]:
    """The README's YAML block, in the order the Hub shows it."""
    return {
        **CARD,
        "sdk": "gradio",
        # The Space installs exactly this Gradio: the one requirements.txt pins.
        "sdk_version": read_lock(LOCKS / LOCK[hardware])["gradio"],
        "python_version": python_version(hardware),
        "app_file": "app.py",
        "suggested_hardware": hardware,
        "license": licence.lower(),  # the Hub's licence ids are lowercase SPDX: apache-2.0
        "pinned": False,
    }


def readme(hardware: str, licence: str, body: str) -> str:
    from huggingface_hub import SpaceCardData  # writes the YAML as the Hub reads it

    data = SpaceCardData(**front_matter(hardware, licence))  # type: ignore[arg-type]
    return f"---\n{data.to_yaml()}\n---\n{body}"


def requirements(pinned: list[str], hardware: str) -> str:
    """requirements.txt: the pinned dependencies (see `pins`), never a path."""
    lines = [
        "# Installed by the Space's builder before this folder is copied in, so: dependencies",
        f"# only, at the versions of the project's requirements/{LOCK[hardware]}. The project",
        f"# itself is in {SITE}/ (see app.py).",
    ]
    if hardware == "cpu-basic":
        lines += ["# No GPU here: the CPU build of torch.", f"--extra-index-url {CPU_TORCH_INDEX}"]
    if hardware == "zero-a10g":
        lines += ["# `spaces`: @spaces.GPU, which the host applies (playground/zerogpu.py)."]
    return "\n".join(lines + pinned) + "\n"


def app_py(plugins: list[str]) -> str:
    text = (TEMPLATE / "app.py").read_text()
    if text.count(PLUGINS_LINE) != 1:
        raise RuntimeError(f"{TEMPLATE / 'app.py'} must hold the line {PLUGINS_LINE!r} once")
    return text.replace(PLUGINS_LINE, f"PLUGINS: list[str] | None = {json.dumps(plugins)}")


MODELS_NOTE = """
The models are bundled (trained by the project on its own small corpora, or shipped by a
package) and load from this Space's own files: nothing is downloaded when it starts. Where
the hub answers, larger hub models (GPT-2, SmolLM, Stable Diffusion) become extra choices.
"""


def card_body(host: Host, plugins: list[str], hardware: str, project_version: str) -> str:
    lines = [f"- **{c.title}** — {c.summary}" for c in host.concepts]
    device_note = {
        "zero-a10g": "on a ZeroGPU GPU, lent for each call",
        "t4-small": "on the Space's T4 GPU",
        "cpu-basic": "on the Space's CPU",
    }[hardware]
    return string.Template((TEMPLATE / "card.md").read_text()).substitute(
        concepts="\n".join(lines),
        models=MODELS_NOTE if host.registry.specs() else "",
        device_note=device_note,
        plugins=", ".join(plugins),
        hardware=hardware,
        version=project_version,
    )


# -- the wheel ----------------------------------------------------------------------------


def build_wheel(out_dir: Path) -> Path:
    """`pip wheel` of the project, built from a clean copy of its sources.

    A copy, because an in-tree setuptools build leaves build/ behind and reuses it: a module
    deleted from the sources would still ship.
    """
    with tempfile.TemporaryDirectory(prefix="playground-wheel-") as tmp:
        stage = Path(tmp)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, stage / name)
        for package in PACKAGES:
            shutil.copytree(
                ROOT / package, stage / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        result = subprocess.run(
            [*PIP_WHEEL, str(stage), "-w", str(out_dir)],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel failed:\n{result.stderr.strip()[-2000:]}")
    (wheel,) = out_dir.glob("*.whl")
    return wheel


def _shipped_sources() -> list[str]:
    """Every file the wheel must carry: modules, bundled assets and templates."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            relative = path.relative_to(ROOT)
            if not path.is_file() or "__pycache__" in relative.parts:
                continue
            if path.suffix == ".py" or {"assets", "templates"} & set(relative.parts):
                names.append(relative.as_posix())
    return names


def check_wheel(wheel: Path) -> dict[str, list[str]]:
    """Raise unless the wheel carries every module, asset and template; return its METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [name for name in _shipped_sources() if name not in names]
        if missing:
            raise RuntimeError(
                f"{wheel.name} lacks {len(missing)} files the Space needs (package-data in "
                f"pyproject.toml?), e.g. {', '.join(missing[:5])}"
            )
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = archive.read(info.replace("METADATA", "entry_points.txt")).decode()
        if "[playground]" not in entry_points:
            raise RuntimeError(f"{wheel.name} registers no `playground` entry points")
        metadata = Parser().parsestr(archive.read(info).decode())
    return {key: metadata.get_all(key) or [] for key in metadata}


def dependencies(metadata: dict[str, list[str]]) -> list[str]:
    """The wheel's requirements, without those of its extras (train, test)."""
    return [req for req in metadata.get("Requires-Dist", []) if "extra ==" not in req]


# -- the export ---------------------------------------------------------------------------


def own_plugins(plugins: list[str] | None) -> list[str]:
    """The plugins to serve: only this project's, since its wheel is all the Space carries."""
    from playground.host import discovered_entry_points

    eps = discovered_entry_points(plugins)
    foreign = [ep for ep in eps if getattr(ep.dist, "name", None) != DISTRIBUTION]
    if plugins is None:  # all of them: all of this project's
        eps = [ep for ep in eps if ep not in foreign]
    elif foreign:
        names = ", ".join(f"{ep.name} (from {getattr(ep.dist, 'name', '?')})" for ep in foreign)
        raise ValueError(f"the Space carries only {DISTRIBUTION}'s plugins, not {names}")
    return [ep.name for ep in eps]


def export(dest: Path, plugins: list[str] | None = None, hardware: str = DEFAULT_HARDWARE) -> Path:
    """Write the Space into ``dest`` (which must be empty or absent) and return it."""
    from playground.host import load
    from playground.models import ModelRegistry

    if hardware not in HARDWARE:
        raise ValueError(f"unknown hardware {hardware!r}: choose one of {', '.join(HARDWARE)}")
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ValueError(f"{dest} is not an empty folder; export into a new one")
    if not (ROOT / "pyproject.toml").is_file() or not TEMPLATE.is_dir():
        raise ValueError(
            f"space export builds the project's wheel, so it runs from a source checkout "
            f"({ROOT} is not one)"
        )

    names = own_plugins(plugins)
    host = load(names, registry=ModelRegistry())  # a separate registry: listing loads nothing
    broken = [f"{r.name} ({r.errors[0].stage})" for r in host.plugins.values() if not r.ok]
    if broken:
        raise ValueError(f"these plugins fail to load, fix them first: {', '.join(broken)}")
    if hardware == "zero-a10g" and not any(c.gpu for c in host.concepts):
        # ZeroGPU keeps a Space starting until some function is decorated with @spaces.GPU.
        raise ValueError(
            "ZeroGPU needs at least one GPU endpoint and no chosen concept declares `gpu`: "
            f"add the plugin that does, or export with --hardware {FALLBACK_HARDWARE}"
        )

    with tempfile.TemporaryDirectory(prefix="playground-space-") as tmp:
        wheel = build_wheel(Path(tmp))
        metadata = check_wheel(wheel)
        pinned = pins(hardware, dependencies(metadata))  # before writing: the lock may be stale
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(dest / SITE)
    (licence,) = metadata.get("License-Expression") or metadata.get("License") or ["other"]
    (project_version,) = metadata["Version"]
    body = card_body(host, names, hardware, project_version)
    (dest / "README.md").write_text(readme(hardware, licence, body))
    (dest / "app.py").write_text(app_py(names))
    (dest / "requirements.txt").write_text(requirements(pinned, hardware))
    return dest
