"""Bench rows: timings against a reference, our code alone, figures, and their targets."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest
import torch

from playground import bench
from playground.bench import BenchCase, Measure, run_cases
from playground.cli import _counts
from playground.host import ENV_LOAD_PLUGINS


def test_each_kind_of_row_and_whether_it_meets_its_target():
    x = torch.randn(64, 512, generator=torch.Generator().manual_seed(0))
    rows = run_cases(
        "demo",
        [
            BenchCase(
                "softmax",
                lambda: x.exp() / x.exp().sum(-1, keepdim=True),
                "torch.softmax",
                lambda: torch.softmax(x, -1),
                target="max_abs_err <= 1e-6",
            ),
            BenchCase("our step alone", lambda: x.sum(), target="ours_ms <= 1e-9"),
            Measure("accuracy", lambda: 87.5, "%", target="value >= 80"),
            Measure("no target", lambda: 3.0, "s"),
        ],
        "cpu",
    )
    ratio, alone, accuracy, plain = rows
    assert ratio["reference"] == "torch.softmax" and ratio["ratio"] > 0
    assert ratio["max_abs_err"] < 1e-6 and ratio["met"] is True
    assert alone["ours_ms"] > 0 and alone["reference_ms"] is None and alone["met"] is False
    assert (accuracy["value"], accuracy["unit"], accuracy["met"]) == (87.5, "%", True)
    assert plain["target"] is None and plain["met"] is None
    assert len({frozenset(row) for row in rows}) == 1  # every row has the same columns


@pytest.mark.parametrize("target", ["ratio < 1", "speed <= 2", "ratio <= fast"])
def test_a_target_that_does_not_read_like_one_is_refused(target):
    with pytest.raises(ValueError, match="must read like"):
        BenchCase("x", lambda: None, target=target)


def test_a_reference_needs_its_function():
    with pytest.raises(ValueError, match="give both"):
        BenchCase("x", lambda: None, "torch.softmax")


def test_the_serving_rows_come_from_the_load_harness(monkeypatch):
    """`playground bench host` runs `python -m tests.load` in the checkout and keeps the JSON
    rows it prints, whatever else shows on stdout."""
    row = bench._row("host", "first view", "cpu", "ratio <= 1.25", ours_ms=1.0, ratio=1.1)
    prints = ["a table", json.dumps(row)]
    started = []

    class Harness(subprocess.Popen):  # prints `prints` instead of measuring
        def __init__(self, argv, **kwargs):
            started.append((argv, kwargs))
            script = "".join(f"print({line!r})\n" for line in prints)
            super().__init__([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)

    monkeypatch.setattr(bench.subprocess, "Popen", Harness)
    assert bench.serving_rows((10, 50), 30, plugins="softmax") == [row]
    ((argv, kwargs),) = started
    assert argv[1:4] == ["-m", "tests.load", "--rows"] and "--first-view" in argv
    assert argv[argv.index("--users") :] == ["--users", "10", "50"]
    assert kwargs["env"][ENV_LOAD_PLUGINS] == "softmax"
    prints[:] = ["Traceback ..."]
    with pytest.raises(RuntimeError, match="ended with 0 and no rows"):
        bench.serving_rows()


def test_a_harness_that_overruns_is_interrupted_as_ctrl_c_would(monkeypatch):
    real_popen, started = subprocess.Popen, []

    def harness(argv, **kwargs):
        started.append(
            real_popen(
                [sys.executable, "-c", "import time; time.sleep(120)"],
                stdout=subprocess.PIPE,
                text=True,
            )
        )
        return started[-1]

    monkeypatch.setattr(bench, "SERVING_TIMEOUT_S", 1)
    monkeypatch.setattr(bench.subprocess, "Popen", harness)
    with pytest.raises(RuntimeError, match="ran past 1 s"):
        bench.serving_rows()
    assert started[0].returncode is not None  # ended, not left running


def test_bench_takes_the_numbers_of_visitors_as_a_list():
    assert _counts("10,50") == (10, 50) and _counts(" 5 ") == (5,)
    for bad in ("0,10", "", "ten"):
        with pytest.raises((argparse.ArgumentTypeError, ValueError)):
            _counts(bad)
