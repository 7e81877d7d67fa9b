"""Every public endpoint of the GPT tab through gradio_client, as an API user calls it."""

from __future__ import annotations

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from playground import testing

SETTINGS = ("sample", 0.8, 0, 0.9, 0.0, 4)  # strategy, temperature, top-k, top-p, min-p, beams
PROMPT = "Once upon a time, the queen"


@pytest.fixture(scope="module")
def client():
    (concept,) = testing.load_plugin("gpt").concepts
    with testing.serving(testing.build_concept(concept)) as url:
        yield Client(url, verbose=False)


def call(client, api_name, *, prompt=PROMPT, settings=SETTINGS, count=4, pick=None):
    return client.predict(prompt, "tiny-llama", 0, *settings, True, count, pick, api_name=api_name)


def test_the_public_endpoints_are_the_tabs_main_actions(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert names == {
        f"/gpt_{verb}"
        for verb in ("start", "step", "run", "draws", "cache_timing", "compare", "export", "diff")
    }


def test_start_then_step_keeps_the_sessions_path(client):
    strip, _, candidates, path, summary, _, generated = call(client, "/gpt_start")
    assert len(strip) == 7 and path["data"] == []
    assert len(candidates["data"]) == 20 and "**7 tokens**" in summary and generated == 0
    for expected in (8, 9):  # each step extends the same session's trail by one token
        strip, _, _, path, summary, _, _ = call(client, "/gpt_step")
        assert len(strip) == expected and f"**{expected} tokens**" in summary
    _, _, _, path, summary, _, generated = call(client, "/gpt_run", count=5)
    assert "**14 tokens**" in summary and [row[0] for row in path["data"]] == list(range(7, 14))
    assert generated == 7


def test_a_links_generated_count_regenerates_the_same_text(client):
    call(client, "/gpt_start")
    run = call(client, "/gpt_run", count=6)
    linked = client.predict(
        PROMPT, "tiny-llama", 0, *SETTINGS, True, 4, None, 6, api_name="/gpt_start"
    )
    assert linked[0] == run[0] and linked[6] == 6  # the same tokens, each with its probability
    with pytest.raises(AppError, match=r"Generated tokens must be a whole number from 0 to 1,024"):
        client.predict(
            PROMPT, "tiny-llama", 0, *SETTINGS, True, 4, None, 2.5, api_name="/gpt_start"
        )


def test_draws_and_cache_timing_answer(client):
    plot, note = call(client, "/gpt_draws")
    assert plot and "of 1,000 draws" in note
    plot, note = call(client, "/gpt_cache_timing")
    assert plot and "with the KV cache" in note


def test_compare_answers_a_table(client):
    rows = {
        "headers": ["strategy", "temperature", "top-k", "top-p", "min-p", "beams"],
        "data": [["greedy", 1, 0, 1, 0, 1], ["beam", 1, 0, 1, 0, 2]],
    }
    table, note = client.predict(PROMPT, "tiny-llama", 0, 6, rows, api_name="/gpt_compare")
    assert [row[0] for row in table["data"]] == ["greedy", "beam search, 2 beams"]
    assert "distinct-n" in note


def test_bad_input_gets_a_message_and_the_session_goes_on(client):
    with pytest.raises(AppError, match="Top-k must be a whole number"):
        call(client, "/gpt_step", settings=("sample", 0.8, 2.5, 0.9, 0.0, 4))
    with pytest.raises(AppError, match="greater than maximum value 1"):  # Gradio's own check
        call(client, "/gpt_step", settings=("sample", 0.8, 0, 1.5, 0.0, 4))
    strip, *_ = call(client, "/gpt_start")
    assert len(strip) == 7


@pytest.mark.parametrize(
    "settings", [("sample", 0.8, 40, 0.9, 0.05, 4), ("greedy", 1.0, 0, 1.0, 0.0, 1)]
)
@pytest.mark.slow
def test_the_exported_script_reproduces_the_numbers_on_screen(settings):
    from plugins.gpt import tab, views

    context = testing.context()
    on = tab.events(context)
    trail = on.start(None, None, PROMPT, "tiny-llama", 3, *settings, True, 5, None)[0]
    trail = on.run(trail, None, PROMPT, "tiny-llama", 3, *settings, True, 5, None)[0]
    result = views.export(context, trail, None, PROMPT, "tiny-llama", 3, *settings, True, 5, None)
    assert len(result.numbers["ids"]) == 12 and len(result.numbers["p_of_each_generated_token"])
    testing.check_snippet(result, atol=1e-4)
