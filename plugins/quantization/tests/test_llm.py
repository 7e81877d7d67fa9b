"""The whole model quantized: perplexity bounds, sizes, copies that leave the shared model alone."""

from __future__ import annotations

import pytest
import torch

from playground import testing
from plugins.models.heldout import heldout_ids, perplexity
from plugins.quantization import llm
from plugins.quantization import quantization as Q
from plugins.quantization.views import HELDOUT_TOKENS


@pytest.fixture(scope="module")
def lm():
    return testing.context().models.get("tiny-llama", "cpu")


@pytest.fixture(scope="module")
def ids():
    return heldout_ids()[: HELDOUT_TOKENS + 1]


@pytest.fixture(scope="module")
def fp32(lm, ids):
    return perplexity(lm.model, ids)


def test_int8_per_channel_stays_within_2_percent_and_int4_per_tensor_is_worse(lm, ids, fp32):
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    int8 = perplexity(llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme())), ids)
    int4 = perplexity(
        llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme("int4", granularity="tensor"))), ids
    )
    assert abs(int8 / fp32 - 1) < 0.02
    assert int4 > fp32 * 1.004 and int4 > int8 * 1.004  # measurably worse, deterministically
    after = lm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # the shared model untouched
    assert not any(isinstance(m, Q.QuantLinear) for m in lm.model.modules())


def test_sizes_shrink_with_bits(lm):
    fp = llm.model_bytes(lm.model)
    assert fp == 4 * sum(p.numel() for p in lm.model.parameters())
    q8 = llm.model_bytes(llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme())))
    q4 = llm.model_bytes(llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme("int4"))))
    linears = sum(m.weight.numel() for _, p, a in llm.linears(lm.model) for m in [getattr(p, a)])
    assert fp - q8 == pytest.approx(linears * 3, rel=0.01)  # 4 bytes -> 1 (+ scales)
    assert q4 < q8 < fp
    kv = lm.model.config
    assert llm.kv_cache_bytes(kv, Q.Scheme("int4"), 512) < llm.kv_cache_bytes(kv, None, 512) / 6


def test_static_calibration_on_bad_text_hurts(lm, ids, fp32):
    def static(source):
        calib = llm.calibration_ids(lm.tokenizer, 8, source, 0)
        scales = llm.calibrate(lm.model, calib)
        return perplexity(
            llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme(), "static"), scales), ids
        )

    good, bad = static("stories"), static("one repeated token")
    assert good < bad and abs(good / fp32 - 1) < 0.02


def test_quantized_greedy_runs_every_quantized_layer(lm):
    ids = torch.tensor([lm.tokenizer("Once upon a time, the queen")["input_ids"]])
    from plugins.gpt import decode

    fp, _ = llm.greedy(lm.model, ids, 8)
    assert fp == decode.greedy(lm.model, ids, 8)[0, ids.shape[1] :].tolist()
    calls = []
    q = llm.quantized_copy(lm.model, llm.Recipe(Q.Scheme("int4", granularity="tensor")))
    for m in q.modules():
        if isinstance(m, Q.QuantLinear):
            m.register_forward_hook(lambda *_: calls.append(1))
    tokens, ms = llm.greedy(q, ids, 4)
    assert len(tokens) == 4 and ms > 0
    assert len(calls) == 5 * 28  # prompt + 4 steps, 4 layers × 7 linears (the last step too)


def test_qat_trains_a_fake_quant_copy_and_yields_progress(lm):
    scheme = Q.Scheme("int4", granularity="tensor")
    progress = list(llm.qat(lm.model, lm.tokenizer, scheme, 3, 1e-4, 0, 60.0, 1, batch=2))
    assert [p.step for p in progress] == [1, 2, 3] and len(progress[-1].losses) == 3
    assert all(loss >= 0 for loss in progress[-1].losses)
    trained = [m for m in progress[-1].model.modules() if isinstance(m, Q.FakeQuantLinear)]
    assert len(trained) == 28
    assert type(lm.model.model.layers[0].self_attn.q_proj) is torch.nn.Linear  # untouched
