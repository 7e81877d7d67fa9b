"""What the tab shows of a trained (or uploaded) adapter: text before and after it, its ΔW, the
adapter merged into the base against beside it, and its files as peft saves them.

No gradio here: each handler checks what it is given, as views.py does, and returns a `Result`.
"""

from __future__ import annotations

import copy
import json
import statistics
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.concept import Context
from playground.inputs import BadInput, Result, check_seed
from playground.lazy import lazy_module
from plugins.lora import figures
from plugins.lora.limits import TARGETS
from plugins.lora.views import (
    MAX_RANK,
    MAX_UPLOAD_BYTES,
    MIN_RANK,
    Run,
    check_prompt,
    load,
)

lora = lazy_module("plugins.lora.lora")
training = lazy_module("plugins.lora.train")

NEW_TOKENS = 40
TIMING_REPEATS = 20


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


@dataclass(frozen=True)
class Continuations(Result):
    before: str  # the base model's
    after: str  # with the adapter


def generate(context: Context, run, prompt, seed) -> Continuations:
    """The same prompt and seed, before and after the adapter."""
    run = check_run(run)
    prompt = check_prompt(prompt)
    seed = check_seed(seed)
    lm = load(context, run.config.model_id)
    before = training.sample(lm.model, lm.tokenizer, prompt, seed, NEW_TOKENS)
    after = training.sample(_adapted(run, lm), lm.tokenizer, prompt, seed, NEW_TOKENS)
    return Continuations(before, after)


# -- after training: what changed --------------------------------------------------------------


def layer_names(run: Run) -> list[str]:
    return sorted(
        {
            k.removeprefix(lora.PREFIX).removesuffix(".lora_A.weight")
            for k in run.tensors
            if k.endswith(".lora_A.weight")
        },
        key=_layer_order,
    )


def _layer_order(name: str) -> tuple[int, int, str]:
    """By layer, then as the block runs: attention's q, k, v, o before the MLP."""
    parts = name.split(".")
    layer = next((int(p) for p in parts if p.isdigit()), 0)
    kind = parts[-1]
    return layer, TARGETS.index(kind) if kind in TARGETS else len(TARGETS), name


@dataclass(frozen=True)
class Delta(Result):
    figure: Any  # the heatmap and the singular values
    note: str  # Markdown: its rank and size


def inspect(run, layer) -> Delta:
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
    return Delta(figures.delta_w(delta.float().tolist(), singular, run.config.rank, layer), md)


def _times_ms(models: list[Any], ids: Any) -> list[float]:
    """Median forward time of each model. Taken in turns, so a busy moment of a shared
    machine slows every model alike rather than whichever happened to be timed then."""
    import torch

    times: list[list[float]] = [[] for _ in models]
    with torch.no_grad():
        for model in models:
            model(ids)  # warm up
        for _ in range(TIMING_REPEATS):
            for model, own in zip(models, times, strict=True):
                start = time.perf_counter()
                model(ids)
                own.append(time.perf_counter() - start)
    return [statistics.median(own) * 1000 for own in times]


def merge(context: Context, run, prompt) -> str:
    """Inference time and outputs with the adapter beside the base, and merged into it."""
    import torch

    run = check_run(run)
    prompt = check_prompt(prompt)
    lm = load(context, run.config.model_id)
    ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"].to(
        next(lm.model.parameters()).device
    )
    unmerged, merged = _adapted(run, lm), _adapted(run, lm, merged=True)
    with torch.no_grad():
        diff = (unmerged(ids).logits - merged(ids).logits).abs().max().item()
    t_base, t_un, t_m = _times_ms([lm.model, unmerged, merged], ids)
    same = training.sample(unmerged, lm.tokenizer, prompt, 0, 20) == training.sample(
        merged, lm.tokenizer, prompt, 0, 20
    )
    return (
        f"Forward pass on {ids.shape[1]} tokens (median of {TIMING_REPEATS}): base "
        f"**{t_base:.2f} ms**, adapter beside the base **{t_un:.2f} ms** "
        f"({(t_un / t_base - 1):+.0%}: two small extra matmuls per adapted layer), merged "
        f"W + ΔW **{t_m:.2f} ms** ({(t_m / t_base - 1):+.0%}; it runs exactly the base's "
        "matmuls, so any gap is timing noise). Largest logit difference "
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


@dataclass(frozen=True)
class Loaded(Result):
    note: str  # what was loaded
    run: Run  # kept in the session as a trained one


def load_adapter(context: Context, files, model_id) -> Loaded:
    """Check an uploaded adapter against the model and keep it as the session's run."""
    lm = load(context, model_id)
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
    return Loaded(
        f"Loaded an adapter of rank {cfg.rank}, α = {cfg.alpha:g}, on "
        f"{', '.join(targets)} ({len(tensors) // 2} layers) for {model_id}.",
        run,
    )


# -- after a run or an upload: everything at once ------------------------------------------------


@dataclass(frozen=True)
class Trained(Result):
    layers: list[str]  # the adapted layers, to inspect one by one
    figure: Any  # the first layer's ΔW
    note: str
    before: str
    after: str


def trained(context: Context, run, prompt, seed) -> Trained | None:
    """The adapted layers, the first one's ΔW, before/after text; None while the session holds
    no run (a training stopped before its first report, a refused upload)."""
    if not isinstance(run, Run):
        return None
    names = layer_names(run)
    delta, text = inspect(run, names[0]), generate(context, run, prompt, seed)
    return Trained(names, delta.figure, delta.note, text.before, text.after)
