"""The GPT next-token tab: layout, then events. The math lives in sampling.py and decode.py,
what each event shows in views.py."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground import share
from playground.concept import Context
from playground.inputs import MAX_SEED, guard
from plugins.gpt import views
from plugins.gpt.views import (
    CACHE_TIMING_TOKENS,
    COMPARE_HEADERS,
    DRAWS,
    MAX_BEAMS,
    MAX_COMPARE,
    MAX_LINK_TOKENS,
    MAX_NEW_TOKENS,
    MAX_PROMPT_CHARS,
    MAX_TOP_K,
    MIN_COMPARE,
    T_MAX,
    T_MIN,
)

DEFAULT_MODEL = "tiny-llama"
DEFAULT_PROMPT = "Once upon a time, the queen met"  # " the" 38 %, " a" 31 %, then names
CONCURRENCY = "gpt"  # every event of this tab shares one worker queue
SOURCES = [Path(__file__).with_name(name) for name in ("sampling.py", "decode.py")]
COMPARE_DEFAULT = [
    ["greedy", 1.0, 0, 1.0, 0.0, 1],
    ["sample", 0.7, 0, 0.9, 0.0, 1],
    ["sample", 1.5, 0, 1.0, 0.0, 1],
    ["beam", 1.0, 0, 1.0, 0.0, 4],
]

INTRO = """
A GPT answers one question, over and over: **given every token so far, what comes next?**
It outputs one logit per vocabulary entry; softmax makes them a distribution; a *decoding
strategy* picks one token, which is appended and fed back in. Text is split into **tokens** —
subword pieces, not words (␣ marks a space). Step through it, click any token to see what the
model considered there, rewind and pick another, and change how the next token is chosen.
"""


def stepping(fn: Callable) -> Callable:
    """A stepping view as an event: its candidates become the hand-pick dropdown's choices."""
    guarded = guard(fn)

    @functools.wraps(fn)
    def event(*values):
        *shown, choices, generated = guarded(*values)
        return *shown, gr.Dropdown(choices=choices), generated

    return event


@dataclass(frozen=True)
class Events:
    """The tab's handlers that read the host's context (its models and device)."""

    start: Callable
    open: Callable  # a link's first view: the start, then its generated tokens again
    run: Callable
    step: Callable
    view: Callable
    select: Callable  # a click on the strip: (gr.SelectData, *inputs)
    rewind: Callable
    choose: Callable
    draws: Callable
    cache_timing: Callable
    compare: Callable
    export: Callable


def events(context: Context) -> Events:
    """The tab's handlers, bound to ``context``."""
    on_select = stepping(context.bind(views.select))

    def select(evt: gr.SelectData, *values):
        """A click on a token of the strip shows the distribution the model had there."""
        return on_select(evt.index, *values)

    step_views = (views.start, views.open_link, views.advance, views.step, views.view)
    start, open_link, run, step, view = (stepping(context.bind(fn)) for fn in step_views)
    rewind, choose = (stepping(context.bind(fn)) for fn in (views.rewind, views.choose))
    draws, timing, compare, export = (
        guard(context.bind(fn))
        for fn in (views.histogram, views.cache_timing, views.compare, views.export)
    )

    def cache_timing(*values):
        """Time greedy tokens from the current text with and without the KV cache (the plot
        stays hidden until there is a timing to show)."""
        plot, note = timing(*values)
        return gr.update(value=plot, visible=True), note

    return Events(
        start,
        open_link,
        run,
        step,
        view,
        select,
        rewind,
        choose,
        draws,
        cache_timing,
        compare,
        export,
    )


# -- layout ---------------------------------------------------------------------------------


def build(context: Context) -> gr.Blocks:
    models = views.model_choices(context)
    on = events(context)
    with gr.Blocks() as tab:
        gr.Markdown(INTRO)
        trail = gr.State(None)
        position = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                prompt = gr.Textbox(
                    DEFAULT_PROMPT,
                    label="Prompt",
                    elem_id="gpt-prompt",
                    lines=1,  # Enter reads the prompt; Shift+Enter adds a line
                    max_lines=8,
                    max_length=MAX_PROMPT_CHARS,
                    info="press Enter to read it; empty starts from the beginning-of-text token",
                )
                model = gr.Dropdown(models, value=DEFAULT_MODEL, label="Model")
                strategy = gr.Radio(
                    ["greedy", "sample", "beam"],
                    value="sample",
                    label="Strategy",
                    elem_id="gpt-strategy",
                )
                temperature = gr.Slider(
                    T_MIN, T_MAX, value=1.0, step=0.01, label="Temperature T (sample)"
                )
                top_k = gr.Slider(
                    0, MAX_TOP_K, value=0, step=1, label="Top-k (0 = off)", elem_id="gpt-top-k"
                )
                top_p = gr.Slider(0.01, 1.0, value=0.9, step=0.01, label="Top-p (1 = off)")
                min_p = gr.Slider(0.0, 0.99, value=0.0, step=0.01, label="Min-p (0 = off)")
                beams = gr.Slider(1, MAX_BEAMS, value=4, step=1, label="Beams (beam search)")
                with gr.Row():
                    seed = gr.Number(0, label="Seed", minimum=0, maximum=MAX_SEED)
                    count = gr.Slider(1, MAX_NEW_TOKENS, value=16, step=1, label="Tokens to run")
                use_cache = gr.Checkbox(True, label="KV cache")
                # How many tokens follow the prompt: a link generates them again.
                generated = gr.Number(0, visible=False, minimum=0, maximum=MAX_LINK_TOKENS)
            with gr.Column(scale=2):
                strip = gr.HighlightedText(
                    label="Tokens (id · probability when generated); click one to see that step",
                    elem_id="gpt-strip",
                    show_legend=False,
                    combine_adjacent=False,
                )
                with gr.Row():
                    step_btn = gr.Button("Step 1 token", variant="primary", elem_id="gpt-step")
                    run_btn = gr.Button("Run", elem_id="gpt-run")
                    rewind_btn = gr.Button("Rewind to the clicked token", elem_id="gpt-rewind")
                    reset_btn = gr.Button("Start over")
                summary = gr.Markdown(elem_id="gpt-summary")
                bars = gr.Plot(label="Top candidates", elem_id="gpt-bars")
                with gr.Row():
                    pick = gr.Dropdown([], label="Pick the next token by hand", scale=3)
                    pick_btn = gr.Button("Append it", scale=1)
        with gr.Accordion("Candidates and the path so far", open=False):
            candidates = gr.Dataframe(
                headers=["rank", "token", "id", "logit", "model p", "p after settings", ""],
                interactive=False,
                elem_id="gpt-candidates",
            )
            path = gr.Dataframe(
                headers=["position", "token", "id", "p when picked", "rank", "how"],
                interactive=False,
                elem_id="gpt-path",
            )
        with gr.Row():
            with gr.Column():
                gr.Markdown("### How often would each token be picked?")
                draw_btn = gr.Button(f"Draw {DRAWS:,} samples")
                draws_note = gr.Markdown(elem_id="gpt-draws-note")
                draws_plot = gr.Plot(
                    label="Share of draws beside the exact probability", elem_id="gpt-draws"
                )
            with gr.Column():
                gr.Markdown("### What the KV cache saves")
                cache_btn = gr.Button(f"Time {CACHE_TIMING_TOKENS} tokens with and without it")
                cache_note = gr.Markdown(elem_id="gpt-cache-note")
                cache_plot = gr.Plot(  # shown once timed: no empty frame before
                    label="Milliseconds per token, with and without the cache", visible=False
                )
        with gr.Accordion("Side by side: one prompt, several strategies", open=False):
            rows = gr.Dataframe(
                value=COMPARE_DEFAULT,
                headers=COMPARE_HEADERS,
                datatype=["str", "number", "number", "number", "number", "number"],
                row_count=len(COMPARE_DEFAULT),
                column_count=len(COMPARE_HEADERS),
                interactive=True,
                label=f"{MIN_COMPARE}–{MAX_COMPARE} settings (strategy: greedy, sample or beam)",
            )
            compare_btn = gr.Button("Compare", elem_id="gpt-compare")
            compare_note = gr.Markdown()
            compared = gr.Dataframe(
                headers=[
                    "settings",
                    "continuation",
                    "tokens",
                    "mean log p",
                    "distinct-1",
                    "distinct-2",
                ],
                interactive=False,
                wrap=True,
                column_widths=["18%", "46%", "7%", "10%", "9%", "10%"],
                elem_id="gpt-compared",
            )
        with gr.Accordion("The code behind this tab: sampling.py and decode.py", open=False):
            for source in SOURCES:
                gr.Code(source.read_text(), language="python", interactive=False)

        settings = [strategy, temperature, top_k, top_p, min_p, beams]
        inputs = [trail, position, prompt, model, seed, *settings, use_cache, count, pick]
        outputs = [trail, position, strip, bars, candidates, path, summary, pick, generated]
        common = dict(concurrency_id=CONCURRENCY, show_progress="hidden")
        state = {
            "prompt": (prompt, views.parse_prompt),
            "model": model,
            "seed": seed,
            "strategy": strategy,
            "t": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "min_p": min_p,
            "beams": beams,
            "n": count,
            "cache": use_cache,
            "generated": generated,
        }
        load = dict(fn=on.open, inputs=[*inputs, generated], outputs=outputs, **common)
        # The draws panel fills in once the first view is on screen, from its distribution.
        draws = dict(fn=on.draws, inputs=inputs, outputs=[draws_plot, draws_note], **common)
        share.link(
            tab,
            "gpt",
            state,
            load={**load, "api_name": "gpt_start"},
            after=[{**draws, "api_visibility": "private"}],
        )
        share.export("gpt", on.export, inputs, state, api_name="gpt_export", **common)
        gr.on(
            [prompt.submit, model.input, seed.submit, reset_btn.click],
            on.start,
            inputs,
            outputs,
            api_visibility="private",
            **common,
        )
        step_btn.click(on.step, inputs, outputs, api_name="gpt_step", **common)
        run_btn.click(on.run, inputs, outputs, api_name="gpt_run", **common)
        gr.on(
            [s.input for s in settings],
            on.view,
            inputs,
            outputs,
            api_visibility="private",
            trigger_mode="always_last",
            **common,
        )
        strip.select(on.select, inputs, outputs, api_visibility="private", **common)
        rewind_btn.click(on.rewind, inputs, outputs, api_visibility="private", **common)
        pick_btn.click(on.choose, inputs, outputs, api_visibility="private", **common)
        draw_btn.click(**draws, api_name="gpt_draws")
        cache_btn.click(
            on.cache_timing, inputs, [cache_plot, cache_note], api_name="gpt_cache_timing", **common
        )
        compare_btn.click(
            on.compare,
            [prompt, model, seed, count, rows],
            [compared, compare_note],
            api_name="gpt_compare",
            **common,
        )
    return tab
