"""`playground space export`: a folder the Hub accepts as a Space, and that runs like one.

The exported Space is started the way the Gradio SDK's builder starts it: a fresh virtual
environment; requirements.txt installed on its own, from outside the folder (the builder
mounts that one file before the folder is copied in) and with no index (offline); then
`python app.py` in the folder with the Space's environment. The packages this venv already
has are made visible to the new one (not installed again), all but this project itself, so
the app can only run from what the export wrote. Outbound connections are refused in it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gradio_client import Client
from huggingface_hub import SpaceCard, SpaceHardware
from packaging.requirements import Requirement
from packaging.version import Version
from playwright.sync_api import expect

from playground import space
from playground.bench import free_port
from tests.helpers import START_TIMEOUT_S, write_dist

ROOT = Path(__file__).parent.parent
# From the Spaces configuration reference (docs/hub/spaces-config-reference.md).
CONFIG_COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
CONFIG_SDKS = {"gradio", "streamlit", "docker", "static"}
REQUIRED_KEYS = {
    "title",
    "emoji",
    "colorFrom",
    "colorTo",
    "sdk",
    "sdk_version",
    "python_version",
    "app_file",
    "short_description",
    "suggested_hardware",
    "license",
}
TIMEOUT_MS = 30_000

# Loaded by a .pth file in the Space's venv: any connection that leaves the machine is
# refused and written down, so "nothing downloads" is checked, not assumed.
OFFLINE_GUARD = """
import ipaddress, os, socket

_log = os.environ["SPACE_TEST_NETWORK_LOG"]
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _refuse(address):
    if not isinstance(address, tuple):
        return
    try:
        ip = ipaddress.ip_address(address[0])
        local = ip.is_loopback or ip.is_unspecified
    except ValueError:
        local = address[0] == "localhost"
    if not local:
        with open(_log, "a") as f:
            f.write(f"{address!r}\\n")
        raise ConnectionRefusedError(f"no network in this test: {address}")


def connect(self, address):
    _refuse(address)
    return _connect(self, address)


def connect_ex(self, address):
    _refuse(address)
    return _connect_ex(self, address)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
"""


def run(*cmd: str, cwd: Path | None = None, env: dict | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


# -- the export ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("space") / "my-space"
    out = run(
        sys.executable,
        "-m",
        "playground",
        "space",
        "export",
        str(dest),
        "--plugins",
        "softmax",
        "--hardware",
        "cpu-basic",
    )
    assert f"hf upload USER/SPACE {dest} . --repo-type=space" in out
    return dest


def test_front_matter_follows_the_spaces_config_reference(exported):
    card = SpaceCard((exported / "README.md").read_text())
    data = card.data.to_dict()
    assert set(data) >= REQUIRED_KEYS, REQUIRED_KEYS - set(data)
    assert data["sdk"] == "gradio" and data["sdk"] in CONFIG_SDKS
    # The Gradio the SDK installs is the one requirements.txt pins, on the Python they are for.
    assert f"gradio=={data['sdk_version']}" in (exported / "requirements.txt").read_text()
    assert data["python_version"] == space.lock_python(space.LOCKS / "cpu.txt") == "3.11"
    assert data["colorFrom"] in CONFIG_COLORS and data["colorTo"] in CONFIG_COLORS
    assert data["suggested_hardware"] == "cpu-basic"
    assert data["suggested_hardware"] in {h.value for h in SpaceHardware}
    assert 0 < len(data["short_description"]) <= 60
    assert data["license"] == "apache-2.0"
    assert len(data["emoji"]) <= 2 and not data["emoji"].isascii()  # "emoji-only"
    assert (exported / data["app_file"]).is_file()
    assert "Softmax & Logits" in card.text  # the card lists the concepts it serves


@pytest.mark.parametrize("hardware", space.HARDWARE)
def test_each_hardware_gets_a_front_matter_and_requirements_that_fit_it(hardware):
    data = SpaceCard(space.readme(hardware, "Apache-2.0", "\n# x\n")).data.to_dict()
    assert data["suggested_hardware"] == hardware in {h.value for h in SpaceHardware}
    assert data["python_version"] == ("3.10.13" if hardware == "zero-a10g" else "3.11")

    text = space.requirements(space.pins(hardware, ["torch>=2.4", "gradio<7,>=6.31"]), hardware)
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    options = [line for line in lines if line.startswith("--")]
    requirements = [Requirement(line) for line in lines if line not in options]
    pinned = {r.name: str(r.specifier) for r in requirements}
    assert ("spaces" in pinned) == (hardware == "zero-a10g")  # @spaces.GPU only on ZeroGPU
    assert options == (
        ["--extra-index-url https://download.pytorch.org/whl/cpu"]
        if hardware == "cpu-basic"
        else []
    )
    assert not any("/" in line or line.endswith(".whl") for line in lines if line not in options)
    # Exact versions, and the app's whole closure: what torch and Gradio need is pinned too.
    assert all(re.fullmatch(r"==[\w.+]+", spec) for spec in pinned.values()), pinned
    assert {"numpy", "fastapi", "huggingface-hub", "safetensors"} <= set(pinned)
    assert pinned["gradio"] == f"=={data['sdk_version']}"
    # torch==X+cpu is on PyTorch's CPU index only; a GPU takes PyPI's CUDA build of X.
    assert (Version(pinned["torch"][2:]).local == "cpu") == (hardware == "cpu-basic")
    # The test and quant extras stay out of the Space.
    assert not {"pytest", "playwright", "ruff", "hypothesis", "bitsandbytes"} & set(pinned)


def test_the_export_refuses_a_lock_that_pyproject_outgrew():
    with pytest.raises(RuntimeError, match=r"pins gradio at 6\.\S+, which gradio>=99 does not"):
        space.pins("cpu-basic", ["gradio>=99"])
    with pytest.raises(RuntimeError, match="pins not-in-the-lock at None"):
        space.pins("zero-a10g", ["not-in-the-lock"])


def test_the_export_refuses_what_would_not_run(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="ZeroGPU needs at least one GPU endpoint"):
        space.export(tmp_path / "a", ["models"], "zero-a10g")
    with pytest.raises(ValueError, match="unknown hardware"):
        space.export(tmp_path / "b", ["softmax"], "tpu-v5")
    with pytest.raises(ValueError, match="no such plugin"):
        space.export(tmp_path / "c", ["nope"], "cpu-basic")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not an empty folder"):
        space.export(tmp_path / "full", ["softmax"], "cpu-basic")
    # Another distribution's plugin is not in this project's wheel, so not on the Space.
    write_dist(tmp_path / "site", "sample_ok", "sample_ok")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ValueError, match="carries only ml-playground's plugins"):
        space.export(tmp_path / "d", ["softmax", "sample_ok"], "cpu-basic")
    assert not any((tmp_path / name).exists() for name in "abcd")  # refused before writing


def test_the_wheel_inside_carries_the_bundled_models(exported):
    site = exported / space.SITE
    assets = ROOT / "plugins" / "models" / "assets"
    shipped = [p for p in assets.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert shipped, "no bundled models in this checkout"
    for path in shipped:
        copy = site / path.relative_to(ROOT)
        assert copy.is_file() and copy.stat().st_size == path.stat().st_size, copy
    (info,) = site.glob("ml_playground-*.dist-info")
    assert "softmax = plugins.softmax.plugin" in (info / "entry_points.txt").read_text()
    assert '["softmax"]' in (exported / "app.py").read_text()


# -- the exported Space, running ----------------------------------------------------------


@dataclass
class SpaceVenv:
    python: Path
    env: dict[str, str]  # this environment, less PYTHONPATH, plus the network log's path
    network_log: Path


@pytest.fixture(scope="module")
def space_venv(tmp_path_factory, exported) -> SpaceVenv:
    """A fresh venv that sees this venv's packages but this project, and has no network."""
    root = tmp_path_factory.mktemp("space-venv")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    purelib = run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    site_packages = Path(purelib.strip())
    # Links to what this venv has installed, less this project and the .pth files (which
    # would put this checkout back on the path): seen by the new venv, not installed again.
    shared = root / "shared"
    shared.mkdir()
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        if entry.suffix != ".pth" and "ml_playground" not in entry.name.lower():
            (shared / entry.name).symlink_to(entry)
    (site_packages / "_shared.pth").write_text(f"{shared}\n")
    (site_packages / "_space_test_offline.py").write_text(OFFLINE_GUARD)
    (site_packages / "_space_test_offline.pth").write_text("import _space_test_offline\n")

    network_log = root / "network.log"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SPACE_TEST_NETWORK_LOG"] = str(network_log)
    probe = subprocess.run([str(python), "-c", "import playground"], cwd=root, env=env)
    assert probe.returncode != 0, f"{ROOT} leaks into the Space's venv"

    # As the builder does: requirements.txt on its own, away from the folder, offline.
    requirements = root / "requirements.txt"
    requirements.write_text((exported / "requirements.txt").read_text())
    run(
        str(python),
        "-m",
        "pip",
        "install",
        "--no-index",
        "-r",
        str(requirements),
        cwd=root,
        env=env,
    )
    return SpaceVenv(python, env, network_log)


@pytest.fixture(scope="module")
def space_url(exported, space_venv) -> Iterator[str]:
    port = str(free_port())
    env = space_venv.env | {
        "GRADIO_SERVER_NAME": "0.0.0.0",  # as on a Space
        "PORT": port,
        "GRADIO_SERVER_PORT": port,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = exported.parent / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(space_venv.python), "app.py"],
            cwd=exported,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the Space's app.py exited:\n{log.read_text()}")
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"app.py served nothing in {START_TIMEOUT_S} s:\n{log.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_the_space_answers_over_the_api(space_url):
    client = Client(space_url, verbose=False)
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/softmax_compute" in endpoints
    assert all(name.startswith("/softmax_") for name in endpoints)  # only the plugins chosen
    stats, *_ = client.predict("3, 1", "a, b", 1.0, "float32", "a", api_name="/softmax_compute")
    assert "p = 88.08%" in stats  # 1 / (1 + e^-2)


@pytest.mark.browser
def test_the_space_in_a_browser(page, space_url):
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(space_url)
    expect(page.locator("#card-softmax .pg-device")).to_have_text("cpu")
    page.click("#card-softmax")
    expect(page.locator("#softmax-stats")).to_contain_text("p = 90.18%")  # the default preset
    page.click("#tab-plugins-button")
    expect(page.locator("#plugin-table")).to_contain_text("ml-playground")


def test_the_space_never_reached_the_network(space_url, space_venv):
    # After starting, serving the API and a browser: every outbound connection was logged.
    assert not space_venv.network_log.exists(), space_venv.network_log.read_text()
