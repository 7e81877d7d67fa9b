"""The tab's input checks and what its views put on screen, without a browser."""

from __future__ import annotations

import json

import gradio as gr
import pytest
import torch

from playground import testing
from plugins.models.paths import DENSE_DIR, MOE_DIR
from plugins.moe import lab, reproduce, tab, views

LAB = ("shifted", 32, 8, 2, 1.0, 0.0, 0)  # shape, tokens, experts, k, capacity, noise, seed


@pytest.fixture(scope="module")
def on():
    return tab.events(testing.context())  # the handlers as the tab binds them


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({1: 0}, "from 1 to 512"),
        ({1: 513}, "from 1 to 512"),
        ({1: 3.5}, "whole number"),
        ({2: 1}, "from 2 to 64"),
        ({2: 65}, "from 2 to 64"),
        ({3: 0}, "from 1 to 4"),
        ({3: 5}, "from 1 to 4"),
        ({2: 2, 3: 3}, "more than the 2 experts"),
        ({4: 0}, "above 0 and at most 4"),
        ({4: 4.5}, "above 0 and at most 4"),
        ({4: -1}, "above 0"),
        ({4: float("nan")}, "above 0"),
        ({5: 2.5}, "from 0 to 2"),
        ({6: float("inf")}, "seed"),
        ({0: "square"}, "Token shape must be one of"),
    ],
)
def test_the_lab_refuses_what_is_out_of_range(change, message):
    args = list(LAB)
    for i, value in change.items():
        args[i] = value
    with pytest.raises(gr.Error, match=message):
        tab.on_lab(*args)


def test_the_lab_shows_its_drops_and_loss():
    md, _, _, rows = tab.on_lab("near-identical", 32, 8, 2, 1.0, 0.0, 0)
    assert "capacity C = ⌈1 · 32 · 2 / 8⌉ = **8**" in md
    # near-identical tokens all pick the same two experts: 8 seats each, 48 of 64 dropped
    assert "**dropped**: 48 of 64 choices" in md and len(rows) == 48
    assert all(row[2] in (1, 5) for row in rows)
    _, _, _, none = tab.on_lab("near-identical", 32, 8, 2, 4.0, 0.0, 0)  # C = 32: room for all
    assert none == []
    md_random, *_ = tab.on_lab("random", 256, 8, 2, 1.25, 0.0, 0)
    assert "Load-balancing loss" in md_random and "max / mean" in md_random


def test_lab_tokens_are_seeded():
    a = lab.make_tokens("clustered", 10, 4, torch.Generator().manual_seed(3))
    b = lab.make_tokens("clustered", 10, 4, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_route_reads_the_real_model_and_checks_our_layer(on):
    status, maps, loads, verdict = on.route("The capital of France is Paris.")
    assert "tokens** through tiny-mixtral's 4 layers, 8 experts each, top-2" in status
    assert "Our layer reproduces the model" in verdict and "100.0%" in verdict
    assert len(maps.data) == 8  # a heatmap and the top-k rings per layer
    assert sum(loads.data[0].y) == 2 * int(status.split("**")[1].split()[0])


@pytest.mark.parametrize("text", ["", "   ", "x" * 5_000])
def test_route_refuses_empty_or_long_text(on, text):
    with pytest.raises(gr.Error, match=r"Type some text|at most 4,000"):
        on.route(text)


def test_compare_reads_the_models_own_numbers(on):
    rows, note = on.compare("Once upon a time", 8)
    for row, folder in zip(rows, (DENSE_DIR, MOE_DIR), strict=True):
        ev = json.loads((folder / "eval.json").read_text())
        assert row[2] == f"{ev['parameters']:,}" and row[3] == f"{ev['active']:,}"
        assert row[5] == f"{ev['perplexity']:.3f}"
    assert "**tiny-llama** (greedy)" in note and "**tiny-mixtral** (greedy)" in note
    with pytest.raises(gr.Error, match="from 1 to 64"):
        on.compare("Once", 65)


def test_training_collapses_without_the_aux_loss_and_stays_even_with_it(monkeypatch):
    monkeypatch.setattr(views, "MAX_TRAIN_SECONDS", float("inf"))  # a busy machine is no cap here
    *_, (progress, figure, summary) = views.train(8, 2, 150, 0.05, 0)
    without, with_aux = progress.imbalance.values()
    assert len(without) == 150 and progress.step == 150
    assert without[-1] > 2 * with_aux[-1]  # 8 experts, top-2: 4.0 is total collapse
    assert "Step 150 of 150" in summary and len(figure.data) == 2 * 8 + 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, 2, 5, 0.05, 0), "from 10 to 5,000"),
        ((8, 2, 5001, 0.05, 0), "from 10 to 5,000"),
        ((8, 2, 100, 0, 0), "above 0"),
        ((8, 9, 100, 0.05, 0), "from 1 to 4"),
        ((8, 2, 100, float("nan"), 0), "from 0 to 1"),
    ],
)
def test_training_refuses_bad_settings(args, message):
    with pytest.raises(gr.Error, match=message):
        next(tab.on_train(*args, progress=lambda *a, **k: None))


@pytest.mark.slow
def test_the_exported_script_reads_the_same_routing_from_transformers_mixtral():
    result = reproduce.export(testing.context(), "The king and the queen met.")
    assert len(result.numbers["experts"]) == len(result.numbers["probabilities"]) == 4
    assert "output_router_logits=True" in result.snippet
    testing.check_snippet(result, atol=1e-5)
