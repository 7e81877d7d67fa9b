"""The LoRA training loop, written once with accelerate: the same code runs in the tab on a
CPU, headless on one GPU (`playground lora-train`), and on many (`accelerate launch`).

The real-model path is peft's (`get_peft_model`), the tool a user takes home; QLoRA puts
bitsandbytes' NF4 `Linear4bit` under it, or, where bitsandbytes is missing, our own NF4 layer
(nf4.py) under our own LoRA layer (lora.py). Randomness comes from the config's seed: the
adapter's init, the batch order and dropout.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from plugins.lora import accounting, lora, nf4
from plugins.models.seeding import seeded
from plugins.models.text import readable

MAX_SECONDS = 180.0  # a run stops here whatever its steps
HELD_OUT_EVERY = 10  # every 10th window of the text is held out to measure the loss on


@dataclass(frozen=True)
class TrainConfig:
    model_id: str = "tiny-llama"
    rank: int = 8  # r: A is r × k, B is d × r
    alpha: float = 16.0  # the update is scaled by α / r
    dropout: float = 0.0  # on the adapter's input only
    targets: tuple[str, ...] = ("q_proj", "v_proj")  # which linear layers get an adapter
    steps: int = 150
    lr: float = 3e-3  # AdamW on A and B only
    seed: int = 0
    batch: int = 8  # windows per step
    block: int = 64  # tokens per window
    qlora: bool = False  # the frozen base in NF4
    max_seconds: float = MAX_SECONDS


@dataclass
class Progress:
    step: int
    losses: list[float]  # training loss per step
    seconds: float
    tokens_per_s: float
    stopped_early: bool = False  # the time cap ended the run
    done: bool = False
    held_out: tuple[float, float] | None = None  # loss on held-out text before, after (at done)
    memory: accounting.Budget | None = None  # bytes really held after the first step
    model: Any = field(default=None, repr=False)  # the model being trained
    backend: str = ""


def windows(tokenizer: Any, text: str, block: int) -> Tensor:
    """Non-overlapping windows of ``block`` tokens, (N, block); the tail shorter than a window
    is dropped."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    n = len(ids) // block
    return torch.tensor(ids[: n * block]).reshape(n, block)  # (N, block)


def split(data: Tensor) -> tuple[Tensor, Tensor]:
    held = torch.arange(len(data)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    return data[~held], data[held]


def has_bitsandbytes() -> bool:
    return importlib.util.find_spec("bitsandbytes") is not None


def _bnb_quantize(model: nn.Module) -> None:
    """Every decoder linear layer to bitsandbytes' NF4 Linear4bit (float32 compute)."""
    import bitsandbytes as bnb

    for name, module in list(model.named_modules()):
        if type(module) is nn.Linear and not name.endswith("lm_head"):
            q = bnb.nn.Linear4bit(
                module.in_features,
                module.out_features,
                bias=module.bias is not None,
                compute_dtype=torch.float32,
                quant_type="nf4",
                compress_statistics=False,
            )
            q.weight = bnb.nn.Params4bit(
                module.weight.data.clone(),
                requires_grad=False,
                quant_type="nf4",
                compress_statistics=False,
                blocksize=nf4.BLOCK,
            )
            # On CPUs with AVX512-BF16, bitsandbytes repacks the weight for a fused bf16 kernel
            # at the first eval-mode forward (our held-out loss) and then uses it in training
            # too; that kernel has no backward, so the gradient never flows through the frozen
            # base. Keep the dequantizing path, whose gradients tests/test_train.py checks.
            q.support_avx512bf16_for_cpu = False
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, q.to(module.weight.device))


def lora_model(base: nn.Module, cfg: TrainConfig) -> tuple[nn.Module, str]:
    """A fresh copy of ``base`` with adapters on (the shared model is never touched), and what
    built it."""
    model = copy.deepcopy(base)
    with seeded(cfg.seed):  # peft draws A from the global generator
        if cfg.qlora and not has_bitsandbytes():
            nf4.quantize_linears(model)
            gen = torch.Generator().manual_seed(cfg.seed)
            lora.inject(model, cfg.targets, cfg.rank, cfg.alpha, cfg.dropout, gen)
            return model, "our NF4 + our LoRA (bitsandbytes is not installed)"
        from peft import LoraConfig, get_peft_model

        if cfg.qlora:
            _bnb_quantize(model)
        config = LoraConfig(
            r=cfg.rank,
            lora_alpha=cfg.alpha,
            lora_dropout=cfg.dropout,
            target_modules=list(cfg.targets),
            task_type="CAUSAL_LM",
            fan_in_fan_out=lora.fan_in_fan_out(model, cfg.targets),  # GPT-2: else peft warns
        )
        peft_model = get_peft_model(model, config)
    return peft_model, "bitsandbytes NF4 + peft" if cfg.qlora else "peft"


def adapter_tensors(model: nn.Module) -> dict[str, Tensor]:
    """A and B under peft's file keys, whichever backend built the model."""
    if lora.lora_layers(model):
        return lora.adapter_state_dict(model)
    from peft import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}


@torch.no_grad()
def mean_loss(model: nn.Module, data: Tensor, batch: int = 16) -> float:
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    losses = [
        model(input_ids=chunk.to(device), labels=chunk.to(device)).loss.item() * len(chunk)
        for chunk in data.split(batch)
    ]
    model.train(was)
    return sum(losses) / len(data)


def train(
    base: nn.Module, data: Tensor, cfg: TrainConfig, report_every: int = 10
) -> Iterator[Progress]:
    """Train adapters on ``data`` windows; yield every ``report_every`` steps and once when
    done (the last yield carries the model, the held-out losses and the measured memory)."""
    from accelerate import Accelerator

    device = next(base.parameters()).device
    accelerator = Accelerator(cpu=device.type == "cpu")
    train_set, held_set = split(data)
    model, backend = lora_model(base, cfg)
    before = mean_loss(model, held_set.to(device)) if len(held_set) else math.nan
    gen = torch.Generator().manual_seed(cfg.seed)
    loader = torch.utils.data.DataLoader(
        train_set,
        batch_size=min(cfg.batch, len(train_set)),
        shuffle=True,
        generator=gen,
        drop_last=True,
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    model, opt, loader = accelerator.prepare(model, optimizer, loader)
    model.train()
    losses, memory, seen = [], None, 0
    began = time.perf_counter()
    step = 0
    while step < cfg.steps:
        for ids in loader:
            with seeded(cfg.seed * 100_003 + step):  # dropout from the run's seed
                loss = model(input_ids=ids, labels=ids).loss
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(params, 1.0)
            opt.step()
            if memory is None:  # after the first step Adam's moments exist: measure then
                memory = accounting.measured(accelerator.unwrap_model(model), optimizer)
            opt.zero_grad(set_to_none=False)
            step += 1
            seen += ids.numel()
            losses.append(loss.item())
            seconds = time.perf_counter() - began
            over = seconds > cfg.max_seconds
            if step >= cfg.steps or over:
                break
            if step % report_every == 0:
                inner = accelerator.unwrap_model(model)
                yield Progress(step, losses, seconds, seen / seconds, model=inner, backend=backend)
        if over:
            break
    seconds = time.perf_counter() - began
    model = accelerator.unwrap_model(model)
    after = mean_loss(model, held_set.to(device)) if len(held_set) else math.nan
    model.eval()
    yield Progress(
        step,
        losses,
        seconds,
        seen / max(seconds, 1e-9),
        stopped_early=step < cfg.steps,
        done=True,
        held_out=(before, after),
        memory=memory,
        model=model,
        backend=backend,
    )


@torch.no_grad()
def sample(
    model: nn.Module,
    tokenizer: Any,
    prompt: str,
    seed: int,
    new_tokens: int = 40,
    temperature: float = 0.8,
    top_k: int = 40,
) -> str:
    """Top-k sampling with an explicit generator: the same prompt and seed give the same draw
    from the same model, so before and after differ only by the adapter. The end-of-text token
    is never drawn, so both run to ``new_tokens`` (transformers' suppress_tokens)."""
    device = next(model.parameters()).device
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(device)  # (1, T)
    gen = torch.Generator(device=device).manual_seed(seed)
    cache = None
    step_ids, out = ids, []
    for _ in range(new_tokens):
        result = model(input_ids=step_ids, cache=cache, use_cache=True)
        cache = result.cache  # transformers 5 names the KV cache `cache` (was past_key_values)
        logits = result.logits[0, -1] / temperature  # (V,)
        if tokenizer.eos_token_id is not None:  # the styles' texts never end: nor does ours
            logits[tokenizer.eos_token_id] = -math.inf
        top = logits.topk(top_k)
        choice = top.indices[torch.multinomial(top.values.softmax(-1), 1, generator=gen)]
        out.append(int(choice))
        step_ids = choice.view(1, 1)
    return prompt + readable(tokenizer.decode(out, skip_special_tokens=True))
