"""The plan on screen as numbers, and a script that recomputes them with transformers and peft.

The tab computes its plan from the model's shapes (accounting.py); the exported script counts
instead: it loads the same weights with transformers, wraps them with peft's `get_peft_model`
under the run's `LoraConfig`, sums the parameters that require a gradient, and measures the
bytes that one AdamW step really holds (bitsandbytes' NF4 for QLoRA's base, where installed).
No gradio here: views.export hands these over as an Export.
"""

from __future__ import annotations

from typing import Any

from plugins.lora import accounting

MIB = 2**20
METHODS = {"full fine-tune": "full", "LoRA": "lora", "QLoRA (NF4 base)": "qlora"}
PARTS = ("weights", "gradients", "adamw", "total")

SNIPPET = '''"""The LoRA tab's plan, recounted with transformers and peft (ML Playground export)."""
import json

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

MIB = 2**20
model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32)


def nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


def held(model):
    """Bytes of (weights, gradients, AdamW state) after one training step."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=0.0)  # lr 0: AdamW builds its state, the weights stay
    ids = torch.arange(16)[None]
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    moments = [v for s in opt.state.values() for v in s.values() if v.dim()]  # not `step`
    return nbytes(model.parameters()), nbytes(p.grad for p in params), nbytes(moments)


def nf4_bytes(weight):
    """A weight stored as QLoRA stores it: 4-bit NF4 codes plus a float32 scale per 64."""
    try:
        import bitsandbytes.functional as bnbf
    except ImportError:  # without bitsandbytes, the same count: 4 + 32 / 64 bits a weight
        return weight.numel() * (4 + 32 / 64) // 8
    codes, state = bnbf.quantize_4bit(weight.detach(), blocksize=64, quant_type="nf4",
                                      compress_statistics=False)
    return nbytes([codes, state.absmax])


total = sum(p.numel() for p in model.parameters())
full = held(model)
# QLoRA quantizes the decoder's linear layers; embeddings, norms and the (tied) head stay float32
linears = [m.weight for n, m in model.named_modules()
           if isinstance(m, torch.nn.Linear) and not n.endswith("lm_head")]
frozen_qlora = full[0] - nbytes(linears) + sum(nf4_bytes(w) for w in linears)

# The run's adapter: the same LoraConfig as the tab's training, A drawn from the run's seed.
config = LoraConfig(r={rank}, lora_alpha={alpha!r}, lora_dropout={dropout!r},
                    target_modules={targets!r}, task_type="CAUSAL_LM")
torch.manual_seed({seed})
peft_model = get_peft_model(model, config)
trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
lora = held(peft_model)
adapter = trainable * 4  # float32 A and B
qlora = (frozen_qlora + adapter, lora[1], lora[2])

numbers = {{"model": {model_id!r}, "rank": {rank}, "alpha": {alpha!r}, "dropout": {dropout!r},
           "targets": {targets!r}, "trainable_parameters": trainable,
           "total_parameters": total, "trainable_percent": 100 * trainable / total}}
for method, (weights, grads, state) in [("full", full), ("lora", lora), ("qlora", qlora)]:
    numbers.update({{f"{{method}}_weights_mib": weights / MIB,
                    f"{{method}}_gradients_mib": grads / MIB, f"{{method}}_adamw_mib": state / MIB,
                    f"{{method}}_total_mib": (weights + grads + state) / MIB}})
print(json.dumps(numbers))
# Train it: `playground lora-train ...` (the tab's command), or peft_model in your own loop.
'''


def numbers(cfg: Any, model: Any) -> dict[str, Any]:
    """The plan's numbers for ``cfg`` (a train.TrainConfig) on ``model``, as the tab shows them."""
    rows = accounting.budgets(model, list(cfg.targets), cfg.rank)
    full, plain = rows[0], rows[1]
    out = {
        "model": cfg.model_id,
        "rank": cfg.rank,
        "alpha": cfg.alpha,
        "dropout": cfg.dropout,
        "targets": list(cfg.targets),
        "trainable_parameters": plain.trainable,
        "total_parameters": full.trainable,
        "trainable_percent": 100 * plain.trainable / full.trainable,
    }
    for budget in rows:
        key = METHODS[budget.method]
        values = (budget.weights, budget.gradients, budget.optimizer, budget.total)
        out.update({f"{key}_{part}_mib": v / MIB for part, v in zip(PARTS, values, strict=True)})
    return out


def snippet(cfg: Any, model: Any) -> str:
    return SNIPPET.format(
        path=str(model.config._name_or_path),
        model_id=cfg.model_id,
        rank=cfg.rank,
        alpha=cfg.alpha,
        dropout=cfg.dropout,
        targets=list(cfg.targets),
        seed=cfg.seed,
    )


def tables(numbers: dict[str, Any], run: Any = None) -> dict[str, tuple[list[str], list[list]]]:
    """The memory table as CSV, and a finished run's loss per step (what it already holds)."""
    memory = [
        [method, *(numbers[f"{key}_{part}_mib"] for part in PARTS)]
        for method, key in METHODS.items()
    ]
    out = {"memory-mib": (["method", *PARTS], memory)}
    if run is not None and run.losses:
        out["run-loss"] = (["step", "loss"], [[i + 1, x] for i, x in enumerate(run.losses)])
    return out
