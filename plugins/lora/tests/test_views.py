"""The tab's views on the real model: plan, a short training run, ΔW, merge, save and load,
refused uploads; transfer learning's frozen features against random ones."""

from __future__ import annotations

import re
import zipfile

import pytest

from playground import testing
from plugins.lora import adapter, data, views

SETTINGS = ("tiny-llama", 4, 8, 0.0, ["q_proj", "v_proj"], 10, 3e-3, 0)


@pytest.fixture(scope="module")
def run():
    *_, last = views.train(testing.context(), data.style_text("Pirate captain"), *SETTINGS)
    summary, result = last.summary, last.run
    assert "Step 10 of 10" in summary and "held-out loss" in summary
    return result


def test_plan_counts_the_adapter_and_the_memory(run):
    plan = views.plan(testing.context(), *SETTINGS)
    summary, table, cmd = plan.summary, plan.table, plan.command
    # r (k + d) for q and v, 192 -> 192, in 4 layers: 4 · 2 · 4 · 384
    assert "**12,288 trainable parameters** of 2,557,632" in summary
    assert [row[0] for row in table] == ["full fine-tune", "LoRA", "QLoRA (NF4 base)"]
    assert (
        cmd.startswith("# settings")
        and "playground lora-train \\\n  --model tiny-llama --rank 4 --alpha 8" in cmd
    )
    assert "--targets q_proj,v_proj" in cmd and "--steps 10 --lr 0.003 --seed 0" in cmd


@pytest.mark.parametrize(
    "i,value,message",
    [
        (1, 65, "rank r must be a whole number from 1 to 64"),
        (6, 0, "learning rate"),
        (4, [], "at least one target"),
        (5, 2001, "Steps must be"),
        (0, "gpt-9", "not a registered"),
    ],
)
def test_bad_settings_are_refused_with_what_is_allowed(i, value, message):
    settings = list(SETTINGS)
    settings[i] = value
    with pytest.raises(views.BadInput, match=message):
        views.plan(testing.context(), *settings)


def test_text_limits():
    with pytest.raises(views.BadInput, match="at least 10 different"):
        views.check_text("x" * 100_000)
    with pytest.raises(views.BadInput, match="200 kB"):
        views.check_text("a line\n" * 40_000)


def test_delta_w_has_rank_r_and_merging_changes_no_output(run, monkeypatch):
    monkeypatch.setattr(adapter, "TIMING_REPEATS", 2)  # the timings are shown, not checked here
    names = adapter.layer_names(run)
    assert names[0] == "model.layers.0.self_attn.q_proj" and len(names) == 8
    md = adapter.inspect(run, names[0]).note
    assert "numerical rank is **4** (r = 4)" in md
    with pytest.raises(views.BadInput, match="adapted layers"):
        adapter.inspect(run, "model.layers.0.mlp.up_proj")
    context = testing.context()
    merged = adapter.merge(context, run, "Arr!")
    assert "the sampled continuations are **identical**" in merged
    diff = float(re.search(r"merged vs unmerged: \*\*([0-9.e+-]+)\*\*", merged).group(1))
    assert diff < 1e-4
    text = adapter.generate(context, run, "Arr!", 1)
    before, after = text.before, text.after
    assert before.startswith("Arr!") and after.startswith("Arr!") and before != after


def test_a_saved_adapter_loads_back_and_bad_uploads_are_refused(run, tmp_path):
    context = testing.context()
    path = adapter.save(run)
    shown = adapter.load_adapter(context, [path], "tiny-llama")
    message, loaded = shown.note, shown.run
    assert "rank 4" in message and loaded.tensors.keys() == run.tensors.keys()
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path)
    message = adapter.load_adapter(
        context,
        [str(tmp_path / "adapter_model.safetensors"), str(tmp_path / "adapter_config.json")],
        "tiny-llama",
    ).note
    assert "rank 4" in message
    (tmp_path / "adapter_model.safetensors").write_bytes(b"not safetensors at all")
    with pytest.raises(views.BadInput, match="not safetensors"):
        adapter.load_adapter(
            context,
            [str(tmp_path / "adapter_model.safetensors"), str(tmp_path / "adapter_config.json")],
            "tiny-llama",
        )
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(views.BadInput, match=r"only \.zip, \.safetensors and \.json"):
        adapter.load_adapter(context, [str(tmp_path / "notes.txt")], "tiny-llama")
    with pytest.raises(views.BadInput, match="Train an adapter first"):
        adapter.merge(context, None, "Arr!")


@pytest.mark.slow
def test_transfer_table_frozen_and_fine_tuned_features_beat_random_ones():
    shown = views.transfer(testing.context(), 0)
    rows, md = shown.table, shown.note  # what the tab shows, at the shipped settings
    methods = [row[0] for row in rows]
    assert methods == [
        "frozen MiniLM + linear head (300 steps)",
        "random features + linear head (300 steps)",
        "fine-tune everything (1 epoch, 10 AdamW steps)",  # 240 sentences, batches of 24
    ]
    frozen, random, full = (float(row[1].rstrip("%")) / 100 for row in rows)
    assert frozen >= 0.85 > 0.5 > random
    assert full >= 0.85 > random  # measured: 96.9% at seed 0
    assert [row[3] for row in rows] == ["1,540", "1,540", "22,714,756"]
    assert "240 training and 96 test sentences" in md
