"""gradio_client against a live `playground serve` started by the test."""

from __future__ import annotations

import pytest
import torch
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground import testing
from playground.host import load
from playground.models import ModelRegistry


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def test_every_endpoint_is_prefixed_by_a_loaded_concept(client):
    ids = {c.id for c in load(registry=ModelRegistry()).concepts}
    names = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/softmax_compute", "/softmax_preset"} <= set(names)
    for name in names:
        assert any(name.startswith(f"/{i}_") for i in ids), name


def test_softmax_compute_returns_the_real_probabilities(client):
    stats, _, _, table, stability, xent, target = client.predict(
        "2, 1, 0.1", "cat, dog, fish", 0.5, "float32", "dog", api_name="/softmax_compute"
    )
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1]) / 0.5, -1)
    probs = [float(row[6]) for row in table["data"]]
    assert probs == pytest.approx(p.tolist(), rel=1e-5)
    assert "Top-1:** `cat`" in stats and "Target `dog`" in xent
    assert "0 of 3 entries" in stability and target["value"] == "dog"


def test_softmax_preset_fills_the_inputs(client):
    logits, labels = client.predict("Huge logits [1000, 999, 998]", api_name="/softmax_preset")
    assert logits == "1000, 999, 998" and labels == "mat, floor, sofa"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "", 1.0, "float32", ""), "between 2 and 64 logits"),
        (("1, x", "", 1.0, "float32", ""), "'x' is not a number"),
        (("1, 2", "", 9.0, "float32", ""), "9"),
        (("1, 2", "", 1.0, "int8", ""), "int8"),
        (("1," * 50_000, "", 1.0, "float32", ""), "at most 2,000"),
    ],
)
def test_bad_input_gets_a_message_and_the_server_keeps_serving(client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/softmax_compute")
    stats, *_ = client.predict("1, 2", "", 1.0, "float32", "", api_name="/softmax_compute")
    assert "Top-1" in stats


def test_nan_and_inf_sent_raw_get_a_message(server):
    for value in (float("nan"), float("inf")):
        event, message = testing.call_endpoint(
            server, "softmax_compute", ("1, 2", "", value, "float32", "")
        )
        assert event == "error" and "5.0" in message  # says what the range is


def test_softmax_diff_compares_two_temperatures(client):
    table = client.predict(
        "t=2", "2, 1, 0.1", "cat, dog, fish", 0.5, "float32", "dog", api_name="/softmax_diff"
    )
    rows = {row[0]: row[1:] for row in table["data"]}
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1]) / 0.5, -1)
    q = torch.softmax(torch.tensor([2.0, 1.0, 0.1]) / 2.0, -1)
    kl = torch.nn.functional.kl_div(q.log(), p, reduction="sum").item()
    assert float(rows["probabilities: KL(A ‖ B)"][2]) == pytest.approx(kl, rel=1e-3)
    with pytest.raises(AppError, match="no setting 'temp'"):
        client.predict("temp=2", "2, 1", "", 1.0, "float32", "", api_name="/softmax_diff")


def test_softmax_exercise_reveals_only_a_committed_answer(client):
    reveal = client.predict("softmax-float16", "Only the largest", api_name="/softmax_exercise")
    assert reveal.startswith("**Right.** The model says: **Only the largest**.")
    assert "off by" in client.predict(
        "softmax-half-temperature", "0.5", api_name="/softmax_exercise"
    )
    with pytest.raises(AppError, match="Pick one of: None of them, Only the largest"):
        client.predict("softmax-float16", "Two", api_name="/softmax_exercise")
    with pytest.raises(AppError, match="Enter a number"):
        client.predict("softmax-half-temperature", "half", api_name="/softmax_exercise")
    with pytest.raises(AppError, match="Unknown exercise"):
        client.predict("nope", "x", api_name="/softmax_exercise")
