"""`playground lora-train`: the tab's LoRA run, headless, on any registry model.

    playground lora-train --model tiny-llama --rank 8 --data style.txt --out adapter/
    playground lora-train --model gpt2 --targets c_attn,c_proj --data style.txt --out adapter/
    accelerate launch -m plugins.lora.cli --model smollm2-135m --rank 16 --data my.txt --out a/

The loop is train.train (accelerate), so one GPU or many run the same code; the adapter is
saved by peft (`adapter_model.safetensors` + `adapter_config.json`).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from playground.concept import Context
from plugins.lora.limits import MAX_STEPS
from plugins.lora.train import MAX_SECONDS, TrainConfig

MAX_DATA_BYTES = 200_000_000  # headless runs take far more text than the tab's 200 kB


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="playground lora-train", description=__doc__.split("\n")[0])
    d = TrainConfig()
    p.add_argument("--model", default=d.model_id, help="a causal-lm id from `playground models`")
    p.add_argument("--rank", type=int, default=d.rank, help="r, 1-64")
    p.add_argument("--alpha", type=float, default=d.alpha, help="the update is scaled by α/r")
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument(
        "--targets",
        default="",
        help="the model's linear layers to adapt, like "
        "q_proj,v_proj (Llama) or c_attn,c_proj,c_fc (GPT-2); default: peft's usual "
        "ones for the model's type",
    )
    p.add_argument("--steps", type=int, default=d.steps, help=f"at most {MAX_STEPS}")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--batch", type=int, default=d.batch)
    p.add_argument("--block", type=int, default=d.block, help="tokens per training window")
    p.add_argument("--qlora", action="store_true", help="the frozen base in NF4")
    p.add_argument("--max-seconds", type=float, default=MAX_SECONDS)
    p.add_argument("--data", type=Path, required=True, help="a UTF-8 text file in the style")
    p.add_argument("--out", type=Path, required=True, help="folder for the adapter")
    return p


def main(context: Context, argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    targets = tuple(t for t in args.targets.split(",") if t)
    problems = [
        "--rank must be 1-64" if not 1 <= args.rank <= 64 else "",
        f"--steps must be 1-{MAX_STEPS}" if not 1 <= args.steps <= MAX_STEPS else "",
        "--lr must be in (0, 1]" if not 0 < args.lr <= 1 else "",
        f"--data {args.data} is not a file" if not args.data.is_file() else "",
    ]
    if args.data.is_file() and args.data.stat().st_size > MAX_DATA_BYTES:
        problems.append(f"--data is over {MAX_DATA_BYTES // 10**6} MB")
    if any(problems):
        print("playground lora-train: " + "; ".join(p for p in problems if p), file=sys.stderr)
        return 2
    cfg = TrainConfig(
        model_id=args.model,
        rank=args.rank,
        alpha=args.alpha,
        dropout=args.dropout,
        targets=targets,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        batch=args.batch,
        block=args.block,
        qlora=args.qlora,
        max_seconds=args.max_seconds,
    )
    return run(context, cfg, args.data.read_text(encoding="utf-8"), args.out)


def run(context: Context, cfg: TrainConfig, text: str, out: Path) -> int:
    from playground.models import ModelUnavailable
    from plugins.lora import lora, train

    try:
        lm = context.model(cfg.model_id)
    except (KeyError, ModelUnavailable) as exc:
        print(f"playground lora-train: {exc}", file=sys.stderr)
        return 2
    targets = cfg.targets or usual_targets(lm.model)
    names = lora.target_names(lm.model)
    if not targets or set(targets) - set(names):
        print(
            f"playground lora-train: --targets must be among {','.join(names)} for {cfg.model_id}",
            file=sys.stderr,
        )
        return 2
    if cfg.qlora and lora.fan_in_fan_out(lm.model, targets):
        print(
            f"playground lora-train: --qlora quantizes nn.Linear layers; {cfg.model_id}'s "
            "are transformers' Conv1D: run it without --qlora",
            file=sys.stderr,
        )
        return 2
    cfg = replace(cfg, targets=targets)
    data = train.windows(lm.tokenizer, text, cfg.block)
    if len(data) < 2 * cfg.batch:
        need = f"at least {2 * cfg.batch} are needed"
        print(
            f"playground lora-train: {len(data)} windows of {cfg.block} tokens; {need}",
            file=sys.stderr,
        )
        return 2
    for p in train.train(lm.model, data, cfg, report_every=max(1, cfg.steps // 20)):
        print(
            f"step {p.step}/{cfg.steps} loss {p.losses[-1]:.4f} {p.tokens_per_s:,.0f} tok/s",
            flush=True,
        )
    if p.stopped_early:  # a partial run is saved too, saying so
        print(
            f"stopped at step {p.step} of {cfg.steps}: the {cfg.max_seconds:g} s limit "
            "(--max-seconds) was reached",
            flush=True,
        )
    before, after = p.held_out
    print(f"held-out loss {before:.4f} -> {after:.4f} in {p.seconds:.1f} s ({p.backend})")
    model = p.model
    if hasattr(model, "save_pretrained"):  # peft
        model.save_pretrained(out)
    else:  # our NF4 + our LoRA, in peft's format
        config = lora.adapter_config(cfg.targets, cfg.rank, cfg.alpha, cfg.dropout, cfg.model_id)
        lora.save_adapter(model, out, config)
    print(f"adapter saved to {out}/ (load with peft: PeftModel.from_pretrained(base, '{out}'))")
    return 0


def usual_targets(model) -> tuple[str, ...]:
    """peft's default targets for the model's type: q_proj, v_proj on Llama (the LoRA paper's
    Wq, Wv), c_attn on GPT-2 (its fused q, k, v projection); none for a type peft does not know."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as usual

    return tuple(usual.get(getattr(model.config, "model_type", ""), ()))


if __name__ == "__main__":  # accelerate launch -m plugins.lora.cli: every installed plugin's models
    from playground.host import load

    sys.exit(main(load().context(), sys.argv[1:]))
