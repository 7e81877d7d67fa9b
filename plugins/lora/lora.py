"""LoRA from scratch: a frozen linear layer plus a trainable low-rank update, h = W x + s·B A x.

References: Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv
2106.09685), eq. 3: h = W0 x + ΔW x = W0 x + B A x, with A ∈ R^{r×k} random, B ∈ R^{d×r} zero
at the start (so training starts from the pretrained model exactly) and the update scaled by
α / r (section 4.1). peft's `LoraLayer` is the library version; tests check ours against it
on the same base, A and B, and that adapters move between the two in peft's file format
(`adapter_model.safetensors` + `adapter_config.json`). GPT-2's projections are transformers'
`Conv1D`, a linear layer that stores W transposed, (k, d): the update is the same B A x, and
only merging transposes ΔW (peft's `fan_in_fan_out`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn

ADAPTER_FILE = "adapter_model.safetensors"  # peft's names, so peft loads what we save
CONFIG_FILE = "adapter_config.json"
PREFIX = "base_model.model."  # peft prefixes every key with its wrapper's path


class AdapterError(ValueError):
    """An adapter that does not fit the model or is not a LoRA adapter; the message says why."""


def features(module: nn.Module) -> tuple[int, int, bool] | None:
    """(k inputs, d outputs, W stored as (k, d)) for a layer LoRA can wrap, else None.

    nn.Linear (and the NF4 layers, ours and bitsandbytes') keep W as (d, k) with y = x Wᵀ;
    transformers' Conv1D (GPT-2's c_attn, c_proj, c_fc) keeps it as (k, d) with y = x W and
    names its sizes nx, nf. Recognised by those names so this file needs torch only.
    """
    if hasattr(module, "in_features") and hasattr(module, "weight"):
        return module.in_features, module.out_features, False
    if hasattr(module, "nx") and hasattr(module, "nf") and hasattr(module, "weight"):
        return module.nx, module.nf, True
    return None


class LoRALinear(nn.Module):
    """y = base(x) + (α / r) · B A dropout(x), with base frozen and only A, B trainable."""

    def __init__(
        self,
        base: nn.Module,
        rank: int,
        alpha: float,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        shape = features(base)
        if shape is None:
            raise AdapterError(f"LoRA wraps linear layers, not {type(base).__name__}")
        self.base = base  # an nn.Linear, a Conv1D, or a quantized linear with a weight to merge
        self.rank, self.alpha = rank, alpha
        self.scaling = alpha / rank  # α / r: changing r does not change the update's size
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        k, d, self.fan_in_fan_out = shape  # the last: W is stored (k, d), as Conv1D does
        weight = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, k, device=weight.device))  # (r, k)
        self.lora_B = nn.Parameter(torch.zeros(d, rank, device=weight.device))  # (d, r): ΔW = 0
        # nn.Linear's own init (and peft's): uniform in ±1/√k
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5), generator=generator)
        self.merged = False
        for p in self.base.parameters():
            p.requires_grad_(False)

    def delta_weight(self) -> Tensor:
        """ΔW = (α / r) B A, shape (d, k), rank at most r."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def _stored_delta(self) -> Tensor:
        """ΔW laid out like the base's weight: (d, k), or (k, d) for a Conv1D."""
        delta = self.delta_weight()
        return (delta.T if self.fan_in_fan_out else delta).to(self.base.weight.dtype)

    def forward(self, x: Tensor) -> Tensor:
        out = self.base(x)
        if self.merged:  # ΔW already lives in the base weight: no extra work at all
            return out
        # two thin matmuls, (.., k) -> (.., r) -> (.., d): never build the d×k ΔW; the same for
        # a Conv1D base, since A and B act on x whichever way the base stores its W
        return out + (self.dropout(x) @ self.lora_A.T) @ self.lora_B.T * self.scaling

    @torch.no_grad()
    def merge(self) -> None:
        """W ← W + ΔW: inference then costs exactly what the base model costs."""
        if not self.merged:
            self.base.weight += self._stored_delta()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """W ← W − ΔW: back to the frozen base plus a separate adapter."""
        if self.merged:
            self.base.weight -= self._stored_delta()
            self.merged = False


def _matches(name: str, targets: Iterable[str]) -> bool:
    return name.rsplit(".", 1)[-1] in set(targets)  # peft's rule for a list: the last name part


def inject(
    model: nn.Module,
    targets: Iterable[str],
    rank: int,
    alpha: float,
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> dict[str, LoRALinear]:
    """Wrap every linear (or Conv1D) layer whose last name part is in ``targets`` (in place) and
    freeze the rest of the model; returns the LoRA layers by the wrapped module's name."""
    targets = list(targets)
    for p in model.parameters():
        p.requires_grad_(False)
    found = [(n, m) for n, m in model.named_modules() if _matches(n, targets) and features(m)]
    if not found:
        raise AdapterError(f"no linear layer is named like {', '.join(targets)} in this model")
    layers = {}
    for name, module in found:
        parent, _, child = name.rpartition(".")
        layer = LoRALinear(module, rank, alpha, dropout, generator)
        setattr(model.get_submodule(parent) if parent else model, child, layer)
        layers[name] = layer
    return layers


def target_names(model: nn.Module) -> list[str]:
    """The names ``inject`` can target in this model's decoder: last name parts of its linear
    layers, the output head left out (as QLoRA leaves it; GPT-2 ties it to the embedding)."""
    names = {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if n and features(m)}
    return sorted(names - {"lm_head"})


def fan_in_fan_out(model: nn.Module, targets: Iterable[str]) -> bool:
    """Whether the targeted layers store W as (k, d), as GPT-2's Conv1D does (peft's flag)."""
    targets = list(targets)
    shapes = [features(m) for n, m in model.named_modules() if _matches(n, targets)]
    return any(shape[2] for shape in shapes if shape)


def lora_layers(model: nn.Module) -> dict[str, LoRALinear]:
    return {n: m for n, m in model.named_modules() if isinstance(m, LoRALinear)}


def set_merged(model: nn.Module, merged: bool) -> None:
    for layer in lora_layers(model).values():
        layer.merge() if merged else layer.unmerge()


def merge_and_unload(model: nn.Module) -> nn.Module:
    """Merge every adapter and put the plain base layers back: the base model's architecture,
    with W + ΔW as its weights (peft's `merge_and_unload`)."""
    for name, layer in lora_layers(model).items():
        layer.merge()
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, layer.base)
    return model


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# -- peft's file format ------------------------------------------------------------------------


def adapter_state_dict(model: nn.Module) -> dict[str, Tensor]:
    """A and B under peft's key names, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight."""  # noqa: E501
    state = {}
    for name, layer in lora_layers(model).items():
        state[f"{PREFIX}{name}.lora_A.weight"] = layer.lora_A.detach().contiguous()
        state[f"{PREFIX}{name}.lora_B.weight"] = layer.lora_B.detach().contiguous()
    return state


def adapter_config(
    targets: Iterable[str], rank: int, alpha: float, dropout: float, base_model: str
) -> dict:
    """The adapter_config.json peft writes for a plain LoRA on a causal LM (the fields it reads)."""
    return {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "r": rank,
        "lora_alpha": alpha,
        "lora_dropout": dropout,
        "target_modules": sorted(set(targets)),
        "bias": "none",
        "fan_in_fan_out": False,
        "init_lora_weights": True,
        "use_rslora": False,
        "use_dora": False,
        "inference_mode": True,
    }


def save_adapter(model: nn.Module, folder: Path, config: dict) -> Path:
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(adapter_state_dict(model), folder / ADAPTER_FILE, metadata={"format": "pt"})
    # peft merges into a Conv1D transposed only when the file says so; the layers know
    transposed = any(layer.fan_in_fan_out for layer in lora_layers(model).values())
    config = {**config, "fan_in_fan_out": transposed}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2))
    return folder


def read_adapter(folder: Path) -> tuple[dict, dict[str, Tensor]]:
    """(config, tensors) from a folder peft or we saved, checked to be a readable LoRA adapter."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError(f"{CONFIG_FILE} is missing or is not JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("peft_type") != "LORA":
        raise AdapterError(f"{CONFIG_FILE} does not describe a LoRA adapter (peft_type LORA)")
    try:
        tensors = load_file(folder / ADAPTER_FILE)
    except (OSError, SafetensorError) as exc:
        raise AdapterError(f"{ADAPTER_FILE} is missing or not safetensors ({exc})") from None
    return config, tensors


def load_adapter(model: nn.Module, folder: Path) -> dict:
    """Inject LoRA layers as the folder's config says and copy its A and B in; the config."""
    config, tensors = read_adapter(folder)
    attach(model, config, tensors)
    return config


def attach(model: nn.Module, config: dict, tensors: dict[str, Tensor]) -> dict[str, LoRALinear]:
    """Inject LoRA layers as ``config`` says and copy ``tensors`` (peft's keys) into them.

    Every tensor must name a targeted layer of this model with the right shape, and every
    targeted layer must get both matrices; otherwise AdapterError, before the model is touched.
    """
    rank, alpha = config.get("r"), config.get("lora_alpha")
    targets = config.get("target_modules") or []
    if not isinstance(rank, int) or rank < 1 or not isinstance(alpha, int | float):
        raise AdapterError(f"{CONFIG_FILE} needs a whole rank r ≥ 1 and a number lora_alpha")
    if isinstance(targets, str) or config.get("use_dora") or config.get("use_rslora"):
        raise AdapterError("only plain LoRA adapters with a list of target modules are supported")
    expected = {}
    for name, m in model.named_modules():
        shape = features(m) if _matches(name, targets) else None
        if shape:
            k, d, _ = shape
            expected[f"{PREFIX}{name}.lora_A.weight"] = (rank, k)  # the same for a Conv1D
            expected[f"{PREFIX}{name}.lora_B.weight"] = (d, rank)
    got = {key: tuple(t.shape) for key, t in tensors.items()}
    if not expected:
        raise AdapterError(f"none of the target modules {targets} is a layer of this model")
    if got != expected:
        extra = sorted(set(got) - set(expected))[:2]
        missing = sorted(set(expected) - set(got))[:2]
        wrong = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])[:2]
        parts = [
            f"unknown tensors {extra}" if extra else "",
            f"missing tensors {missing}" if missing else "",
            f"wrong shapes for {wrong}" if wrong else "",
        ]
        found = "; ".join(p for p in parts if p)
        raise AdapterError(f"the adapter does not match this model: {found}")
    # A's random start is overwritten below: a generator of its own keeps it off the global
    # one, which a training run in another thread may have just seeded.
    dropout = float(config.get("lora_dropout", 0.0))
    layers = inject(model, targets, rank, alpha, dropout, torch.Generator())
    with torch.no_grad():
        for name, layer in layers.items():
            layer.lora_A.copy_(tensors[f"{PREFIX}{name}.lora_A.weight"])
            layer.lora_B.copy_(tensors[f"{PREFIX}{name}.lora_B.weight"])
    return layers
