"""The GPT tab's handlers on the bundled model, without a browser: what they refuse, and that
stepping, clicking, rewinding, picking by hand, drawing and comparing show the real numbers."""

from __future__ import annotations

import gradio as gr
import pytest
import torch

from playground import testing
from plugins.gpt import decode, tab, views
from plugins.gpt.sampling import Settings

FIELDS = [
    "trail",
    "position",
    "prompt",
    "model",
    "seed",
    "strategy",
    "temperature",
    "top_k",
    "top_p",
    "min_p",
    "beams",
    "use_cache",
    "count",
    "pick",
]
DEFAULTS = dict(
    trail=None,
    position=None,
    prompt="Once upon a time, the queen",
    model="tiny-llama",
    seed=0,
    strategy="sample",
    temperature=1.0,
    top_k=0,
    top_p=0.9,
    min_p=0.0,
    beams=4,
    use_cache=True,
    count=8,
    pick=None,
)


@pytest.fixture(scope="module")
def on():
    return tab.events(testing.context())  # the tab's events, bound as build binds them


@pytest.fixture(scope="module")
def lm():
    return testing.context().models.get("tiny-llama", "cpu")


def values(**changes) -> list:
    merged = {**DEFAULTS, **changes}
    return [merged[name] for name in FIELDS]


def screen(outputs) -> dict:
    names = [
        "trail",
        "position",
        "strip",
        "plot",
        "candidates",
        "path",
        "summary",
        "pick",
        "generated",
    ]
    return dict(zip(names, outputs, strict=True))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(strategy="nucleus"), "Strategy must be one of greedy, sample, beam"),
        (dict(temperature=0), r"Temperature must be in \(0, 5\]"),
        (dict(temperature=5.5), r"Temperature must be in \(0, 5\]"),
        (dict(temperature=float("nan")), "Temperature"),
        (dict(top_k=-1), "Top-k must be a whole number from 0 to 500"),
        (dict(top_k=2.5), "Top-k must be a whole number"),
        (dict(top_p=0), r"Top-p must be in \(0, 1\]"),
        (dict(top_p=1.2), r"Top-p must be in \(0, 1\]"),
        (dict(min_p=1), r"Min-p must be in \[0, 1\)"),
        (dict(beams=9), "Beams must be a whole number from 1 to 8"),
        (dict(count=257), "Tokens to run must be a whole number from 1 to 256"),
        (dict(seed=-1), "The seed must be a whole number"),
        (dict(prompt="x" * 2_001), "at most 2,000"),
        (dict(model="gpt-5"), "Unknown model 'gpt-5'"),
        (dict(model="gpt2"), "gpt2 .* is not available here: .*HF_HUB_OFFLINE is set"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(on, changes, message):
    with pytest.raises(gr.Error, match=message):
        on.step(*values(**changes))


def test_the_prompt_is_split_into_subword_tokens_with_ids(on, lm):
    out = screen(on.start(*values(prompt="Unbelievable tokenization")))
    ids = lm.tokenizer("Unbelievable tokenization")["input_ids"]
    assert [int(label) for _, label in out["strip"]] == ids
    assert "".join(text for text, _ in out["strip"]).replace("␣", " ") == (
        "Unbelievable tokenization"
    )
    assert len(ids) > 2  # subwords: fewer pieces than characters, more than words


def test_an_empty_prompt_starts_from_the_beginning_of_text_token(on):
    out = screen(on.start(*values(prompt="")))
    assert [label for _, label in out["strip"]] == ["0"]
    assert "beginning-of-text token" in out["summary"]


def test_a_long_prompt_is_cut_from_the_left_with_a_notice(on, lm):
    out = screen(on.start(*values(prompt="The cat sat on the mat. " * 80)))
    assert len(out["trail"].ids) == 512 - views.MAX_NEW_TOKENS
    assert "were dropped" in out["summary"]


def test_stepping_shows_the_models_real_next_token_distribution(on, lm):
    out = screen(on.start(*values(top_p=1.0)))
    trail = out["trail"]
    ids = torch.tensor([trail.ids])
    with torch.no_grad():
        p = lm.model(input_ids=ids).logits[0, -1].softmax(-1)
    top = p.topk(views.TOP_N)
    assert [row[2] for row in out["candidates"]] == top.indices.tolist()
    assert [float(row[4].rstrip("%")) for row in out["candidates"]] == pytest.approx(
        (top.values * 100).tolist(), abs=0.006
    )
    for _ in range(3):
        out = screen(on.step(*values(trail=out["trail"], top_p=1.0)))
    assert len(out["trail"].ids) == len(ids[0]) + 3
    assert [row[0] for row in out["path"]] == [7, 8, 9]
    assert all("·" in label for _, label in out["strip"][-3:])  # generated: id · probability
    assert "**10 tokens** (7 prompt, 3 generated)" in out["summary"]


def test_settings_grey_out_what_they_remove_without_generating(on):
    trail = on.start(*values())[0]
    out = screen(on.view(*values(trail=trail, top_k=3, top_p=1.0)))
    kept = [row[6] for row in out["candidates"]]
    assert kept[:3] == ["kept"] * 3 and set(kept[3:]) == {"removed"}
    assert "keeps **3** of 4,096 tokens" in out["summary"]
    assert len(out["trail"].ids) == 7  # nothing was generated


def test_a_seed_makes_runs_repeat_and_greedy_matches_decode(on, lm):
    runs = [on.run(*values(count=12))[0].generated for _ in range(2)]
    assert runs[0] == runs[1]
    greedy = on.run(*values(strategy="greedy", count=12))[0]
    ids = torch.tensor([greedy.ids[: greedy.prompt_len]])
    assert greedy.generated == decode.greedy(lm.model, ids, 12)[0, ids.shape[1] :].tolist()


def test_run_with_beam_search_appends_the_best_beam(on, lm):
    trail = on.run(*values(strategy="beam", beams=4, count=10))[0]
    ids = torch.tensor([trail.ids[: trail.prompt_len]])
    best = decode.beam_search(lm.model, ids, 4, 10, eos_id=0)[0]
    assert trail.generated == best.tokens
    assert {c.how for c in trail.choices.values()} == {"beam search, 4 beams"}


def test_click_a_past_token_rewind_and_pick_another_by_hand(on, lm):
    trail = on.run(*values(count=6))[0]
    chosen = trail.ids[9]
    out = screen(on.view(*values(trail=trail, position=9)))
    assert out["position"] == 9 and "position 9 (when the model chose it)" in out["summary"]
    with torch.no_grad():
        p = lm.model(input_ids=torch.tensor([trail.ids[:9]])).logits[0, -1].softmax(-1)
    assert chosen in [row[2] for row in out["candidates"]]
    out = screen(on.rewind(*values(trail=trail, position=9)))
    assert len(out["trail"].ids) == 9 and 9 not in out["trail"].choices
    other = next(row[2] for row in out["candidates"] if row[2] != chosen)
    out = screen(on.choose(*values(trail=out["trail"], pick=other)))
    assert out["trail"].ids[9] == other
    picked = out["trail"].choices[9]
    assert picked.how == "by hand" and picked.prob == pytest.approx(p[other].item(), rel=1e-4)


def test_rewinding_needs_a_generated_token(on):
    trail = on.start(*values())[0]
    with pytest.raises(gr.Error, match="Click a generated token"):
        on.rewind(*values(trail=trail, position=2))


def test_a_full_context_is_refused_not_overrun(on):
    trail = on.start(*values(prompt="The cat sat on the mat. " * 80))[0]
    trail = on.run(
        *values(trail=trail, prompt="The cat sat on the mat. " * 80, strategy="greedy", count=256)
    )[0]
    if len(trail.ids) == 512:  # the model did not end the text on its own
        with pytest.raises(gr.Error, match="reads at most 512 tokens"):
            on.step(*values(trail=trail, prompt="The cat sat on the mat. " * 80))


def test_draws_estimate_the_exact_distribution(on):
    plot, note = on.draws(*values(temperature=1.5, top_p=1.0))
    exact, shares = plot.data[0].y, plot.data[1].y
    assert max(abs(a - b) for a, b in zip(exact, shares, strict=True)) < 0.06
    assert "of 1,000 draws" in note and "Seed 0" in note
    greedy, _ = on.draws(*values(strategy="greedy"))
    assert list(greedy.data[1].y) == [1.0]  # greedy takes the argmax every time: one bar


def test_greedy_says_it_draws_nothing_rather_than_what_it_keeps(on):
    trail = on.start(*values())[0]
    out = screen(on.view(*values(trail=trail, strategy="greedy")))
    assert "**greedy** takes the most likely token (p = " in out["summary"]
    assert "keeps" not in out["summary"] and "renormalised" not in out["summary"]


def test_cache_timing_reports_both(on, lm):
    plot, note = on.cache_timing(*values())
    assert plot["visible"] is True  # hidden until there is a timing to show
    assert {trace.name for trace in plot["value"].data} == {"KV cache", "no cache"}
    assert "with the KV cache" in note and "without" in note


def test_compare_runs_each_setting_on_the_same_prompt(on, lm):
    rows = [["greedy", 1, 0, 1, 0, 1], ["sample", 0.7, 0, 0.9, 0, 1], ["beam", 1, 0, 1, 0, 3]]
    table, note = on.compare("The cat", "tiny-llama", 0, 12, rows)
    assert "seed 0" in note
    assert [r[0] for r in table] == ["greedy", "sample, T=0.7, top-p=0.9", "beam search, 3 beams"]
    ids = lm.tokenizer("The cat", return_tensors="pt")["input_ids"]
    greedy = decode.greedy(lm.model, ids, 12)[0, ids.shape[1] :].tolist()
    assert table[0][1] == lm.tokenizer.decode(greedy[: table[0][2]])
    for _, _, n, mean_logp, d1, d2 in table:
        assert 1 <= n <= 12 and mean_logp <= 0 and 0 < d1 <= 1 and 0 <= d2 <= 1
    gen = torch.Generator().manual_seed(0)
    sampled = [
        s.token
        for s in decode.steps(lm.model, ids, Settings("sample", 0.7, top_p=0.9), 12, gen, eos_id=0)
    ]
    assert table[1][1] == lm.tokenizer.decode(sampled)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([["greedy", 1, 0, 1, 0, 1]], "Compare 2 to 4 settings"),
        ([["greedy", 1, 0, 1, 0, 1]] * 5, "Compare 2 to 4 settings"),
        ([["greedy", 1, 0, 1, 0, 1], ["sample", 9, 0, 1, 0, 1]], "Row 2: Temperature"),
        ([["greedy", 1, 0, 1, 0, 1], ["magic", 1, 0, 1, 0, 1]], "Row 2: Strategy"),
        ([["greedy", 1, 0], ["greedy", 1, 0]], "Row 1 needs 6 values"),
    ],
)
def test_bad_compare_rows_are_refused(on, rows, message):
    with pytest.raises(gr.Error, match=message):
        on.compare("The cat", "tiny-llama", 0, 8, rows)
