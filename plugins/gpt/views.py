"""What the GPT tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py turns
that into a gr.Error. The stepping events all read the same controls (see `parse`) and answer
with one `Shown`; the session's decode trail travels in and out of them through a gr.State.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground import lazy_module
from playground.concept import Context
from playground.export import Export
from playground.inputs import BadInput, Result, check_seed, check_whole

sampling = lazy_module("plugins.gpt.sampling")
trails = lazy_module("plugins.gpt.trail")
screen = lazy_module("plugins.gpt.screen")
reproduce = lazy_module("plugins.gpt.reproduce")

MAX_PROMPT_CHARS = 2_000
MAX_NEW_TOKENS = 256  # per request
MAX_LINK_TOKENS = 1_024  # generated tokens a link may ask for again
T_MIN, T_MAX = 0.01, 5.0  # the (0, 5]; the slider's floor keeps z / T finite
MAX_BEAMS = 8
MAX_TOP_K = 500
TOP_N = 20  # candidates shown
DRAWS = 1_000
MIN_COMPARE, MAX_COMPARE = 2, 4
CACHE_TIMING_TOKENS = 64  # enough for the uncached cost to visibly grow
TASKS = ("causal-lm", "moe-lm")
COMPARE_HEADERS = ["strategy", "temperature", "top-k", "top-p", "min-p", "beams"]


# -- checking inputs --------------------------------------------------------------------------


def _within(value: Any, what: str, allowed: str, inside: Callable[[float], bool]) -> float:
    """A finite number for which ``inside`` holds: for the half-open ranges check_number
    cannot state."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x) or not inside(x):
        raise BadInput(f"{what} must be {allowed}, not {value!r}.")
    return x


def parse_settings(strategy, temperature, top_k, top_p, min_p, beams):
    """The decoding settings as `sampling.Settings`; BadInput names the first one refused."""
    if strategy not in sampling.STRATEGIES:
        allowed = ", ".join(sampling.STRATEGIES)
        raise BadInput(f"Strategy must be one of {allowed}, not {strategy!r}.")
    t = _within(temperature, "Temperature", f"in (0, {T_MAX:g}]", lambda x: 0 < x <= T_MAX)
    p = _within(top_p, "Top-p", "in (0, 1] (1 turns it off)", lambda x: 0 < x <= 1)
    m = _within(min_p, "Min-p", "in [0, 1) (0 turns it off)", lambda x: 0 <= x < 1)
    return sampling.Settings(
        strategy=strategy,
        temperature=max(t, T_MIN),
        top_k=check_whole(top_k, "Top-k", 0, MAX_TOP_K),  # 0 turns it off; k ≥ 1 keeps k tokens
        top_p=p,
        min_p=m,
        beams=check_whole(beams, "Beams", 1, MAX_BEAMS),
    )


def parse_prompt(text: Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str):
        raise BadInput("The prompt must be text.")
    if len(text) > MAX_PROMPT_CHARS:
        raise BadInput(f"The prompt is {len(text):,} characters; at most {MAX_PROMPT_CHARS:,}.")
    return text


def model_choices(context: Context) -> list[tuple[str, str]]:
    """(title, id) of every language model in the context's registry."""
    specs = [s for task in TASKS for s in context.models.specs(task=task)]
    return [(s.title, s.id) for s in specs]


def load_model(context: Context, model_id: str):
    """The registry's model and tokenizer (ModelUnavailable says why one cannot be used here)."""
    known = {model_id_ for _, model_id_ in model_choices(context)}
    if model_id not in known:
        raise BadInput(f"Unknown model {model_id!r}; choose one of: {', '.join(sorted(known))}.")
    return context.model(model_id)


# -- the session's trail ----------------------------------------------------------------------


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


def _trail(context: Context, trail, prompt: str, model_id: str, seed: int):
    """The session's trail, or a fresh one when the prompt, the model or the seed changed."""
    lm = load_model(context, model_id)
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


def _room(trail, n: int) -> None:
    limit = _context(trail.model)
    if len(trail.ids) + n > limit:
        raise BadInput(
            f"The model reads at most {limit} tokens and the text has {len(trail.ids)}; "
            "rewind, or start again with a shorter prompt."
        )


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

    def trail_now(self, context: Context, fresh: bool = False):
        trail = None if fresh else self.trail
        return _trail(context, trail, self.prompt, self.model_id, self.seed)


def parse(values) -> Request:
    """Check every input of a stepping event; BadInput names the one that is not allowed."""
    trail, position, prompt, model_id, seed, *settings, use_cache, count, pick = values
    return Request(
        trail,
        position if isinstance(position, int) else None,
        parse_prompt(prompt),
        model_id,
        check_seed(seed),
        parse_settings(*settings),
        bool(use_cache),
        check_whole(count, "Tokens to run", 1, MAX_NEW_TOKENS),
        pick,
    )


# -- stepping ---------------------------------------------------------------------------------


@dataclass
class Shown(Result):
    """The stepping view, in the order of the tab's stepping `outputs`."""

    trail: Any  # the session's Trail, kept in a gr.State
    position: int | None  # the token whose distribution is shown; None: the next one
    strip: list[tuple[str, str]]  # (token text, "id · probability") per token
    bars: Any  # the candidates' probabilities, before and after the settings
    candidates: list[list]
    path: list[list]  # how each generated token was picked
    summary: str  # Markdown
    choices: list[tuple[str, int]]  # the hand-pick dropdown's (label, token id)
    generated: int  # tokens after the prompt: what a link generates again


def render(trail, tokenizer, settings, position: int | None, notice: str = "") -> Shown:
    """The stepping view for the distribution at ``position`` (None: the next token)."""
    position = len(trail.ids) if position is None else position
    chosen = trail.ids[position] if position < len(trail.ids) else None
    logits = trail.logits_at(position)
    top, raw, kept, rows = screen.candidates(logits, settings, tokenizer, chosen, TOP_N)
    return Shown(
        trail=trail,
        position=position if chosen is not None else None,
        strip=screen.strip(trail, tokenizer),
        bars=screen.bars(tokenizer, top, raw, kept, position, chosen),
        candidates=rows,
        path=screen.path_rows(trail, tokenizer),
        summary=screen.summary(trail, logits, kept, position, settings, notice),
        choices=[(screen.label(tokenizer, t), t) for t in top],
        generated=len(trail.generated),
    )


def start(context: Context, *values) -> Shown:
    """Read the prompt and show the first next-token distribution (the `gpt_start` endpoint)."""
    args = parse(values)
    trail, tokenizer, notice = args.trail_now(context, fresh=True)
    return render(trail, tokenizer, args.settings, None, notice)


def open_link(context: Context, *values) -> Shown:
    """Read the prompt (the `gpt_start` endpoint); a link's count of generated tokens is
    generated again with its settings and seed, so the link shows the same text."""
    *inputs, generated = values
    n = check_whole(generated, "Generated tokens", 0, MAX_LINK_TOKENS)
    shown = start(context, *inputs)
    return shown if n == 0 else advance(context, shown.trail, None, *inputs[2:], n=n)


def advance(context: Context, *values, n: int | None = None) -> Shown:
    """Generate the slider's count of tokens (`gpt_run`) with the current settings."""
    args = parse(values)
    settings = args.settings
    n = args.count if n is None else n
    trail, tokenizer, notice = args.trail_now(context)
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


def step(context: Context, *values) -> Shown:
    """One token (the `gpt_step` endpoint)."""
    return advance(context, *values, n=1)


def view(context: Context, *values) -> Shown:
    """Re-show the current view under changed settings: what they keep; nothing generated."""
    args = parse(values)
    trail, tokenizer, notice = args.trail_now(context)
    position = args.position
    if position is not None and not 0 < position < len(trail.ids):
        position = None
    return render(trail, tokenizer, args.settings, position, notice)


def select(context: Context, index, *values) -> Shown:
    """A click on the strip's token ``index``: the distribution the model had there."""
    index = index[0] if isinstance(index, list | tuple) else index
    trail, _, *rest = values
    return view(context, trail, int(index) or None, *rest)


def rewind(context: Context, *values) -> Shown:
    """Drop the clicked token and everything after it, so another can be picked."""
    args = parse(values)
    trail, tokenizer, notice = args.trail_now(context)
    if args.position is None or args.position < trail.prompt_len:
        raise BadInput("Click a generated token in the strip first, then rewind to it.")
    trail.rewind(args.position)
    return render(trail, tokenizer, args.settings, None, notice)


def choose(context: Context, *values) -> Shown:
    """Append the token picked by hand from the candidates."""
    args = parse(values)
    trail, tokenizer, notice = args.trail_now(context)
    if args.pick is None:
        raise BadInput("Choose a token from the candidates first.")
    token = check_whole(args.pick, "The chosen token", 0, trail.logits.shape[-1] - 1)
    _room(trail, 1)
    trail.choose(token, args.use_cache)
    return render(trail, tokenizer, args.settings, None, notice)


# -- draws, the KV cache, side by side, export ------------------------------------------------


@dataclass
class Plotted(Result):
    """The draws panel, or the KV-cache panel."""

    plot: Any
    note: str  # Markdown


def histogram(context: Context, *values) -> Plotted:
    """1 000 seeded draws from the distribution on screen against its exact probabilities."""
    args = parse(values)
    trail, tokenizer, _ = args.trail_now(context)
    position = len(trail.ids) if args.position is None else args.position
    return Plotted(*screen.draws(trail, tokenizer, args.settings, position, DRAWS, TOP_N))


def cache_timing(context: Context, *values) -> Plotted:
    """Time greedy tokens from the current text with and without the KV cache."""
    trail, _, _ = parse(values).trail_now(context)
    _room(trail, CACHE_TIMING_TOKENS)
    return Plotted(*screen.cache_timing(trail, CACHE_TIMING_TOKENS))


def parse_compare(rows) -> list:
    """2–4 rows of settings (a DataFrame or lists) as `sampling.Settings`."""
    data = rows.values.tolist() if hasattr(rows, "values") else list(rows or [])
    data = [row for row in data if row and str(row[0]).strip()]
    if not MIN_COMPARE <= len(data) <= MAX_COMPARE:
        raise BadInput(
            f"Compare {MIN_COMPARE} to {MAX_COMPARE} settings, one per row (got {len(data)})."
        )
    found = []
    for i, row in enumerate(data, 1):
        if len(row) != len(COMPARE_HEADERS):
            columns = ", ".join(COMPARE_HEADERS)
            raise BadInput(f"Row {i} needs {len(COMPARE_HEADERS)} values: {columns}.")
        try:
            found.append(parse_settings(str(row[0]).strip(), *row[1:]))
        except BadInput as exc:
            raise BadInput(f"Row {i}: {exc}") from None
    return found


@dataclass
class Compared(Result):
    table: list[list]  # one row per setting: continuation, mean log p, distinct-1 and -2
    note: str  # Markdown


def compare(context: Context, prompt, model_id, seed, n, rows) -> Compared:
    """The same prompt under 2–4 settings: continuations, mean log-probability, diversity."""
    settings = parse_compare(rows)
    n = check_whole(n, "Tokens to generate", 1, MAX_NEW_TOKENS)
    lm = load_model(context, model_id)
    seed = check_seed(seed)
    ids, notice = _encode(lm.tokenizer, parse_prompt(prompt), _context(lm.model) - MAX_NEW_TOKENS)
    table = screen.continuations(lm, ids, settings, n, seed)
    note = (
        "Mean log-probability is under the model's own distribution (higher = more typical for "
        "the model); distinct-n is the share of unique n-grams (lower = more repetition). "
        f"Every sampled row uses seed {seed}."
    )
    return Compared(table, "\n\n".join([note, *([f"_{notice}_"] if notice else [])]))


def export(context: Context, *values) -> Export:
    """The text on screen, each generated token's probability and the next-token candidates,
    with a script that recomputes them with transformers' model and logits warpers."""
    args = parse(values)
    trail, _, _ = args.trail_now(context)
    numbers = reproduce.numbers(trail, args.settings)
    return Export(numbers, reproduce.snippet(trail, args.settings), reproduce.tables(numbers))
