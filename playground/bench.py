"""`playground bench`: each concept's from-scratch code against its reference library.

Both sides of a case run interleaved on the same inputs; we report medians and
ratio = ours_ms / reference_ms (below 1 means ours is faster), plus the largest absolute
difference between the two outputs. A case without a reference times our code alone (a tab's
server-side step); a `Measure` reports a figure that is not a time (an accuracy, a size). A
target such as "ratio <= 1.0" is checked against the row and reported as `met`, never asserted:
these machines are shared and noisy. The host adds rows of its own: the app's cold start
against a bare Gradio hello-world, measured the same way in the same run, and the app serving
visitors (:func:`serving_rows`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from playground.host import ENV_LOAD_PLUGINS
from playground.models import ModelRegistry, load_model

MIN_REPEATS = 5
MAX_REPEATS = 200
TIME_BUDGET_S = 1.0  # per case, both sides together
COLD_START_REPEATS = 3
COLD_START_TIMEOUT_S = 120.0
COLD_START_TARGET = "ratio <= 1.5"  # issue 19: within 1.5x a hello-world started the same way
# The serving rows come from the load harness in the repository's tests/load (it needs the test
# extra: gradio_client, Playwright and Chromium); with the cold start, `playground bench host`
# takes about 5 minutes on 2 cores.
SERVING_VISITORS = (10, 50)  # simulated API visitors, a run for each (issue 19)
SERVING_SECONDS = 30.0  # of load, per run
SERVING_LONG_JOBS = 2  # kept running throughout, at their defaults (issue 19)
SERVING_THINK_S = 2.0  # a visitor reads each answer before the next click, 1 to 3 s
SERVING_WARM_S = 5.0  # of load before the measured runs: models loaded, caches filled
SERVING_TIMEOUT_S = 1200  # the whole harness, whatever the numbers it was given
SERVING_STOP_S = 60  # for the harness to stop its servers and browser once interrupted

HELLO_WORLD = (
    "import gradio as gr, sys\n"
    "with gr.Blocks() as demo:\n"
    "    gr.Markdown('hello')\n"
    "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]))\n"
)


TARGET = re.compile(r"^(ours_ms|ratio|max_abs_err|value) (<=|>=) (-?[0-9.e+-]+)$")


@dataclass(frozen=True)
class BenchCase:
    case: str  # what is measured, e.g. "softmax 64 x 50257"
    ours: Callable[[], Any]  # our from-scratch code, the one the tab shows
    reference: str | None = None  # the library call it is compared with, e.g. "torch.softmax"
    reference_fn: Callable[[], Any] | None = None  # that call, on the same inputs
    target: str | None = None  # what the issue asks of the row, e.g. "ratio <= 1.0"

    def __post_init__(self) -> None:
        _check_target(self.target)
        if (self.reference is None) != (self.reference_fn is None):
            raise ValueError(f"bench case {self.case!r}: give both reference and reference_fn")


@dataclass(frozen=True)
class Measure:
    """A figure that is not a timing against a reference: an accuracy, a build time, a size."""

    case: str  # e.g. "analogy top-1, inputs excluded"
    measure: Callable[[], float]  # computes the figure when the bench runs
    unit: str  # e.g. "%", "s", "MiB"
    target: str | None = None  # e.g. "value >= 60"

    def __post_init__(self) -> None:
        _check_target(self.target)


def _check_target(target: str | None) -> None:
    if target is not None and not TARGET.match(target):
        raise ValueError(f"bench target {target!r} must read like 'ratio <= 1.0'")


def met(row: dict[str, Any]) -> bool | None:
    """Whether a row meets its target; None when it has none or the figure is missing."""
    if not row.get("target"):
        return None
    match = TARGET.match(row["target"])
    assert match is not None, f"bench target {row['target']!r}"  # checked when the row was made
    field_, op, bound = match.groups()
    value = row.get(field_)
    if value is None:
        return None
    return value <= float(bound) if op == "<=" else value >= float(bound)


def _row(concept: str, case: str, device: str, target: str | None, **figures: Any) -> dict:
    row = {
        "concept": concept,
        "case": case,
        "device": device,
        "ours_ms": None,
        "reference": None,
        "reference_ms": None,
        "ratio": None,
        "max_abs_err": None,
        "value": None,
        "unit": None,
        **figures,
        "target": target,
    }
    row["met"] = met(row)
    return row


def _sync(device: str) -> None:
    """Wait for queued GPU work, so a timing covers the computation and not just its launch."""
    if device in ("cuda", "mps"):
        import torch

        getattr(torch, device).synchronize()


def _timed(fn: Callable[[], Any], device: str) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return (time.perf_counter() - start) * 1000, out


def max_abs_err(ours: Any, reference: Any) -> float | None:
    """Largest absolute difference between two outputs (tensors or tuples of them)."""
    import torch

    if isinstance(ours, tuple | list):
        errs = [max_abs_err(a, b) for a, b in zip(ours, reference, strict=True)]
        return max((e for e in errs if e is not None), default=None)
    if isinstance(ours, torch.Tensor):
        a, b = ours.double(), reference.double()
        # equal entries count as 0, so logits both masked to -inf are not a NaN difference
        return torch.where(a == b, 0.0, (a - b).abs()).max().item()
    return None


def run_case(concept: str, case: BenchCase | Measure, device: str) -> dict[str, Any]:
    if isinstance(case, Measure):
        return _row(concept, case.case, device, case.target, value=case.measure(), unit=case.unit)
    sides = [case.ours] if case.reference_fn is None else [case.ours, case.reference_fn]
    for _ in range(2):  # warm-up: lazy init, caches, allocator
        for side in sides:
            side()
    _sync(device)
    times: list[list[float]] = [[] for _ in sides]
    outs: list[Any] = [None for _ in sides]
    started = time.perf_counter()
    while len(times[0]) < MAX_REPEATS and (
        len(times[0]) < MIN_REPEATS or time.perf_counter() - started < TIME_BUDGET_S
    ):
        for i, side in enumerate(sides):  # interleaved, so both see the same machine load
            t, outs[i] = _timed(side, device)
            times[i].append(t)
    ours = statistics.median(times[0])
    if case.reference_fn is None:
        return _row(concept, case.case, device, case.target, ours_ms=round(ours, 4))
    ref = statistics.median(times[1])
    return _row(
        concept,
        case.case,
        device,
        case.target,
        ours_ms=round(ours, 4),
        reference=case.reference,
        reference_ms=round(ref, 4),
        ratio=round(ours / ref, 3) if ref > 0 else None,
        max_abs_err=max_abs_err(*outs),
    )


def run_cases(
    concept: str, cases: Iterable[BenchCase | Measure], device: str
) -> list[dict[str, Any]]:
    return [run_case(concept, case, device) for case in cases]


def model_rows(registry: ModelRegistry, device: str) -> list[dict[str, Any]]:
    """Each bundled model's load time (the faster of two, so imports are not counted), then
    the benchmark cases the model declares."""
    rows = []
    for spec in registry.specs(only_available=True):
        if spec.source != "bundled":  # a hub model would download here
            continue
        times = []
        for _ in range(2):
            t, model = _timed(functools.partial(load_model, spec, device), device)
            times.append(t)
        rows.append(_row("models", f"load {spec.id}", device, None, ours_ms=round(min(times), 1)))
        if spec.bench is not None:
            cases = [replace(c, case=f"{c.case}, {spec.id}") for c in spec.bench(model, device)]
            rows += run_cases("models", cases, device)
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(argv: list[str]) -> Iterator[tuple[subprocess.Popen, str, float]]:
    """Start ``argv + [port]`` on a free port; yields the process, its address and the seconds
    until it served its first page, and stops it on leaving. Every server a host row measures
    starts here, so ours and its yardstick start the same way."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*argv, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - start < COLD_START_TIMEOUT_S:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode} before serving")
            try:
                with urllib.request.urlopen(f"{url}/", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise TimeoutError(f"{argv} served nothing within {COLD_START_TIMEOUT_S} s")
        yield proc, url, time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def seconds_to_first_page(argv: list[str]) -> float:
    """Start ``argv + [port]`` and time until it serves its first page."""
    with serving(argv) as (_, _, seconds):
        return seconds


def cold_start_row(plugins: str | None = None) -> dict[str, Any]:
    """Seconds from `playground serve` to its first page, against a bare Gradio hello-world."""
    app = [sys.executable, "-m", "playground", "serve"]
    if plugins:
        app += ["--plugins", plugins]
    ours, ref = [], []
    for _ in range(COLD_START_REPEATS):  # interleaved, so both see the same machine load
        ours.append(seconds_to_first_page([*app, "--port"]))
        ref.append(seconds_to_first_page([sys.executable, "-c", HELLO_WORLD]))
    ours_s, ref_s = statistics.median(ours), statistics.median(ref)
    return _row(
        "host",
        "cold start to first page",
        "cpu",
        COLD_START_TARGET,
        ours_ms=round(ours_s * 1000, 1),
        reference="gradio hello-world",
        reference_ms=round(ref_s * 1000, 1),
        ratio=round(ours_s / ref_s, 3),
    )


def serving_rows(
    visitors: Iterable[int] = SERVING_VISITORS,
    seconds: float = SERVING_SECONDS,
    plugins: str | None = None,
) -> list[dict[str, Any]]:
    """The app serving visitors: each tab's first view in Chromium against a bare Gradio page
    of the same shape (one visitor, then a burst), then interactive calls while long jobs run,
    and the server's memory. Run by the load harness, `python -m tests.load`, in a process of
    its own; it prints each row as a JSON line."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "tests" / "load" / "__main__.py").is_file():
        raise RuntimeError("the serving rows need a checkout of the repository (tests/load)")
    argv = [sys.executable, "-m", "tests.load", "--rows", "--first-view", "--seconds", str(seconds)]
    argv += ["--long-jobs", str(SERVING_LONG_JOBS), "--think-seconds", str(SERVING_THINK_S)]
    argv += ["--warm-seconds", str(SERVING_WARM_S), "--users", *map(str, visitors)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if plugins:
        env[ENV_LOAD_PLUGINS] = plugins  # the harness and the server it starts both read it
    # The harness's progress and tables go to stderr, where the person running the bench sees
    # them; stdout carries only the rows.
    with subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            out, _ = proc.communicate(timeout=SERVING_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)  # as Ctrl-C: it stops the servers it started
            try:
                proc.wait(timeout=SERVING_STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise RuntimeError(f"the load harness ran past {SERVING_TIMEOUT_S} s") from None
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if not rows:
        raise RuntimeError(f"the load harness ended with {proc.returncode} and no rows")
    return rows
