"""The tab's input checks and what it puts on screen, without a browser."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from playground import testing
from playground.inputs import BadInput
from plugins.softmax import views


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "between 2 and 64 logits"),
        ("3", "between 2 and 64 logits"),
        ("1, two", "'two' is not a number"),
        ("1, nan", "finite number"),
        ("1, inf", "finite number"),
        ("1, 1e7", "finite number"),
        (", ".join(["1"] * 65), "got 65"),
        ("1," * 50_000, "at most 2,000"),
    ],
)
def test_bad_logits_are_refused_with_what_is_allowed(text, message):
    with pytest.raises(BadInput, match=message):
        views.check_logits(text)


@pytest.mark.parametrize(
    ("labels", "message"),
    [("a, a", "distinct"), ("a, " + "b" * 30, "at most 24"), ("a," * 1_001, "too long")],
)
def test_bad_labels_are_refused(labels, message):
    with pytest.raises(BadInput, match=message):
        views.check_labels(labels, 2)


def test_labels_follow_the_number_of_logits():
    assert views.check_labels("a, b, c", 2) == ["a", "b"]
    assert views.check_labels("a", 3) == ["a", "#1", "#2"]
    assert views.check_labels("", 2) == ["#0", "#1"]


@pytest.mark.parametrize("t", [0.0, 0.04, 5.01, float("nan"), float("inf"), None])
def test_temperature_outside_its_range_is_refused(t):
    with pytest.raises(BadInput, match=r"between 0\.05 and 5\.0"):
        views.check_temperature(t)


def test_every_preset_computes():
    for name in views.PRESETS:
        logits, labels = views.load_preset(name)
        assert "Top-1" in views.compute(testing.context(), logits, labels, 1.0, "float32", "").stats
    with pytest.raises(BadInput, match="Unknown preset"):
        views.load_preset("nope")


def test_the_table_shows_the_real_numbers():
    shown = views.compute(testing.context(), "1000, 999", "a, b", 1.0, "float32", "b")
    p = torch.softmax(torch.tensor([1000.0, 999.0]), -1)
    assert [row[0] for row in shown.steps] == ["a", "b"]
    assert float(shown.steps[0][6]) == pytest.approx(p[0].item(), rel=1e-5)
    assert shown.steps[0][5] == "nan"  # the naive column really overflowed
    assert "2 of 2 entries as inf/NaN" in shown.stability
    ce = F.cross_entropy(torch.tensor([[1000.0, 999.0]]), torch.tensor([1])).item()
    assert "Target `b`" in shown.cross_entropy and f"{ce:.4f} nats" in shown.cross_entropy
    assert shown.target.value == "b"


def test_float16_overflows_where_float32_does_not():
    stability16 = views.compute(testing.context(), "12, 0", "", 1.0, "float16", "").stability
    stability32 = views.compute(testing.context(), "12, 0", "", 1.0, "float32", "").stability
    assert "1 of 2 entries as inf/NaN" in stability16
    assert "0 of 2 entries" in stability32


def test_a_logit_the_dtype_cannot_hold_is_refused():
    with pytest.raises(BadInput, match="largest number is 65504"):
        views.compute(testing.context(), "70000, 0", "", 1.0, "float16", "")
    views.compute(testing.context(), "70000, 0", "", 1.0, "float32", "")  # float32 holds it


def test_the_table_shows_what_the_dtype_really_holds():
    table = views.compute(testing.context(), "1000, 999", "", 1.0, "bfloat16", "").steps
    assert [row[1] for row in table] == ["1000", "1000"]  # bfloat16 has 8 bits of mantissa


@pytest.mark.parametrize(
    ("logits", "temperature", "dtype", "target"),
    [("6, 3.1, 2.4, -3", 0.7, "float32", "b"), ("12, 11, 10", 1.3, "float16", "c")],
)
def test_the_exported_script_reproduces_the_numbers_on_screen(logits, temperature, dtype, target):
    result = views.export(logits, "a, b, c, d", temperature, dtype, target)
    assert result.numbers["labels"][:3] == ["a", "b", "c"]
    testing.check_snippet(result, atol=1e-6)


def test_building_the_tab_imports_no_torch():
    code = (
        "import sys, plugins.softmax.tab as t; from playground import testing; "
        "t.build(testing.context()); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
