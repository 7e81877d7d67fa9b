"""The tab's export and compare: the exported script recounts the plan with transformers and
peft in a fresh Python, and the Compare panel puts two ranks side by side; the exercises."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from playground import testing
from plugins.lora import views

SETTINGS = {  # two plans: attention only with dropout, and every module at a high rank
    "q and v, r=4": ("tiny-llama", 4, 8, 0.1, ["q_proj", "v_proj"], 10, 3e-3, 3),
    "all seven, r=32": ("tiny-llama", 32, 64, 0.0, list(views.TARGETS), 150, 1e-3, 0),
}


@pytest.fixture(scope="module")
def on():
    from plugins.lora import tab

    return tab.events(testing.context())  # the handlers as the tab binds them


def test_the_export_holds_the_plan_on_screen(on):
    settings = SETTINGS["q and v, r=4"]
    result = on.export(*settings, None)
    plan = views.plan(testing.context(), *settings)
    summary, table = plan.summary, plan.table
    n = result.numbers
    assert f"**{n['trainable_parameters']:,} trainable parameters** of " in summary
    assert f"{n['total_parameters']:,}" in summary and f"(**{n['trainable_percent']:.2f}%**)" in (
        summary
    )
    # r (k + d) for q and v, 192 -> 192, in 4 layers
    assert n["trainable_parameters"] == 4 * 2 * 4 * 384
    assert [f"{n[f'{key}_total_mib']:,.2f} MiB" for key in ("full", "lora", "qlora")] == [
        row[-1] for row in table
    ]
    assert set(result.tables) == {"memory-mib"}
    snippet = result.snippet
    assert "LoraConfig(r=4, lora_alpha=8.0, lora_dropout=0.1," in snippet
    assert "target_modules=['q_proj', 'v_proj']" in snippet and "torch.manual_seed(3)" in snippet


@pytest.mark.slow
def test_the_exported_script_recounts_the_plan_with_peft(on):
    results = [on.export(*settings, None) for settings in SETTINGS.values()]
    with ThreadPoolExecutor(len(results)) as pool:  # two fresh interpreters side by side
        list(pool.map(testing.check_snippet, results))


def test_the_export_of_a_session_with_a_run_adds_its_losses_only(on):
    from plugins.lora.train import TrainConfig

    run = views.Run(TrainConfig(rank=4), {}, losses=(5.0, 4.0, 3.5))
    result = on.export(*SETTINGS["q and v, r=4"], run)
    assert result.numbers == on.export(*SETTINGS["q and v, r=4"], None).numbers
    assert result.tables["run-loss"] == (["step", "loss"], [[1, 5.0], [2, 4.0], [3, 3.5]])


def test_compare_puts_two_ranks_side_by_side():
    from plugins.lora import tab

    blocks = tab.build(testing.context())
    diff = next(fn for fn in blocks.fns.values() if fn.api_name == "lora_diff")
    assert diff.api_visibility == "public"
    rows = diff.fn('rank=32&targets=["q_proj"]', *SETTINGS["q and v, r=4"], None)
    by_name = {row[0]: row[1:] for row in rows}
    # r=32 on q alone: 4 layers · 32 · 384
    assert by_name["trainable_parameters"] == ["12,288", "49,152", "36,864"]
    assert by_name["total_parameters"][-1] == "0" and by_name["targets"][-1] == "differs"
    with pytest.raises(Exception, match="B's rank='99'"):
        diff.fn("rank=99", *SETTINGS["q and v, r=4"], None)


def test_the_exercises_solve_on_the_real_model():
    host = testing.load_plugin("lora")
    answers = {e.id: e.solve(testing.context()) for e in host.exercises("lora")}
    assert len(answers) == 3
    assert answers["lora-trainable-percent"].truth == pytest.approx(100 * 24_576 / 2_557_632)
    assert answers["lora-zero-init"].truth == "Exactly 0"
    assert answers["lora-delta-rank"].truth == 4
