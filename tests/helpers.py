"""What the tests share: starting a live server, faking an installed plugin, Chromium flags,
typing into a page."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from playground.bench import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Locator

ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"  # Debian's; else Playwright's own, where installed (conftest)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
START_TIMEOUT_S = 90
EXPECT_TIMEOUT_MS = 20_000  # every tab computes on page load: a first result can take a while


def start_server(
    *args: str, env: dict[str, str] | None = None, log_path: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """Run `python -m playground serve` on a free port and wait until it serves a page; its
    output goes to ``log_path`` when given (for tests that read the server's log)."""
    port = free_port()
    # A file, not a pipe: nobody reads a pipe here, and a full one would stall the server.
    log = open(log_path, "w+") if log_path else tempfile.TemporaryFile("w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "playground", "serve", "--port", str(port), *args],
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited early:\n{log.read()}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise TimeoutError(f"server did not start within {START_TIMEOUT_S} s")


FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"


def write_dist(site: Path, name: str, module: str) -> None:
    """A minimal installed distribution: what pip leaves in site-packages for a plugin."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[playground]\n{name} = {module}\n")


def enter(field: Locator, value: str) -> None:
    """Type ``value`` into ``field`` and press Enter, as a learner commits an edit."""
    field.fill(value)
    field.press("Enter")
