"""The `playground` command: plugins, models, bench, and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def playground(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "playground", *args],
        capture_output=True,
        text=True,
        check=check,
        env=env,
    )


def test_plugins_json_lists_hooks_and_concepts():
    records = {r["name"]: r for r in json.loads(playground("plugins", "--json").stdout)}
    softmax = records["softmax"]
    assert softmax["ok"] and softmax["errors"] == []
    assert softmax["hooks"] == ["register_concepts", "register_exercises"]
    assert softmax["concepts"] == ["softmax"] and len(softmax["exercises"]) == 3
    assert records["lora"]["commands"] == ["lora-train"]
    assert softmax["distribution"] == "ml-playground"


@pytest.mark.slow
def test_plugins_text_and_models():
    assert "softmax  ml-playground" in playground("plugins").stdout
    rows = {r["id"]: r for r in json.loads(playground("models", "--json").stdout)}
    assert {"tiny-llama", "tiny-mixtral", "minilm", "digits-unet", "two-moons"} <= set(rows)
    for row in rows.values():
        assert set(row) >= {
            "id",
            "task",
            "source",
            "parameters",
            "loaded",
            "available",
            "why_unavailable",
        }
        assert row["loaded"] is False  # listing loads nothing
    assert rows["tiny-llama"]["available"] and rows["tiny-llama"]["task"] == "causal-lm"
    assert not rows["gpt2"]["available"] and "HF_HUB_OFFLINE" in rows["gpt2"]["why_unavailable"]
    assert "tiny-mixtral  moe-lm" in playground("models").stdout


@pytest.mark.slow
def test_bench_softmax_prints_json_rows():
    out = playground("bench", "softmax", "--json", "--device", "cpu").stdout
    rows = [json.loads(line) for line in out.splitlines()]
    assert {r["case"] for r in rows} >= {"softmax 1x50257", "softmax 64x50257"}
    for row in rows:
        assert set(row) >= {
            "concept",
            "case",
            "ours_ms",
            "reference",
            "reference_ms",
            "ratio",
            "max_abs_err",
        }
        assert row["concept"] == "softmax" and row["ours_ms"] > 0 and row["reference_ms"] > 0
        assert row["max_abs_err"] < 1e-2


def test_unknown_plugin_or_concept_is_an_error_not_a_traceback():
    result = playground("plugins", "--plugins", "nope", check=False)
    assert result.returncode == 2 and "no such plugin: nope" in result.stderr
    result = playground("bench", "nope", check=False)
    assert result.returncode == 2 and "no benchmark for 'nope'" in result.stderr
    result = playground("serve", "--device", "tpu", check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_a_plugins_command_runs_and_help_lists_it(tmp_path):
    assert "lora-train (the LoRA tab's run" in playground("--help").stdout
    usage = playground("lora-train", "--help").stdout
    assert "--rank" in usage and "--data" in usage
    args = ["--rank", "99", "--data", str(tmp_path / "none.txt"), "--out", str(tmp_path / "out")]
    bad = playground("lora-train", *args, check=False)
    assert bad.returncode == 2 and "--rank must be 1-64" in bad.stderr
    assert "is not a file" in bad.stderr and not (tmp_path / "out").exists()
