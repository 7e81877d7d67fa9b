"""Our LoRA layer against peft on the bundled model: a training step (forward and backward),
the memory it holds, a full fine-tune beside both, and merged against unmerged inference."""

from __future__ import annotations

import copy

import torch

from playground.bench import BenchCase, Measure
from playground.concept import Context
from plugins.lora import accounting, lora

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
RANK, ALPHA = 8, 16.0
BATCH, TOKENS = 8, 64


def _models(base):
    from peft import LoraConfig, get_peft_model

    ours = copy.deepcopy(base)
    lora.inject(ours, TARGETS, RANK, ALPHA, generator=torch.Generator().manual_seed(0))
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.0)
    theirs = get_peft_model(copy.deepcopy(base), config)
    full = copy.deepcopy(base)
    for p in full.parameters():
        p.requires_grad_(True)
    return ours.train(), theirs.train(), full.train()


def _peft_merged(base, adapted):
    """peft's merge_and_unload of the same adapter: a plain model that ours must equal."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    config = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.0)
    twin = get_peft_model(copy.deepcopy(base), config)
    loaded = set_peft_model_state_dict(twin, lora.adapter_state_dict(adapted))
    assert not [k for k in loaded.unexpected_keys if "lora" in k], loaded.unexpected_keys
    return twin.merge_and_unload().eval()


def _step(model, ids):
    """Forward and backward of the language-model loss (the optimizer's step is not timed)."""
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    for p in model.parameters():
        p.grad = None
    return loss.detach()


def _held_after_step(model, ids) -> float:
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    return accounting.measured(model, opt).total / 2**20


def cases(context: Context) -> list[BenchCase | Measure]:
    device = context.device()
    base = context.models.get("tiny-llama", device).model
    ids = torch.randint(4096, (BATCH, TOKENS), generator=torch.Generator().manual_seed(0))
    ids = ids.to(device)
    ours, theirs, full = _models(base)
    step = f"tiny-llama LoRA r={RANK} all 7 modules, fwd+bwd {BATCH}x{TOKENS}"
    unmerged = copy.deepcopy(ours).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a trained-looking B, so merged and unmerged outputs can differ
        for layer in lora.lora_layers(unmerged).values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=gen) * 0.02)
    merged = lora.merge_and_unload(copy.deepcopy(unmerged)).eval()
    peft_merged = _peft_merged(base, unmerged)
    infer = torch.randint(4096, (1, 128), generator=torch.Generator().manual_seed(1)).to(device)

    def forward(model):
        with torch.no_grad():
            return model(infer).logits

    return [
        BenchCase(
            step,
            lambda: _step(ours, ids),
            "peft LoRA",
            lambda: _step(theirs, ids),
            target="ratio <= 1.1",
        ),
        BenchCase(
            f"{step}: ours vs full fine-tune",
            lambda: _step(ours, ids),
            "full fine-tune (every weight)",
            lambda: _step(full, ids),
        ),
        BenchCase(
            "tiny-llama inference 1x128: merged vs unmerged (ours)",
            lambda: forward(merged),
            "unmerged adapter (ours)",
            lambda: forward(unmerged),
            target="ratio <= 1.0",
        ),
        # A merged model should cost what the base model costs. peft's merge of the same
        # adapter is that plain model too, and unlike the base model it must give our logits,
        # so max_abs_err is an error and not the adapter's effect.
        BenchCase(
            "tiny-llama inference 1x128: merged (ours) vs peft's merged (the base model's cost)",
            lambda: forward(merged),
            "peft merge_and_unload, same adapter",
            lambda: forward(peft_merged),
            target="ratio <= 1.1",
        ),
        Measure(
            "memory held after one AdamW step: ours",
            lambda: _held_after_step(copy.deepcopy(ours), ids),
            "MiB",
        ),
        Measure(
            "memory held after one AdamW step: peft",
            lambda: _held_after_step(copy.deepcopy(theirs), ids),
            "MiB",
        ),
        Measure(
            "memory held after one AdamW step: full fine-tune",
            lambda: _held_after_step(copy.deepcopy(full), ids),
            "MiB",
        ),
    ]
