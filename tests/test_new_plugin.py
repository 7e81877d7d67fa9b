"""`playground new-plugin`: the scaffold installs, is discovered, serves, and passes its tests.

The scaffolded plugin is installed (editable) into this environment for the module's tests
and uninstalled afterwards, whatever happened, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from playground import scaffold
from tests.helpers import start_server

NAME = "newplugin_probe_with_a_long_name"  # the longest a concept id may be: lines fit
PACKAGE = f"playground_{NAME}"
DIST = "playground-newplugin-probe-with-a-long-name"


def run(*cmd: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"{' '.join(cmd)}:\n{result.stdout}\n{result.stderr}"
    return result


def pip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "pip", *args, check=check)


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Iterator[Path]:
    pip("uninstall", "--yes", DIST, check=False)  # left over from a run that was killed
    dest = tmp_path_factory.mktemp("new-plugin") / DIST
    out = run(sys.executable, "-m", "playground", "new-plugin", NAME, str(dest)).stdout
    assert f"pip install -e {dest}" in out
    try:
        pip("install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(dest))
        yield dest
    finally:
        pip("uninstall", "--yes", DIST)


def test_the_scaffold_has_the_shape_of_a_builtin(plugin_dir):
    package = plugin_dir / PACKAGE
    assert {p.name for p in package.iterdir() if p.suffix == ".py"} == {
        "__init__.py",
        "plugin.py",
        f"{NAME}.py",
        "tab.py",
        "views.py",
    }
    assert f'{NAME} = "{PACKAGE}.plugin"' in (plugin_dir / "pyproject.toml").read_text()
    assert "gradio" not in (package / f"{NAME}.py").read_text()  # the math is torch only
    assert "hookimpl" in (package / "plugin.py").read_text()
    assert f'testing.check_plugin("{NAME}")' in (plugin_dir / "tests/test_contract.py").read_text()
    assert not list(plugin_dir.rglob("*.tmpl")) and "@@" not in "".join(
        p.read_text() for p in plugin_dir.rglob("*") if p.is_file()
    )
    # Generated code is held to the project's own lint and format rules.
    run(sys.executable, "-m", "ruff", "check", ".", cwd=plugin_dir)
    run(sys.executable, "-m", "ruff", "format", "--check", ".", cwd=plugin_dir)


@pytest.mark.slow
def test_it_is_discovered_like_any_plugin(plugin_dir):
    records = json.loads(run(sys.executable, "-m", "playground", "plugins", "--json").stdout)
    record = next(r for r in records if r["name"] == NAME)
    assert record["ok"] and record["errors"] == [], record["errors"]
    assert record["distribution"] == DIST and record["concepts"] == [NAME]
    assert record["hooks"] == ["register_concepts"]


@pytest.mark.slow
def test_it_serves_a_tab_and_an_endpoint(plugin_dir):
    proc, url = start_server("--plugins", NAME)
    try:
        client = Client(url, verbose=False)
        assert f"tab-{NAME}" in json.dumps(client.config["components"])
        endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert set(endpoints) == {f"/{NAME}_compute"}
        summary, table = client.predict("3, 4", "4, 0", api_name=f"/{NAME}_compute")
        assert "cos θ = 0.6000" in summary and "θ = 53.13°" in summary  # the 3-4-5 triangle
        assert [row[3] for row in table["data"]] == ["12", "0"]  # a_i · b_i
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_its_own_tests_pass(plugin_dir):
    result = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=plugin_dir)
    assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout


def test_bad_names_and_full_folders_are_refused(tmp_path):
    for name, why in [
        ("Dot-Product", "identifier slug"),
        ("x", "identifier slug"),  # concept ids have at least two characters
        ("class", "keyword"),
        ("tab", "tab"),
        ("softmax", "already installed"),
    ]:
        with pytest.raises(ValueError, match=why):
            scaffold.create(name, tmp_path / name)
        assert not (tmp_path / name).exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an empty folder"):
        scaffold.create("dot_product", tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["notes.txt"]
    result = run(sys.executable, "-m", "playground", "new-plugin", "Bad", check=False)
    assert result.returncode == 2 and "identifier slug" in result.stderr
