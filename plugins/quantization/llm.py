"""Quantizing a whole causal LM: a quantized copy, calibration, sizes, speed, and QAT.

The three axes of the tab, on a real model:
- *what* (scope): the weights of every linear layer in the blocks; also their input
  activations (W8A8); or the KV cache (each k / v projection's output, per token and head, is
  what the cache stores). The embedding, the norms and the tied output head stay in float, as
  bitsandbytes and torchao leave them by default.
- *when* (timing): post-training dynamic (activation scales measured on each input), static
  (scales fixed from a few calibration samples), or quantization-aware training (fine-tune
  through fake-quantized weights, Jacob et al. 2018).
- *how* (mapping): a `quantization.Scheme`.

Every function takes a model and returns a new one or a number: the model it is given is never
changed, so the registry's shared model stays as every other tab expects it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from plugins.gpt import decode
from plugins.models.corpus import StoryWriter
from plugins.models.heldout import SEQ_LEN
from plugins.models.hooks import this_thread
from plugins.quantization.limits import CALIBRATION_SOURCES
from plugins.quantization.quantization import FakeQuantLinear, QuantLinear, Scheme

LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
KV_PROJECTIONS = ("k_proj", "v_proj")
STORY_SEED = 10_000  # not the seeds the training and held-out text came from


@dataclass(frozen=True)
class Recipe:
    """What to quantize in a model, and how."""

    weights: Scheme | None  # the blocks' linear weights; None keeps them float32
    activations: str = "none"  # "none", "dynamic" or "static" int8 inputs to those layers
    kv: Scheme | None = None  # the KV cache's values, per token and head; None: float32


def linears(model) -> Iterator[tuple[str, object, str]]:
    """(qualified name, parent module, attribute) of every linear layer in the blocks."""
    for i, layer in enumerate(model.model.layers):
        for part in ("self_attn", "mlp"):
            parent = getattr(layer, part)
            for attr in LINEARS:
                if isinstance(getattr(parent, attr, None), torch.nn.Module):
                    yield f"model.layers.{i}.{part}.{attr}", parent, attr


def quantized_copy(model, recipe: Recipe, act_scales: dict[str, float] | None = None):
    """A deep copy of ``model`` with its block linears replaced by `QuantLinear`s."""
    if recipe.activations == "static" and act_scales is None:
        raise ValueError("static activation quantization needs calibrated scales")
    head_dim = model.config.hidden_size // model.config.num_attention_heads
    head_dim = getattr(model.config, "head_dim", None) or head_dim
    kv = None
    if recipe.kv is not None:  # one scale per token and head, whatever granularity was asked
        kv = Scheme(recipe.kv.format, recipe.kv.symmetric, "group", head_dim)
    out = copy.deepcopy(model)
    for name, parent, attr in linears(out):
        setattr(
            parent,
            attr,
            QuantLinear(
                getattr(parent, attr),
                recipe.weights,
                recipe.activations,
                None if act_scales is None else act_scales[name],
                kv if attr in KV_PROJECTIONS else None,
            ),
        )
    return out.eval()


@torch.no_grad()
def calibrate(model, batches: Tensor) -> dict[str, float]:
    """Per linear layer, the largest |input| seen over ``batches`` (N, T): static scales."""
    seen: dict[str, float] = {}
    hooks = []
    for name, parent, attr in linears(model):

        def hook(_module, args, name=name):
            seen[name] = max(seen.get(name, 0.0), args[0].abs().max().item())

        hooks.append(getattr(parent, attr).register_forward_pre_hook(this_thread(hook)))
    try:
        model(input_ids=batches)
    finally:
        for h in hooks:
            h.remove()
    return seen


def story_ids(tokenizer, count: int, seed: int, length: int = SEQ_LEN) -> Tensor:
    """(count, length) token windows of fresh text from the training distribution."""
    writer = StoryWriter(STORY_SEED + seed)
    ids: list[int] = []
    while len(ids) < count * length:
        ids += tokenizer(writer.story())["input_ids"] + [tokenizer.eos_token_id]
    return torch.tensor(ids[: count * length]).view(count, length)  # (count, length)


def calibration_ids(tokenizer, samples: int, source: str, seed: int) -> Tensor:
    """Calibration windows: real text, or the two ways calibration goes wrong."""
    if source == "stories":
        return story_ids(tokenizer, samples, seed)
    gen = torch.Generator().manual_seed(seed)
    if source == "random tokens":
        return torch.randint(len(tokenizer), (samples, SEQ_LEN), generator=gen)
    if source == "one repeated token":
        return torch.full((samples, SEQ_LEN), int(tokenizer(" the")["input_ids"][0]))
    raise ValueError(f"calibration source must be one of {', '.join(CALIBRATION_SOURCES)}")


@torch.no_grad()
def model_bytes(model) -> int:
    """What the weights take: quantized layers at their stored size, the rest float32."""
    total = sum(m.nbytes for m in model.modules() if isinstance(m, QuantLinear))
    seen: set[int] = set()
    for p in model.parameters():  # what is left in float; the tied head counts once
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel() * p.element_size()
    return total


def kv_cache_bytes(config, kv: Scheme | None, tokens: int) -> int:
    """Bytes of the KV cache after ``tokens`` tokens: 2 · layers · tokens · kv_heads · head_dim
    values, plus one float32 scale per token and head when quantized."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    per_token = 2 * config.num_hidden_layers * config.num_key_value_heads
    if kv is None:
        return per_token * tokens * head_dim * 4
    zero_point = 0 if kv.symmetric else 1
    return per_token * tokens * (head_dim * kv.bits // 8 + 4 + zero_point)


@torch.no_grad()
def greedy(model, ids: Tensor, new_tokens: int) -> tuple[list[int], float]:
    """The greedy continuation of ``ids`` (1, T) and milliseconds per new token.

    Through the model's own forward (`decode.Library`), so every quantized layer runs; the
    gpt tab's faster Llama forward reads float weights and would skip them.
    """
    dec = decode.Library(model)
    start = time.perf_counter()
    logits, cache = dec.start(ids)
    tokens = []
    for _ in range(new_tokens):
        token = logits.argmax(-1, keepdim=True)  # (1, 1)
        tokens.append(int(token))
        logits = dec.extend(token, cache)
    return tokens, (time.perf_counter() - start) * 1000 / max(new_tokens, 1)


# -- quantization-aware training -----------------------------------------------------------


def fake_quant_copy(model, scheme: Scheme):
    """A trainable deep copy whose block linears see fake-quantized weights."""
    out = copy.deepcopy(model)
    for _, parent, attr in linears(out):
        setattr(parent, attr, FakeQuantLinear(getattr(parent, attr), scheme))
    return out


@dataclass
class QATProgress:
    step: int
    losses: list[float]  # distillation loss (KL to the float model, nats) per step so far
    seconds: float
    stopped_early: bool  # hit the time cap
    model: object  # the fake-quant model being trained


def qat(
    model,
    tokenizer,
    scheme: Scheme,
    steps: int,
    lr: float,
    seed: int,
    time_cap_s: float,
    every: int,
    batch: int = 4,
) -> Iterator[QATProgress]:
    """Fine-tune a fake-quant copy of ``model`` towards the float model's predictions on fresh
    stories; yield every ``every`` steps and at the end. Only the block linears train."""
    student = fake_quant_copy(model, scheme).train()
    params = [
        p for m in student.modules() if isinstance(m, FakeQuantLinear) for p in m.parameters()
    ]
    for p in student.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    data = story_ids(tokenizer, batch * steps, seed + 1).to(model.device)  # (B·steps, T)
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x = data[(step - 1) * batch : step * batch]
        with torch.no_grad():
            teacher = torch.log_softmax(model(input_ids=x).logits.float(), -1)
        student_logp = torch.log_softmax(student(input_ids=x).logits.float(), -1)
        # distillation from the float model (as LLM-QAT, Liu et al. 2023): match its whole
        # next-token distribution, so a few steps on new text do not drift from what it knew
        loss = (
            torch.nn.functional.kl_div(
                student_logp, teacher, log_target=True, reduction="batchmean"
            )
            / SEQ_LEN
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        seconds = time.perf_counter() - start
        capped = seconds > time_cap_s
        if step % every == 0 or step == steps or capped:
            yield QATProgress(step, losses, seconds, capped, student)
        if capped:
            return
