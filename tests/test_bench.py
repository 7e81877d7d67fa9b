"""Bench rows: timings against a reference, our code alone, figures, and their targets."""

from __future__ import annotations

import pytest
import torch

from playground.bench import BenchCase, Measure, run_cases


def test_each_kind_of_row_and_whether_it_meets_its_target():
    x = torch.randn(64, 512, generator=torch.Generator().manual_seed(0))
    rows = run_cases(
        "demo",
        [
            BenchCase(
                "softmax", lambda: x.exp() / x.exp().sum(-1, keepdim=True), "torch.softmax",
                lambda: torch.softmax(x, -1), target="max_abs_err <= 1e-6",
            ),
            BenchCase("our step alone", lambda: x.sum(), target="ours_ms <= 1e-9"),
            Measure("accuracy", lambda: 87.5, "%", target="value >= 80"),
            Measure("no target", lambda: 3.0, "s"),
        ],
        "cpu",
    )  # fmt: skip
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
