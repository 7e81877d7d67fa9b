"""The GPT next-token tab: layout, then events. The math lives in sampling.py and decode.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from playground import devices, share

MAX_PROMPT_CHARS = 2_000
MAX_NEW_TOKENS = 256  # per request
MAX_LINK_TOKENS = 1_024  # generated tokens a link may ask for again
T_MIN, T_MAX = 0.01, 5.0  # the (0, 5]; the slider's floor keeps z / T finite
MAX_BEAMS = 8
MAX_TOP_K = 500
TOP_N = 20  # candidates shown
DRAWS = 1_000
MAX_SEED = 2**32 - 1
MIN_COMPARE, MAX_COMPARE = 2, 4
CACHE_TIMING_TOKENS = 64  # enough for the uncached cost to visibly grow
DEFAULT_MODEL = "tiny-llama"
DEFAULT_PROMPT = "Once upon a time, the queen"
TASKS = ("causal-lm", "moe-lm")
CONCURRENCY = "gpt"  # every event of this tab shares one worker queue
SOURCES = [Path(__file__).with_name(name) for name in ("sampling.py", "decode.py")]
COMPARE_HEADERS = ["strategy", "temperature", "top-k", "top-p", "min-p", "beams"]
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


def _math():
    from playground.models import IMPORTING

    with IMPORTING:  # torch loads on first use, not at start, and never beside another import
        from plugins.gpt import decode, sampling, trail

    return decode, sampling, trail


# -- input checks ---------------------------------------------------------------------------


def _number(value: Any, what: str, allowed: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{what} must be {allowed}, not {value!r}.") from None
    if not math.isfinite(x):
        raise gr.Error(f"{what} must be {allowed}, not {value!r}.")
    return x


def _whole(value: Any, what: str, low: int, high: int) -> int:
    allowed = f"a whole number from {low} to {high:,}"
    x = _number(value, what, allowed)
    if x != int(x) or not low <= x <= high:
        raise gr.Error(f"{what} must be {allowed}, not {value!r}.")
    return int(x)


def parse_settings(strategy, temperature, top_k, top_p, min_p, beams):
    _, sampling, _ = _math()
    if strategy not in sampling.STRATEGIES:
        allowed = ", ".join(sampling.STRATEGIES)
        raise gr.Error(f"Strategy must be one of {allowed}, not {strategy!r}.")
    t = _number(temperature, "Temperature", f"in (0, {T_MAX:g}]")
    if not 0 < t <= T_MAX:
        raise gr.Error(f"Temperature must be in (0, {T_MAX:g}], not {temperature!r}.")
    p = _number(top_p, "Top-p", "in (0, 1]")
    if not 0 < p <= 1:
        raise gr.Error(f"Top-p must be in (0, 1] (1 turns it off), not {top_p!r}.")
    m = _number(min_p, "Min-p", "in [0, 1)")
    if not 0 <= m < 1:
        raise gr.Error(f"Min-p must be in [0, 1) (0 turns it off), not {min_p!r}.")
    return sampling.Settings(
        strategy=strategy,
        temperature=max(t, T_MIN),
        top_k=_whole(top_k, "Top-k", 0, MAX_TOP_K),  # 0 turns it off; k ≥ 1 keeps k tokens
        top_p=p,
        min_p=m,
        beams=_whole(beams, "Beams", 1, MAX_BEAMS),
    )


def parse_prompt(text: Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise gr.Error("The prompt must be text.")
    if len(text) > MAX_PROMPT_CHARS:
        raise gr.Error(f"The prompt is {len(text):,} characters; at most {MAX_PROMPT_CHARS:,}.")
    return text


def _models() -> list[tuple[str, str]]:
    from playground.models import REGISTRY

    specs = [s for task in TASKS for s in REGISTRY.specs(task=task)]
    return [(s.title, s.id) for s in specs]


def load_model(model_id: str):
    """The registry's model and tokenizer, or a gr.Error saying why it cannot be used here."""
    from playground.models import REGISTRY, ModelUnavailable

    known = {model_id_ for _, model_id_ in _models()}
    if model_id not in known:
        raise gr.Error(f"Unknown model {model_id!r}; choose one of: {', '.join(sorted(known))}.")
    try:
        return REGISTRY.get(model_id, devices.device())
    except ModelUnavailable as exc:
        raise gr.Error(str(exc)) from None


def _encode(tokenizer, prompt: str, limit: int) -> tuple[list[int], str]:
    """Prompt token ids (the beginning-of-text token when empty), cut from the left to fit."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
    if not ids:
        bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 0
        return [bos], "An empty prompt starts from the beginning-of-text token."
    if len(ids) > limit:
        return ids[-limit:], (
            f"The prompt is {len(ids):,} tokens; this model reads at most {limit:,} before "
            f"generating {MAX_NEW_TOKENS}, so the first {len(ids) - limit:,} were dropped."
        )
    return ids, ""


def _context(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 1024))


def _trail(trail, prompt: str, model_id: str, seed: int):
    """The session's trail, or a fresh one when the prompt, the model or the seed changed."""
    _, _, trails = _math()
    lm = load_model(model_id)
    ids, notice = _encode(lm.tokenizer, prompt, _context(lm.model) - MAX_NEW_TOKENS)
    fresh = (
        trail is None
        or trail.model_id != model_id
        or trail.seed != seed
        or trail.ids[: trail.prompt_len] != ids
    )
    if fresh:
        trail = trails.start(model_id, lm.model, ids, seed)
    return trail, lm.tokenizer, notice


# -- what is on screen ----------------------------------------------------------------------


def piece(tokenizer, token: int) -> str:
    """A token as text with its whitespace visible: subwords often start with a space."""
    text = tokenizer.decode([token])
    return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


def _strip(trail, tokenizer) -> list[tuple[str, str]]:
    spans = []
    for i, token in enumerate(trail.ids):
        choice = trail.choices.get(i)
        label = f"{token}" if choice is None else f"{token} · {choice.prob:.0%}"
        spans.append((piece(tokenizer, token), label))
    return spans


def _candidates(logits, settings, tokenizer, chosen: int | None):
    decode, sampling, _ = _math()
    raw = logits.softmax(-1)
    kept = sampling.process(logits[None], settings)[0].softmax(-1)
    top = raw.topk(min(TOP_N, raw.shape[-1])).indices.tolist()
    if chosen is not None and chosen not in top:
        top[-1] = chosen  # the picked token is always on screen, even if it was a long shot
    rows = [
        [
            decode.rank_of(logits, t),
            piece(tokenizer, t),
            t,
            round(logits[t].item(), 3),
            f"{raw[t].item():.2%}",
            f"{kept[t].item():.2%}",
            "kept" if kept[t] > 0 else "removed",
        ]
        for t in top
    ]
    return top, raw, kept, rows


def _summary(trail, logits, kept, position: int, settings, notice: str) -> str:
    kept_n = int((kept > 0).sum())
    raw = logits.softmax(-1)
    entropy = float(-(raw * raw.clamp_min(1e-30).log()).sum())
    mass = float(raw[kept > 0].sum())
    where = (
        "the next token"
        if position >= len(trail.ids)
        else f"position {position} (when the model chose it)"
    )
    timing = ""
    if trail.step_ms:
        ms, cached = trail.step_ms[-1]
        timing = f" · last step **{ms:.1f} ms** ({'KV cache' if cached else 'no cache'})"
    lines = [
        f"**{len(trail.ids)} tokens** ({trail.prompt_len} prompt, {len(trail.generated)} "
        f"generated) · showing {where} · entropy **{entropy:.2f} nats**{timing}",
        f"**{settings.describe()}** keeps **{kept_n:,}** of {raw.shape[-1]:,} tokens, holding "
        f"{mass:.1%} of the model's probability; those are renormalised to sum to 1.",
    ]
    if settings.strategy == "beam":
        lines.append("Beam search looks ahead: **Run** keeps the best of the beams; **Step** "
                     "is one greedy step.")  # fmt: skip
    return "\n\n".join([*lines, *([f"_{notice}_"] if notice else [])])


def _path_rows(trail, tokenizer) -> list[list]:
    return [
        [i, piece(tokenizer, trail.ids[i]), trail.ids[i], f"{c.prob:.2%}", c.rank, c.how]
        for i, c in sorted(trail.choices.items())
    ]


def render(trail, tokenizer, settings, position: int | None, notice: str = ""):
    """Every output of the stepping view, for the distribution at ``position`` (None: next)."""
    from plugins.gpt import figures

    position = len(trail.ids) if position is None else position
    chosen = trail.ids[position] if position < len(trail.ids) else None
    logits = trail.logits_at(position)
    top, raw, kept, rows = _candidates(logits, settings, tokenizer, chosen)
    labels = [f"{piece(tokenizer, t)} ({t})" for t in top]
    title = (
        "Next-token distribution"
        if chosen is None
        else f"At position {position} the model chose {piece(tokenizer, chosen)!r}"
    )
    plot = figures.distribution(
        labels,
        [raw[t].item() for t in top],
        [kept[t].item() for t in top],
        top.index(chosen) if chosen is not None else None,
        title,
    )
    return (
        trail,
        position if chosen is not None else None,
        _strip(trail, tokenizer),
        plot,
        rows,
        _path_rows(trail, tokenizer),
        _summary(trail, logits, kept, position, settings, notice),
        gr.Dropdown(choices=[(f"{label}", t) for label, t in zip(labels, top, strict=True)]),
        len(trail.generated),
    )


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """Everything a stepping event reads, checked: the order of the tab's `inputs` list."""

    trail: Any  # the session's Trail, or None
    position: int | None  # the clicked token, or None for "the next one"
    prompt: str
    model_id: str
    seed: int
    settings: Any  # sampling.Settings
    use_cache: bool
    count: int
    pick: Any  # the hand-picked token id from the candidates dropdown

    def trail_now(self, fresh: bool = False):
        return _trail(None if fresh else self.trail, self.prompt, self.model_id, self.seed)


def parse(values) -> Request:
    """Check every input of a stepping event; a gr.Error names the one that is not allowed."""
    trail, position, prompt, model_id, seed, *settings, use_cache, count, pick = values
    return Request(
        trail,
        position if isinstance(position, int) else None,
        parse_prompt(prompt),
        model_id,
        _whole(seed, "Seed", 0, MAX_SEED),
        parse_settings(*settings),
        bool(use_cache),
        _whole(count, "Tokens to run", 1, MAX_NEW_TOKENS),
        pick,
    )


def _room(trail, n: int) -> None:
    limit = _context(trail.model)
    if len(trail.ids) + n > limit:
        raise gr.Error(
            f"The model reads at most {limit} tokens and the text has {len(trail.ids)}; "
            "rewind, or start again with a shorter prompt."
        )


def start(*values):
    """Read the prompt and show the first next-token distribution (the `gpt_start` endpoint)."""
    args = parse(values)
    settings = args.settings
    trail, tokenizer, notice = args.trail_now(fresh=True)
    return render(trail, tokenizer, settings, None, notice)


def open_link(*values):
    """Read the prompt (the `gpt_start` endpoint); a link's count of generated tokens is
    generated again with its settings and seed, so the link shows the same text."""
    *values, generated = values
    n = _whole(generated, "Generated tokens", 0, MAX_LINK_TOKENS)
    shown = start(*values)
    return shown if n == 0 else advance(shown[0], None, *values[2:], n=n)


def advance(*values, n: int | None = None):
    """Generate the slider's count of tokens (`gpt_run`) with the current settings."""
    args = parse(values)
    settings = args.settings
    n = args.count if n is None else n
    trail, tokenizer, notice = args.trail_now()
    _room(trail, n)
    eos = tokenizer.eos_token_id
    if settings.strategy == "beam" and n > 1:
        trail.beam(settings, n, eos, args.use_cache)
    else:
        for _ in range(n):
            trail.step(settings, args.use_cache)
            if trail.ids[-1] == eos:
                notice = "The model ended the text (end-of-text token)."
                break
    return render(trail, tokenizer, settings, None, notice)


def step(*values):
    """One token (the `gpt_step` endpoint)."""
    return advance(*values, n=1)


def view(*values):
    """Re-show the current view under changed settings: what they keep; nothing generated."""
    args = parse(values)
    settings = args.settings
    trail, tokenizer, notice = args.trail_now()
    position = args.position
    if position is not None and not 0 < position < len(trail.ids):
        position = None
    return render(trail, tokenizer, settings, position, notice)


def select(evt: gr.SelectData, *values):
    """A click on a token of the strip shows the distribution the model had there."""
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    trail, _, *rest = values
    return view(trail, int(index) or None, *rest)


def rewind(*values):
    """Drop the clicked token and everything after it, so another can be picked."""
    args = parse(values)
    settings = args.settings
    trail, tokenizer, notice = args.trail_now()
    if args.position is None or args.position < trail.prompt_len:
        raise gr.Error("Click a generated token in the strip first, then rewind to it.")
    trail.rewind(args.position)
    return render(trail, tokenizer, settings, None, notice)


def choose(*values):
    """Append the token picked by hand from the candidates."""
    args = parse(values)
    settings = args.settings
    trail, tokenizer, notice = args.trail_now()
    if args.pick is None:
        raise gr.Error("Choose a token from the candidates first.")
    token = _whole(args.pick, "The chosen token", 0, trail.logits.shape[-1] - 1)
    _room(trail, 1)
    trail.choose(token, args.use_cache)
    return render(trail, tokenizer, settings, None, notice)


def histogram(*values):
    """1 000 seeded draws from the distribution on screen against its exact probabilities."""
    import torch

    from plugins.gpt import figures

    _, sampling, _ = _math()
    args = parse(values)
    settings = args.settings
    trail, tokenizer, _ = args.trail_now()
    position = len(trail.ids) if args.position is None else args.position
    logits = trail.logits_at(position)
    probs = sampling.process(logits[None], settings)[0].softmax(-1)
    if settings.strategy != "sample":  # greedy (and one step of a beam) take the argmax
        probs = torch.nn.functional.one_hot(logits.argmax(), logits.shape[-1]).float()
    counts = sampling.draw(probs, DRAWS, trail.seed)
    top = probs.topk(min(TOP_N, probs.shape[-1])).indices.tolist()
    labels = [f"{piece(tokenizer, t)} ({t})" for t in top]
    tv = 0.5 * float((counts.float() / DRAWS - probs).abs().sum())
    note = (
        f"{int(counts[top].sum()):,} of {DRAWS:,} draws landed on these {len(top)} tokens. "
        f"Total variation distance between the draws and the exact distribution: **{tv:.3f}** "
        f"(it shrinks like 1/√n as the number of draws n grows). Seed {trail.seed}."
    )
    exact = [probs[t].item() for t in top]
    return figures.histogram(labels, exact, counts[top].tolist(), DRAWS), note


def cache_timing(*values):
    """Time greedy tokens from the current text with and without the KV cache."""
    import torch

    from plugins.gpt import figures

    decode, _, _ = _math()
    trail, _, _ = parse(values).trail_now()
    _room(trail, CACHE_TIMING_TOKENS)
    ids = torch.tensor([trail.ids], device=trail.device)
    cached = decode.step_times(trail.model, ids, CACHE_TIMING_TOKENS, use_cache=True)[1:]
    uncached = decode.step_times(trail.model, ids, CACHE_TIMING_TOKENS, use_cache=False)[1:]
    a, b = sorted(cached)[len(cached) // 2], sorted(uncached)[len(uncached) // 2]
    note = (
        f"Median per token over {len(cached)} greedy tokens after the first: "
        f"**{a:.2f} ms with the KV cache**, **{b:.2f} ms without** ({b / a:.1f}× slower). "
        "Without the cache each step runs the model over the whole text again, so its cost grows "
        "with the length; with it, a step feeds one token and reuses every earlier key and value."
    )
    return figures.step_times(cached, uncached, len(trail.ids) + 1), note


def parse_compare(rows) -> list:
    data = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
    data = [row for row in data if row and str(row[0]).strip()]
    if not MIN_COMPARE <= len(data) <= MAX_COMPARE:
        raise gr.Error(
            f"Compare {MIN_COMPARE} to {MAX_COMPARE} settings, one per row (got {len(data)})."
        )
    found = []
    for i, row in enumerate(data, 1):
        if len(row) != len(COMPARE_HEADERS):
            columns = ", ".join(COMPARE_HEADERS)
            raise gr.Error(f"Row {i} needs {len(COMPARE_HEADERS)} values: {columns}.")
        try:
            found.append(parse_settings(str(row[0]).strip(), *row[1:]))
        except gr.Error as exc:
            raise gr.Error(f"Row {i}: {exc.message}") from None
    return found


def compare(prompt, model_id, seed, n, rows):
    """The same prompt under 2–4 settings: continuations, mean log-probability, diversity."""
    import torch

    decode, sampling, _ = _math()
    settings = parse_compare(rows)
    n = _whole(n, "Tokens to generate", 1, MAX_NEW_TOKENS)
    lm = load_model(model_id)
    seed = _whole(seed, "Seed", 0, MAX_SEED)
    ids, notice = _encode(lm.tokenizer, parse_prompt(prompt), _context(lm.model) - MAX_NEW_TOKENS)
    prompt_ids = torch.tensor([ids], device=lm.model.device)
    eos = lm.tokenizer.eos_token_id
    table = []
    for s in settings:
        if s.strategy == "beam":
            tokens = decode.beam_search(lm.model, prompt_ids, s.beams, n, eos)[0].tokens
        else:
            gen = torch.Generator(lm.model.device).manual_seed(seed)
            tokens = [st.token for st in decode.steps(lm.model, prompt_ids, s, n, gen, eos)]
        full = torch.tensor([ids + tokens], device=lm.model.device)
        logits = decode.next_token_logits(lm.model, full)[len(ids) - 1 : -1]
        logp = decode.sequence_logprob(logits, tokens)
        table.append(
            [
                s.describe(),
                lm.tokenizer.decode(tokens),
                len(tokens),
                round(sum(logp) / len(logp), 3),
                round(sampling.distinct_n(tokens, 1), 3),
                round(sampling.distinct_n(tokens, 2), 3),
            ]
        )
    note = (
        "Mean log-probability is under the model's own distribution (higher = more typical for "
        "the model); distinct-n is the share of unique n-grams (lower = more repetition). "
        f"Every sampled row uses seed {seed}."
    )
    return table, "\n\n".join([note, *([f"_{notice}_"] if notice else [])])


EXPORT_TOP = 10  # next-token candidates in an export
SNIPPET = '''"""The GPT tab's numbers, recomputed with transformers (an ML Playground export)."""
import json

import torch
from transformers import (AutoModelForCausalLM, LogitsProcessorList, MinPLogitsWarper,
                          TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32).eval()
ids = torch.tensor([{ids!r}])  # the prompt's {prompt_len} tokens, then the generated ones
prompt_len = {prompt_len}
with torch.no_grad():
    logits = model(ids).logits[0].float()  # (T, V): the next-token logits at every position
probs = logits.softmax(-1)
# The settings on screen, as transformers applies them (our sampling.py keeps this order).
settings = LogitsProcessorList([TemperatureLogitsWarper({temperature!r}){warpers}])
kept = settings(ids, logits[-1:].clone())[0].softmax(-1)
top = probs[-1].topk({top})
print(json.dumps({{
    "ids": ids[0].tolist(),
    "p_of_each_generated_token": [probs[i - 1, ids[0, i]].item()
                                  for i in range(prompt_len, ids.shape[1])],
    "next_top_ids": top.indices.tolist(),
    "next_top_p": top.values.tolist(),
    "next_top_p_after_settings": kept[top.indices].tolist(),
}}))
# A fresh run of this path, with transformers' own loop ({how}):
# torch.manual_seed({seed}); model.generate(ids[:, :prompt_len], {generate})
'''


def export(*values) -> share.Export:
    """The text on screen, each generated token's probability and the next-token candidates,
    with a script that recomputes them with transformers' model and logits warpers."""
    import torch

    decode, sampling, _ = _math()
    args = parse(values)
    settings = args.settings
    trail, _, _ = args.trail_now()
    full = torch.tensor([trail.ids], device=trail.device)
    probs = decode.next_token_logits(trail.model, full).float().softmax(-1)  # (T, V)
    kept = sampling.process(trail.logits[None].float(), settings)[0].softmax(-1)
    top = probs[-1].topk(EXPORT_TOP)
    generated = range(trail.prompt_len, len(trail.ids))
    numbers = {
        "ids": list(trail.ids),
        "p_of_each_generated_token": [probs[i - 1, trail.ids[i]].item() for i in generated],
        "next_top_ids": top.indices.tolist(),
        "next_top_p": top.values.tolist(),
        "next_top_p_after_settings": kept[top.indices].tolist(),
    }
    warpers = "".join(
        f", {name}({value!r})"
        for name, value, on in [
            ("TopKLogitsWarper", settings.top_k, settings.top_k > 0),
            ("TopPLogitsWarper", settings.top_p, settings.top_p < 1),
            ("MinPLogitsWarper", settings.min_p, settings.min_p > 0),
        ]
        if on
    )
    generate = {
        "greedy": "do_sample=False",
        "sample": f"do_sample=True, temperature={settings.temperature!r}, "
        f"top_k={settings.top_k}, top_p={settings.top_p!r}, min_p={settings.min_p!r}",
        "beam": f"do_sample=False, num_beams={settings.beams}",
    }[settings.strategy] + f", max_new_tokens={max(len(generated), 1)}"
    snippet = SNIPPET.format(
        path=str(trail.model.config._name_or_path), ids=list(trail.ids),
        prompt_len=trail.prompt_len, temperature=settings.temperature, warpers=warpers,
        top=EXPORT_TOP, seed=trail.seed, how=settings.describe(), generate=generate,
    )  # fmt: skip
    columns = ["next_top_ids", "next_top_p", "next_top_p_after_settings"]
    rows = [list(row) for row in zip(*(numbers[c] for c in columns), strict=True)]
    return share.Export(numbers, snippet, {"next-token": (["id", "p", "p after settings"], rows)})


# -- layout ---------------------------------------------------------------------------------


def build() -> gr.Blocks:
    models = _models()
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
                draws_plot = gr.Plot(elem_id="gpt-draws")
            with gr.Column():
                gr.Markdown("### What the KV cache saves")
                cache_btn = gr.Button(f"Time {CACHE_TIMING_TOKENS} tokens with and without it")
                cache_note = gr.Markdown(elem_id="gpt-cache-note")
                cache_plot = gr.Plot()
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
        state = {"prompt": (prompt, parse_prompt), "model": model, "seed": seed,
                 "strategy": strategy, "t": temperature, "top_k": top_k, "top_p": top_p,
                 "min_p": min_p, "beams": beams, "n": count, "cache": use_cache,
                 "generated": generated}  # fmt: skip
        load = dict(fn=open_link, inputs=[*inputs, generated], outputs=outputs, **common)
        share.link(tab, "gpt", state, load={**load, "api_name": "gpt_start"})
        share.export("gpt", export, inputs, state, api_name="gpt_export", **common)
        gr.on(
            [prompt.submit, model.input, seed.submit, reset_btn.click],
            start,
            inputs,
            outputs,
            api_visibility="private",
            **common,
        )
        step_btn.click(step, inputs, outputs, api_name="gpt_step", **common)
        run_btn.click(advance, inputs, outputs, api_name="gpt_run", **common)
        gr.on(
            [s.input for s in settings],
            view,
            inputs,
            outputs,
            api_visibility="private",
            trigger_mode="always_last",
            **common,
        )
        strip.select(select, inputs, outputs, api_visibility="private", **common)
        rewind_btn.click(rewind, inputs, outputs, api_visibility="private", **common)
        pick_btn.click(choose, inputs, outputs, api_visibility="private", **common)
        draw_btn.click(histogram, inputs, [draws_plot, draws_note], api_name="gpt_draws", **common)
        cache_btn.click(
            cache_timing, inputs, [cache_plot, cache_note], api_name="gpt_cache_timing", **common
        )
        compare_btn.click(
            compare,
            [prompt, model, seed, count, rows],
            [compared, compare_note],
            api_name="gpt_compare",
            **common,
        )
    return tab
