"""`playground bench`: each concept's from-scratch code against its reference library.

Both sides of a case run interleaved on the same inputs; we report medians and
ratio = ours_ms / reference_ms (below 1 means ours is faster), plus the largest absolute
difference between the two outputs. The host adds one row of its own: the app's cold start
against a bare Gradio hello-world, measured the same way in the same run.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from playground.models import ModelRegistry, load_model

MIN_REPEATS = 5
MAX_REPEATS = 200
TIME_BUDGET_S = 1.0  # per case, both sides together
COLD_START_REPEATS = 3
COLD_START_TIMEOUT_S = 120.0

HELLO_WORLD = (
    "import gradio as gr, sys\n"
    "with gr.Blocks() as demo:\n"
    "    gr.Markdown('hello')\n"
    "demo.launch(server_name='127.0.0.1', server_port=int(sys.argv[1]))\n"
)


@dataclass(frozen=True)
class BenchCase:
    case: str  # what is measured, e.g. "softmax 64 x 50257"
    ours: Callable[[], Any]  # our from-scratch code, the one the tab shows
    reference: str  # the library call it is compared with, e.g. "torch.softmax"
    reference_fn: Callable[[], Any]  # that call, on the same inputs


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
        return (ours.double() - reference.double()).abs().max().item()
    return None


def run_case(concept: str, case: BenchCase, device: str) -> dict[str, Any]:
    for _ in range(2):  # warm-up: lazy init, caches, allocator
        case.ours(), case.reference_fn()
    _sync(device)
    ours_ms, ref_ms = [], []
    started = time.perf_counter()
    while len(ours_ms) < MAX_REPEATS and (
        len(ours_ms) < MIN_REPEATS or time.perf_counter() - started < TIME_BUDGET_S
    ):
        t, ours_out = _timed(case.ours, device)
        ours_ms.append(t)
        t, ref_out = _timed(case.reference_fn, device)
        ref_ms.append(t)
    ours, ref = statistics.median(ours_ms), statistics.median(ref_ms)
    return {
        "concept": concept,
        "case": case.case,
        "device": device,
        "ours_ms": round(ours, 4),
        "reference": case.reference,
        "reference_ms": round(ref, 4),
        "ratio": round(ours / ref, 3) if ref > 0 else None,
        "max_abs_err": max_abs_err(ours_out, ref_out),
    }


def run_cases(concept: str, cases: Iterable[BenchCase], device: str) -> list[dict[str, Any]]:
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
            t, model = _timed(lambda spec=spec: load_model(spec, device), device)
            times.append(t)
        rows.append(
            {
                "concept": "models",
                "case": f"load {spec.id}",
                "device": device,
                "ours_ms": round(min(times), 1),
                "reference": None,
                "reference_ms": None,
                "ratio": None,
                "max_abs_err": None,
            }
        )
        if spec.bench is not None:
            cases = [replace(c, case=f"{c.case}, {spec.id}") for c in spec.bench(model, device)]
            rows += run_cases("models", cases, device)
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seconds_to_first_page(argv: list[str]) -> float:
    """Start ``argv + [port]`` and time until it serves its first page."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*argv, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - start < COLD_START_TIMEOUT_S:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode} before serving")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{argv} served nothing within {COLD_START_TIMEOUT_S} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
    return {
        "concept": "host",
        "case": "cold start to first page",
        "device": "cpu",
        "ours_ms": round(ours_s * 1000, 1),
        "reference": "gradio hello-world",
        "reference_ms": round(ref_s * 1000, 1),
        "ratio": round(ours_s / ref_s, 3),
        "max_abs_err": None,
    }
