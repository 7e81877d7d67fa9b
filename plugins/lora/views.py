"""What each part of the LoRA tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py's
`guard` turns that into a gr.Error. A handler with several outputs returns a `Result`. A trained
run lives in the visitor's session as a `Run` (the config and the adapter's A and B, not a
model), so each view rebuilds what it needs from the shared base; adapter.py shows a run.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from playground.concept import Context
from playground.export import Export
from playground.inputs import BadInput, Result, check_number, check_seed, check_whole
from playground.lazy import lazy_module
from plugins.lora import data, figures
from plugins.lora.limits import MAX_STEPS, TARGETS

accounting = lazy_module("plugins.lora.accounting")
reproduce = lazy_module("plugins.lora.reproduce")
training = lazy_module("plugins.lora.train")
transfer_learning = lazy_module("plugins.lora.transfer")

MIN_RANK, MAX_RANK = 1, 64
MAX_ALPHA = 256.0
MAX_DROPOUT = 0.5
MIN_STEPS = 10
DEFAULT_STEPS = 30  # the tab's default run: about 7 s on 2 shared cores, long enough to Stop
MAX_LR = 1.0
MAX_TEXT_BYTES = 200_000
MIN_LINES = 10  # a style needs some lines to learn from
MAX_PROMPT_CHARS = 500
MAX_UPLOAD_BYTES = 50_000_000
DEFAULT_MODEL = "tiny-llama"
OWN_TEXT = "Your own text (paste below)"  # the Style choice that keeps the learner's text


@dataclass(frozen=True)
class Run:
    """A trained (or loaded) adapter, as the session keeps it."""

    config: Any  # train.TrainConfig
    tensors: dict  # peft's keys -> A or B, on the CPU
    losses: tuple[float, ...] = ()
    held_out: tuple[float, float] | None = None
    memory: Any = None  # accounting.Budget, measured
    seconds: float = 0.0
    backend: str = ""
    source: str = "trained here"


# -- checking inputs -------------------------------------------------------------------------


def check_lr(value: Any) -> float:
    try:
        lr = float(value)
    except (TypeError, ValueError):
        lr = math.nan
    if not math.isfinite(lr) or not 0 < lr <= MAX_LR:
        raise BadInput(f"The learning rate must be above 0 and at most {MAX_LR:g}, not {value}.")
    return lr


def check_targets(targets: Any) -> tuple[str, ...]:
    chosen = tuple(t for t in TARGETS if t in (targets or []))
    if not chosen or len(chosen) != len(set(targets)):
        raise BadInput(f"Choose at least one target module among {', '.join(TARGETS)}.")
    return chosen


def check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise BadInput("Paste some text in the style to learn, or pick a preset.")
    size = len(text.encode())
    if size > MAX_TEXT_BYTES:
        raise BadInput(f"The text is {size:,} bytes; at most {MAX_TEXT_BYTES:,} (200 kB).")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < MIN_LINES or len(set(lines)) < MIN_LINES:
        raise BadInput(
            f"The text needs at least {MIN_LINES} different non-empty lines to learn a style "
            f"from (it has {len(set(lines))})."
        )
    return text


def check_prompt(prompt: Any) -> str:
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInput("Type a prompt for the model to continue.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"The prompt is {len(prompt):,} characters; at most {MAX_PROMPT_CHARS}.")
    return prompt


def check_config(context: Context, model_id, rank, alpha, dropout, targets, steps, lr, seed):
    """The train.TrainConfig for these settings, or BadInput saying which one is wrong."""
    check_model(context, model_id)
    return training.TrainConfig(
        model_id=model_id,
        rank=check_whole(rank, "The rank r", MIN_RANK, MAX_RANK),
        alpha=check_number(alpha, "α (alpha)", 0.5, MAX_ALPHA),
        dropout=check_number(dropout, "Dropout", 0, MAX_DROPOUT),
        targets=check_targets(targets),
        steps=check_whole(steps, "Steps", MIN_STEPS, MAX_STEPS),
        lr=check_lr(lr),
        seed=check_seed(seed),
    )


def model_choices(context: Context) -> list[tuple[str, str]]:
    return [(s.title, s.id) for s in context.models.specs(task="causal-lm")] or [
        ("Tiny Llama (bundled)", DEFAULT_MODEL)
    ]


def check_model(context: Context, model_id: Any) -> str:
    try:
        spec = context.models.spec(model_id)
    except KeyError:
        raise BadInput(
            f"Model {str(model_id)[:40]!r} is not a registered causal language model; choose "
            f"one of: {', '.join(i for _, i in model_choices(context))}."
        ) from None
    reason = spec.unavailable()
    if reason:
        raise BadInput(f"{spec.title} is not available here: {reason}")
    return model_id


def load(context: Context, model_id: str) -> Any:
    from playground.models import ModelUnavailable

    try:
        return context.model(check_model(context, model_id))
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None


@dataclass(frozen=True)
class Preset(Result):
    text: str  # lines in the style to learn
    prompt: str  # one that shows it off


def preset(name: Any) -> Preset | None:
    """A style's text and prompt; None for your own text, which stays as it is."""
    if name == OWN_TEXT:
        return None
    if name not in data.STYLES:
        raise BadInput(f"Unknown preset {name!r}; choose one of: {', '.join(data.STYLES)}.")
    return Preset(data.style_text(name), data.PROMPTS[name])


# -- before training: what it costs ---------------------------------------------------------


def _mib(n: int) -> str:
    return f"{n / 2**20:,.2f} MiB"


def command(cfg: Any) -> str:
    """The headless command for these settings (multi-GPU: accelerate launch -m ...)."""
    return " \\\n  ".join(
        [
            "playground lora-train",
            f"--model {cfg.model_id} --rank {cfg.rank} --alpha {cfg.alpha:g}",
            f"--dropout {cfg.dropout:g} --targets {','.join(cfg.targets)}",
            f"--steps {cfg.steps} --lr {cfg.lr:g} --seed {cfg.seed}",
            f"--data {shlex.quote('style.txt')} --out adapter/",
        ]
    )


def export(
    context: Context, model_id, rank, alpha, dropout, targets, steps, lr, seed, run=None
) -> Export:
    """The plan on screen as numbers and CSV, and a script that recounts it with peft; a run in
    the session adds its loss per step, which it already holds (nothing is recomputed)."""
    cfg = check_config(context, model_id, rank, alpha, dropout, targets, steps, lr, seed)
    model = load(context, cfg.model_id).model
    numbers = reproduce.numbers(cfg, model)
    held = run if isinstance(run, Run) else None
    return Export(numbers, reproduce.snippet(cfg, model), reproduce.tables(numbers, held))


@dataclass(frozen=True)
class Plan(Result):
    summary: str  # Markdown: the trainable parameters and the memory of each method
    table: list[list[str]]  # full fine-tune, LoRA, QLoRA
    command: str  # the same run, headless


def plan(context: Context, model_id, rank, alpha, dropout, targets, steps, lr, seed) -> Plan:
    """(summary, memory table, command) for the settings on screen, before any training."""
    cfg = check_config(context, model_id, rank, alpha, dropout, targets, steps, lr, seed)
    model = load(context, cfg.model_id).model
    rows = accounting.budgets(model, list(cfg.targets), cfg.rank)
    full, plain = rows[0], rows[1]
    summary = (
        f"**{plain.trainable:,} trainable parameters** of {full.trainable:,} "
        f"(**{plain.trainable / full.trainable:.2%}**): r · (k + d) per adapted layer, "
        f"{len(cfg.targets)} module kind(s) × {model.config.num_hidden_layers} layers. "
        f"Memory to fine-tune (float32, AdamW): full **{_mib(full.total)}**, LoRA "
        f"**{_mib(plain.total)}**, QLoRA **{_mib(rows[2].total)}**."
    )
    table = [
        [
            b.method,
            f"{b.trainable:,}",
            _mib(b.weights),
            _mib(b.gradients),
            _mib(b.optimizer),
            _mib(b.total),
        ]
        for b in rows
    ]
    cmd = (
        f"# settings on screen, headless on any registry model\n{command(cfg)}\n"
        f"# on several GPUs, the same loop through accelerate\n"
        f"accelerate launch -m plugins.lora.cli {command(cfg).split(' ', 2)[2]}"
    )
    return Plan(summary, table, cmd)


# -- training ----------------------------------------------------------------------------------


def training_summary(p: Any, cfg: Any) -> str:
    parts = [
        f"**Step {p.step} of {cfg.steps}**",
        f"loss {p.losses[-1]:.3f}" if p.losses else "",
        f"{p.tokens_per_s:,.0f} tokens/s",
        f"{p.seconds:.1f} s",
        p.backend,
    ]
    if p.done:
        if p.stopped_early:
            parts.append(f"⏱️ stopped at the {cfg.max_seconds:g} s cap")
        before, after = p.held_out
        parts.append(f"held-out loss **{before:.3f} → {after:.3f}**")
        if p.memory is not None:
            m = p.memory
            parts.append(
                f"measured: weights {_mib(m.weights)}, gradients {_mib(m.gradients)}, "
                f"AdamW state {_mib(m.optimizer)}"
            )
    return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class Training(Result):
    loss: Any  # the loss curve so far
    summary: str  # Markdown
    run: Run  # the adapter so far, kept in the session


def train(
    context: Context,
    text,
    model_id,
    rank,
    alpha,
    dropout,
    targets,
    steps,
    lr,
    seed,
    qlora=False,
    progress=None,
) -> Iterator[Training]:
    """The run so far after every few steps; the last is the finished run. ``progress(fraction,
    desc=...)`` hears of each one."""
    cfg = check_config(context, model_id, rank, alpha, dropout, targets, steps, lr, seed)
    text = check_text(text)
    lm = load(context, cfg.model_id)
    cfg = replace(cfg, qlora=qlora)
    windows = training.windows(lm.tokenizer, text, cfg.block)
    if len(windows) < 2 * cfg.batch:
        raise BadInput(
            f"The text is {len(windows) * cfg.block:,} tokens; at least "
            f"{2 * cfg.batch * cfg.block:,} are needed (more lines)."
        )
    every = max(1, cfg.steps // 25)  # ~25 redraws a run
    for p in training.train(lm.model, windows, cfg, report_every=every):
        # a snapshot at every report, so a stopped run still leaves its adapter so far
        tensors = {
            k: v.detach().cpu().clone() for k, v in training.adapter_tensors(p.model).items()
        }
        run = Run(cfg, tensors, tuple(p.losses), p.held_out, p.memory, p.seconds, p.backend)
        baseline = p.held_out[0] if p.held_out else None
        if progress is not None:
            progress(len(p.losses) / cfg.steps, desc=f"step {len(p.losses)} of {cfg.steps}")
        figure = figures.loss_curve(p.losses, cfg.steps, baseline)
        yield Training(figure, training_summary(p, cfg), run)


# -- QLoRA beside LoRA ---------------------------------------------------------------------------


def compare_qlora(plain: Any, quant: Any) -> list[list[str]]:
    """One row per finished run: plain LoRA (when trained) and QLoRA."""
    if not isinstance(quant, Run) or quant.held_out is None:
        raise BadInput("Run the QLoRA training to its end first.")
    rows = []
    for run in (plain, quant):
        if isinstance(run, Run) and run.held_out is not None and run.memory is not None:
            m = run.memory
            rows.append(
                [
                    run.backend,
                    f"{run.losses[-1]:.3f}",
                    f"{run.held_out[1]:.3f}",
                    _mib(m.weights),
                    _mib(m.total),
                    f"{run.seconds:.1f} s",
                ]
            )
    return rows


# -- transfer learning -------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer(Result):
    table: list[list[str]]  # one row per method
    note: str  # Markdown: the data set


def transfer(context: Context, seed) -> Transfer:
    """Frozen MiniLM + head vs random features + head vs full fine-tune, on the shipped set."""
    seed = check_seed(seed)
    encoder = load_encoder(context)
    results = transfer_learning.compare(encoder, seed)
    train_set, test_set = data.labelled_set()
    rows = [
        [r.method, f"{r.accuracy:.1%}", f"{r.seconds:.1f} s", f"{r.trainable:,}"] for r in results
    ]
    md = (
        f"{len(train_set)} training and {len(test_set)} test sentences, {len(data.TOPICS)} topics "
        f"({', '.join(data.TOPICS)}); the test sentences use words no training sentence has. "
        f"Chance is {1 / len(data.TOPICS):.0%}."
    )
    return Transfer(rows, md)


def load_encoder(context: Context) -> Any:
    from playground.models import ModelUnavailable

    try:
        return context.model("minilm")
    except KeyError:
        raise BadInput("MiniLM is not registered: the models plugin provides it.") from None
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None
