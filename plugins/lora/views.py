"""What each part of the LoRA tab shows, computed from its inputs (no gradio here).

Every handler checks what it is given and raises `BadInput` with what is allowed; tab.py turns
that into a gr.Error. A trained run lives in the visitor's session as a `Run` (the config and
the adapter's A and B, not a model), so each view rebuilds what it needs from the shared base.
"""

from __future__ import annotations

import copy
import math
import shlex
import tempfile
import time
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from playground import devices
from playground.inputs import BadInput, check_number, check_seed
from playground.lazy import lazy_module
from plugins.lora import data, figures
from plugins.lora.limits import MAX_STEPS, TARGETS

accounting = lazy_module("plugins.lora.accounting")
lora = lazy_module("plugins.lora.lora")
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
NEW_TOKENS = 40
TIMING_REPEATS = 20
MAX_UPLOAD_BYTES = 50_000_000
DEFAULT_MODEL = "tiny-llama"


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


def check_config(model_id, rank, alpha, dropout, targets, steps, lr, seed):
    """The train.TrainConfig for these settings, or BadInput saying which one is wrong."""
    check_model(model_id)
    return training.TrainConfig(
        model_id=model_id,
        rank=int(check_number(rank, "The rank r", MIN_RANK, MAX_RANK, whole=True)),
        alpha=check_number(alpha, "α (alpha)", 0.5, MAX_ALPHA),
        dropout=check_number(dropout, "Dropout", 0, MAX_DROPOUT),
        targets=check_targets(targets),
        steps=int(check_number(steps, "Steps", MIN_STEPS, MAX_STEPS, whole=True)),
        lr=check_lr(lr),
        seed=check_seed(seed),
    )


def model_choices() -> list[tuple[str, str]]:
    from playground.models import REGISTRY

    return [(s.title, s.id) for s in REGISTRY.specs(task="causal-lm")] or [
        ("Tiny Llama (bundled)", DEFAULT_MODEL)
    ]


def check_model(model_id: Any) -> str:
    from playground.models import REGISTRY

    try:
        spec = REGISTRY.spec(model_id)
    except KeyError:
        raise BadInput(
            f"Model {str(model_id)[:40]!r} is not a registered causal language model; choose "
            f"one of: {', '.join(i for _, i in model_choices())}."
        ) from None
    reason = spec.unavailable()
    if reason:
        raise BadInput(f"{spec.title} is not available here: {reason}")
    return model_id


def load(model_id: str) -> Any:
    from playground.models import REGISTRY, ModelUnavailable

    try:
        return REGISTRY.get(check_model(model_id), devices.device())
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None


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


def export(model_id, rank, alpha, dropout, targets, steps, lr, seed, run=None):
    """(numbers, script, tables) of the plan on screen; a run in the session adds its loss per
    step, which it already holds (nothing is recomputed)."""
    cfg = check_config(model_id, rank, alpha, dropout, targets, steps, lr, seed)
    model = load(cfg.model_id).model
    numbers = reproduce.numbers(cfg, model)
    held = run if isinstance(run, Run) else None
    return numbers, reproduce.snippet(cfg, model), reproduce.tables(numbers, held)


def plan(model_id, rank, alpha, dropout, targets, steps, lr, seed) -> tuple[str, list, str]:
    """(summary, memory table, command) for the settings on screen, before any training."""
    cfg = check_config(model_id, rank, alpha, dropout, targets, steps, lr, seed)
    model = load(cfg.model_id).model
    rows = accounting.budgets(model, list(cfg.targets), cfg.rank)
    full, plain = rows[0], rows[1]
    summary = (
        f"**{plain.trainable:,} trainable parameters** of {full.trainable:,} "
        f"(**{plain.trainable / full.trainable:.2%}**): r · (k + d) per adapted layer, "
        f"{len(cfg.targets)} module kind(s) × {model.config.num_hidden_layers} layers. "
        f"Memory to fine-tune (float32, AdamW): full **{_mib(full.total)}**, LoRA "
        f"**{_mib(plain.total)}**, QLoRA **{_mib(rows[2].total)}**."
    )
    table = [[b.method, f"{b.trainable:,}", _mib(b.weights), _mib(b.gradients),
              _mib(b.optimizer), _mib(b.total)] for b in rows]  # fmt: skip
    cmd = (
        f"# settings on screen, headless on any registry model\n{command(cfg)}\n"
        f"# on several GPUs, the same loop through accelerate\n"
        f"accelerate launch -m plugins.lora.cli {command(cfg).split(' ', 2)[2]}"
    )
    return summary, table, cmd


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


def train(text, model_id, rank, alpha, dropout, targets, steps, lr, seed, qlora=False):
    """Yield (figure, summary, Run so far) while training; the last yield is the finished run."""
    cfg = check_config(model_id, rank, alpha, dropout, targets, steps, lr, seed)
    text = check_text(text)
    lm = load(cfg.model_id)
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
        yield figures.loss_curve(p.losses, cfg.steps, baseline), training_summary(p, cfg), run


def _adapted(run: Run, lm: Any, merged: bool = False) -> Any:
    """A copy of the base with our LoRA layers holding the run's A and B."""
    model = copy.deepcopy(lm.model)
    config = lora.adapter_config(run.config.targets, run.config.rank, run.config.alpha, 0.0, "")
    lora.attach(model, config, run.tensors)
    return (lora.merge_and_unload(model) if merged else model).eval()


def check_run(run: Any) -> Run:
    if not isinstance(run, Run):
        raise BadInput("Train an adapter first (or load one): there is nothing to show yet.")
    return run


def generate(run, prompt, seed) -> tuple[str, str]:
    """The same prompt and seed, before and after the adapter."""
    run = check_run(run)
    prompt = check_prompt(prompt)
    seed = check_seed(seed)
    lm = load(run.config.model_id)
    before = training.sample(lm.model, lm.tokenizer, prompt, seed, NEW_TOKENS)
    after = training.sample(_adapted(run, lm), lm.tokenizer, prompt, seed, NEW_TOKENS)
    return before, after


# -- after training: what changed --------------------------------------------------------------


def layer_names(run: Run) -> list[str]:
    return sorted(
        {k.removeprefix(lora.PREFIX).removesuffix(".lora_A.weight") for k in run.tensors
         if k.endswith(".lora_A.weight")},
        key=_layer_order,
    )  # fmt: skip


def _layer_order(name: str) -> tuple[int, int, str]:
    """By layer, then as the block runs: attention's q, k, v, o before the MLP."""
    parts = name.split(".")
    layer = next((int(p) for p in parts if p.isdigit()), 0)
    kind = parts[-1]
    return layer, TARGETS.index(kind) if kind in TARGETS else len(TARGETS), name


def inspect(run, layer) -> tuple[Any, str]:
    """ΔW = (α/r) B A of one layer as a heatmap, and its singular values."""
    import torch

    run = check_run(run)
    names = layer_names(run)
    if layer not in names:
        raise BadInput(f"Choose one of the adapted layers: {', '.join(names[:4])}, ...")
    a = run.tensors[f"{lora.PREFIX}{layer}.lora_A.weight"]
    b = run.tensors[f"{lora.PREFIX}{layer}.lora_B.weight"]
    # in float64, so rounding does not pose as extra rank
    delta = (run.config.alpha / run.config.rank) * (b.double() @ a.double())  # (d, k)
    singular = torch.linalg.svdvals(delta).tolist()
    rank = int(torch.linalg.matrix_rank(delta).item())
    top = singular[0] if singular and singular[0] > 0 else 1.0
    beyond = singular[run.config.rank] / top if len(singular) > run.config.rank else 0.0
    md = (
        f"ΔW of `{layer}` is {delta.shape[0]} × {delta.shape[1]} = {delta.numel():,} numbers "
        f"made from r · (d + k) = {a.numel() + b.numel():,}. Its numerical rank is **{rank}** "
        f"(r = {run.config.rank}): singular value {run.config.rank + 1} is {beyond:.1e} of the "
        f"first, rounding noise. ‖ΔW‖ = {delta.norm():.4f}."
    )
    return figures.delta_w(delta.float().tolist(), singular, run.config.rank, layer), md


def _time_ms(model: Any, ids: Any) -> float:
    import torch

    with torch.no_grad():
        model(ids)  # warm up
        times = []
        for _ in range(TIMING_REPEATS):
            start = time.perf_counter()
            model(ids)
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def merge(run, prompt) -> str:
    """Inference time and outputs with the adapter beside the base, and merged into it."""
    import torch

    run = check_run(run)
    prompt = check_prompt(prompt)
    lm = load(run.config.model_id)
    ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"].to(
        next(lm.model.parameters()).device
    )
    unmerged, merged = _adapted(run, lm), _adapted(run, lm, merged=True)
    with torch.no_grad():
        diff = (unmerged(ids).logits - merged(ids).logits).abs().max().item()
    t_base, t_un, t_m = (_time_ms(m, ids) for m in (lm.model, unmerged, merged))
    same = training.sample(unmerged, lm.tokenizer, prompt, 0, 20) == training.sample(
        merged, lm.tokenizer, prompt, 0, 20
    )
    return (
        f"Forward pass on {ids.shape[1]} tokens (median of {TIMING_REPEATS}): base "
        f"**{t_base:.2f} ms**, adapter beside the base **{t_un:.2f} ms** "
        f"(+{(t_un / t_base - 1):.0%}), merged W + ΔW **{t_m:.2f} ms** "
        f"({(t_m / t_base - 1):+.0%}: the same matmuls as the base). Largest logit difference "
        f"merged vs unmerged: **{diff:.1e}** (float32 rounding); the sampled continuations "
        f"are {'**identical**' if same else '**different**'}. Unmerging subtracts ΔW again."
    )


# -- files -------------------------------------------------------------------------------------


def save(run) -> str:
    """A zip with adapter_model.safetensors and adapter_config.json, as peft saves them."""
    run = check_run(run)
    from safetensors.torch import save_file

    cfg = run.config
    folder = Path(tempfile.mkdtemp(prefix="lora-adapter-"))
    config = lora.adapter_config(cfg.targets, cfg.rank, cfg.alpha, cfg.dropout, cfg.model_id)
    import json

    save_file(run.tensors, folder / lora.ADAPTER_FILE, metadata={"format": "pt"})
    (folder / lora.CONFIG_FILE).write_text(json.dumps(config, indent=2))
    path = folder / f"lora-{cfg.model_id}-r{cfg.rank}.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in (lora.ADAPTER_FILE, lora.CONFIG_FILE):
            zf.write(folder / name, name)
    return str(path)


def _gather(files: Any) -> Path:
    """The uploaded zip, or the two files, unpacked into one folder."""
    paths = [Path(f if isinstance(f, str) else getattr(f, "name", "")) for f in (files or [])]
    if not paths or not all(p.is_file() for p in paths):
        raise BadInput(
            f"Upload the adapter: a .zip holding {lora.ADAPTER_FILE} and {lora.CONFIG_FILE}, "
            "or those two files."
        )
    if sum(p.stat().st_size for p in paths) > MAX_UPLOAD_BYTES:
        raise BadInput(f"The upload is over {MAX_UPLOAD_BYTES // 10**6} MB.")
    folder = Path(tempfile.mkdtemp(prefix="lora-upload-"))
    for p in paths:
        if p.suffix == ".zip":
            try:
                with zipfile.ZipFile(p) as zf:
                    for name in (lora.ADAPTER_FILE, lora.CONFIG_FILE):
                        if name in zf.namelist():
                            (folder / name).write_bytes(zf.read(name))
            except zipfile.BadZipFile:
                raise BadInput(f"{p.name} is not a readable zip file.") from None
        elif p.suffix == ".safetensors":
            (folder / lora.ADAPTER_FILE).write_bytes(p.read_bytes())
        elif p.suffix == ".json":
            (folder / lora.CONFIG_FILE).write_bytes(p.read_bytes())
        else:
            raise BadInput(f"{p.name}: only .zip, .safetensors and .json files are accepted.")
    return folder


def load_adapter(files, model_id) -> tuple[str, Run]:
    """Check an uploaded adapter against the model and keep it as the session's run."""
    lm = load(model_id)
    folder = _gather(files)
    try:
        config, tensors = lora.read_adapter(folder)
        lora.attach(copy.deepcopy(lm.model), config, tensors)  # refuses what does not fit
        targets = tuple(config["target_modules"])
        if not set(targets) <= set(TARGETS):
            raise lora.AdapterError(f"target modules must be among {', '.join(TARGETS)}")
        cfg = training.TrainConfig(
            model_id=model_id, rank=config["r"], alpha=float(config["lora_alpha"]), targets=targets
        )
    except lora.AdapterError as exc:
        raise BadInput(f"This adapter was refused: {exc}.") from None
    if not MIN_RANK <= cfg.rank <= MAX_RANK:
        raise BadInput(f"The adapter's rank is {cfg.rank}; ranks {MIN_RANK}–{MAX_RANK} only.")
    run = Run(cfg, {k: v.float() for k, v in tensors.items()}, source="uploaded")
    return (
        f"Loaded an adapter of rank {cfg.rank}, α = {cfg.alpha:g}, on "
        f"{', '.join(targets)} ({len(tensors) // 2} layers) for {model_id}.",
        run,
    )


# -- QLoRA beside LoRA ---------------------------------------------------------------------------


def compare_qlora(plain: Any, quant: Any) -> list[list[str]]:
    """One row per finished run: plain LoRA (when trained) and QLoRA."""
    if not isinstance(quant, Run) or quant.held_out is None:
        raise BadInput("Run the QLoRA training to its end first.")
    rows = []
    for run in (plain, quant):
        if isinstance(run, Run) and run.held_out is not None and run.memory is not None:
            m = run.memory
            rows.append([
                run.backend, f"{run.losses[-1]:.3f}", f"{run.held_out[1]:.3f}",
                _mib(m.weights), _mib(m.total), f"{run.seconds:.1f} s",
            ])  # fmt: skip
    return rows


# -- transfer learning -------------------------------------------------------------------------


def transfer(seed) -> tuple[list[list[str]], str]:
    """Frozen MiniLM + head vs random features + head vs full fine-tune, on the shipped set."""
    seed = check_seed(seed)
    encoder = load_encoder()
    results = transfer_learning.compare(encoder, seed)
    train_set, test_set = data.labelled_set()
    rows = [[r.method, f"{r.accuracy:.1%}", f"{r.seconds:.1f} s", f"{r.trainable:,}"]
            for r in results]  # fmt: skip
    md = (
        f"{len(train_set)} training and {len(test_set)} test sentences, {len(data.TOPICS)} topics "
        f"({', '.join(data.TOPICS)}); the test sentences use words no training sentence has. "
        f"Chance is {1 / len(data.TOPICS):.0%}."
    )
    return rows, md


def load_encoder() -> Any:
    from playground.models import REGISTRY, ModelUnavailable

    try:
        return REGISTRY.get("minilm", devices.device())
    except KeyError:
        raise BadInput("MiniLM is not registered: the models plugin provides it.") from None
    except ModelUnavailable as exc:
        raise BadInput(str(exc)) from None
