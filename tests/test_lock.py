"""The version locks in requirements/ agree with pyproject.toml (regenerate: requirements/compile).

Offline and without uv: uv annotates every pin with why it is there (`# via ...`: pyproject,
an .in file of requirements/, or the pinned packages that depend on it), so a requirement
without a pin, a pin its specifier does not allow, and a pin nothing asks for any more are
found from the files alone; what each pinned package needs in turn, from its installed metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from playground import space

ROOT = Path(__file__).parent.parent
LOCKS = ROOT / "requirements"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PYPROJECT = f"{PROJECT['name']} (pyproject.toml)"  # how uv names pyproject in an annotation
# What requirements/compile compiles each lock from: pyproject's extras, and an .in file.
INPUTS = {
    "cpu-test.txt": (("test", "quant"), "cpu.in"),
    "cpu.txt": ((), "cpu.in"),
    "zerogpu.txt": ((), "zerogpu.in"),
}


@dataclass
class Pin:
    version: str
    via: list[str]  # uv's annotation: packages, pyproject, `-r file.in`, `-c file.txt`


def read(lock: Path) -> dict[str, Pin]:
    pins = {}
    for line in lock.read_text().splitlines():
        requirement, _, comment = line.partition("#")
        if requirement.strip():
            name, version = requirement.strip().split("==")
            via = comment.strip().removeprefix("via ").split(", ")
            pins[canonicalize_name(name)] = Pin(version, via)
    return pins


def requirements_in(path: Path) -> list[Requirement]:
    lines = (line.partition("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def asked_for(lock: str) -> tuple[list[Requirement], list[Requirement]]:
    """What pyproject asks of this lock, and what its .in file asks."""
    extras, in_file = INPUTS[lock]
    from_pyproject = PROJECT["dependencies"] + [
        text for extra in extras for text in PROJECT["optional-dependencies"][extra]
    ]
    return [Requirement(text) for text in from_pyproject], requirements_in(LOCKS / in_file)


def test_requirements_holds_the_locks_compile_writes():
    assert {p.name for p in LOCKS.glob("*.txt")} == set(INPUTS)


@pytest.mark.parametrize("lock", INPUTS)
def test_every_requirement_is_pinned_at_a_version_it_allows(lock):
    pins = read(LOCKS / lock)
    for requirement in [r for group in asked_for(lock) for r in group]:
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{lock} lacks {requirement}: run requirements/compile"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock} pins {requirement.name}=={pin.version}, outside {requirement}: "
            "run requirements/compile"
        )


@pytest.mark.parametrize("lock", INPUTS)
def test_every_pin_is_there_because_pyproject_asks_for_it(lock):
    pins = read(LOCKS / lock)
    from_pyproject, from_in_file = ({canonicalize_name(r.name) for r in g} for g in asked_for(lock))
    # The annotations name exactly what pyproject and the .in file ask for today...
    in_file = f"-r requirements/{INPUTS[lock][1]}"
    for said, asked in [
        ({name for name, pin in pins.items() if PYPROJECT in pin.via}, from_pyproject),
        ({name for name, pin in pins.items() if in_file in pin.via}, from_in_file),
    ]:
        assert said == asked, (
            f"{lock} was compiled without {asked - said} and with {said - asked}, which are "
            "not asked for now: run requirements/compile"
        )
    # ...and every other pin is needed by one of those, through the pins between.
    needed = from_pyproject | from_in_file
    while grown := {
        name
        for name, pin in pins.items()
        if name not in needed and needed & {canonicalize_name(v) for v in pin.via}
    }:
        needed |= grown
    assert set(pins) == needed, f"nothing asks for {set(pins) - needed}: run requirements/compile"


@pytest.mark.parametrize("lock", ["cpu-test.txt", "cpu.txt"])
def test_what_each_pinned_package_needs_is_pinned_too(lock):
    # The annotations say who needs a pin, not what it needs; installed metadata does, for each
    # package this environment has at the pinned version (all of them, installed from the lock).
    pins = read(LOCKS / lock)
    asked = [requirement for group in asked_for(lock) for requirement in group]
    todo = [(r.name, extra) for r in asked for extra in {"", *r.extras}]  # (package, its extra)
    done = set()
    while todo:
        name, extra = todo.pop()
        if (name, extra) in done:
            continue
        done.add((name, extra))
        pinned = pins.get(canonicalize_name(name))  # a missing top-level pin fails above
        try:
            if pinned is None or Version(metadata.version(name)) != Version(pinned.version):
                continue
        except metadata.PackageNotFoundError:
            continue
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            pin = pins.get(canonicalize_name(requirement.name))
            assert pin is not None, f"{lock}: {name} needs {requirement}, which it lacks"
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{lock}: {name} needs {requirement}, not {pin.version}"
            )
            todo += [(requirement.name, e) for e in {"", *requirement.extras}]


def test_the_app_lock_is_the_test_lock_less_the_extras():
    app, full = read(LOCKS / "cpu.txt"), read(LOCKS / "cpu-test.txt")
    assert {name: pin.version for name, pin in app.items()} == {
        name: full[name].version for name in app
    }


def test_the_locks_are_for_the_pythons_that_install_them():
    assert space.lock_python(LOCKS / "cpu-test.txt") == space.lock_python(LOCKS / "cpu.txt")
    # ZeroGPU's Python is fixed: its lock is compiled for that one.
    assert space.ZEROGPU_PYTHON.startswith(space.lock_python(LOCKS / "zerogpu.txt") + ".")


def test_ci_and_the_readme_install_the_locked_torch():
    torch = Version(read(LOCKS / "cpu-test.txt")["torch"].version)
    assert torch.local == "cpu"  # not PyPI's multi-GB CUDA build
    assert Version(read(LOCKS / "zerogpu.txt")["torch"].version) == Version(torch.public)
    for path in (ROOT / ".ci" / "run", ROOT / "README.md"):
        named = re.findall(r"torch==([\w.+]+)", path.read_text())
        assert named, f"{path} does not install torch first"
        assert {Version(v).public for v in named} == {torch.public}, path
