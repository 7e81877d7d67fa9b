"""Read a real model's queries, keys and values through forward hooks, then attend with ours.

The hooks sit on the model's own projection modules (BERT's query/key/value, Llama's
q_proj/k_proj/v_proj, GPT-2's fused c_attn), so what we show is what the model computed, not a
re-implementation of its projections that could drift. Llama's rotary cos/sin are read from
the arguments the model hands its attention module; we rotate with `attention.apply_rope` and
repeat grouped key/value heads as the model does, then run `attention.attention`. The tests
check the result against the weights transformers returns with eager attention.

References: Devlin et al., "BERT" (2019); Touvron et al., "Llama 2" (2023); Radford et al.,
"Language Models are Unsupervised Multitask Learners" (GPT-2, 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from plugins.attention import attention as att
from plugins.models.hooks import this_thread


@dataclass(frozen=True)
class Layer:
    """What one attention layer saw, for a single sequence (batch of one)."""

    q: Tensor  # (H, T, D) queries as the model scores them: after RoPE where there is RoPE
    k: Tensor  # (H, T, D) keys, grouped key heads repeated to H
    v: Tensor  # (H, T, D) values, repeated like the keys
    q_raw: Tensor  # (H, T, D) queries straight out of the projection, before RoPE
    k_raw: Tensor  # (H, T, D) keys before RoPE, repeated to H
    cos: Tensor | None  # (T, D) RoPE cos the model used, or None without RoPE
    sin: Tensor | None
    weights: Tensor  # (H, T, T) ours: softmax(q kᵀ · scale, causal mask) over the keys


@dataclass(frozen=True)
class Captured:
    family: str  # "bert", "llama" or "gpt2": which modules the hooks sat on
    ids: list[int]
    causal: bool
    scale: float  # the model's own 1 / √d
    heads: int
    kv_heads: int
    layers: list[Layer]

    @property
    def weights(self) -> Tensor:
        """(L, H, T, T), every layer's weights."""
        return torch.stack([layer.weights for layer in self.layers])


def family(model: Any) -> str:
    """Which kind of attention module the model has, by its modules (not its class name, so
    Llama-shaped models such as SmolLM2 and Mixtral work too)."""
    if hasattr(model, "encoder") and hasattr(model.encoder, "layer"):
        return "bert"
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is not None and len(layers) and hasattr(layers[0].self_attn, "q_proj"):
        return "llama"
    if hasattr(getattr(model, "transformer", None), "h"):
        return "gpt2"
    raise ValueError(f"{type(model).__name__} has no attention layout this tab can read")


def _attention_modules(model: Any, kind: str) -> list[Any]:
    if kind == "bert":
        return [layer.attention.self for layer in model.encoder.layer]
    if kind == "llama":
        return [layer.self_attn for layer in model.model.layers]
    return [block.attn for block in model.transformer.h]


def _shape(model: Any, kind: str, module: Any) -> tuple[int, int, int, float]:
    """(heads, kv_heads, head_dim, scale) as the model's attention module uses them."""
    config = model.config
    if kind == "bert":
        return (
            module.num_attention_heads,
            module.num_attention_heads,
            module.attention_head_size,
            module.scaling,
        )
    if kind == "llama":
        heads = config.num_attention_heads
        return heads, config.num_key_value_heads, module.head_dim, module.scaling
    heads = config.n_head
    d = config.n_embd // heads
    return heads, heads, d, (d**-0.5 if config.scale_attn_weights else 1.0)


class _Recorder:
    """Forward hooks that keep the projections' outputs of the thread that installed them:
    another tab running the same shared model at the same time is not recorded."""

    def __init__(self) -> None:
        self.out: dict[tuple[int, str], Tensor] = {}
        self.kwargs: dict[int, dict[str, Any]] = {}
        self.handles: list[Any] = []

    def output(self, module: Any, layer: int, name: str) -> None:
        def hook(_module, _args, output):
            self.out[(layer, name)] = output.detach()

        self.handles.append(module.register_forward_hook(this_thread(hook)))

    def arguments(self, module: Any, layer: int) -> None:
        def hook(_module, _args, kwargs):
            self.kwargs[layer] = kwargs

        self.handles.append(module.register_forward_pre_hook(this_thread(hook), with_kwargs=True))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def capture(model: Any, input_ids: Tensor) -> Captured:
    """Run ``model`` on input_ids (1, T) with hooks on its projections; attend with ours."""
    kind = family(model)
    modules = _attention_modules(model, kind)
    rec = _Recorder()
    for i, module in enumerate(modules):
        if kind == "bert":
            for name in ("query", "key", "value"):
                rec.output(getattr(module, name), i, name)
        elif kind == "llama":
            for name in ("q_proj", "k_proj", "v_proj"):
                rec.output(getattr(module, name), i, name)
            rec.arguments(module, i)
        else:
            rec.output(module.c_attn, i, "qkv")
    try:
        with torch.inference_mode():
            model(input_ids=input_ids)
    finally:
        rec.remove()

    heads, kv_heads, _, scale = _shape(model, kind, modules[0])
    causal = kind != "bert"
    layers = []
    for i in range(len(modules)):
        if kind == "gpt2":
            q, k, v = rec.out[(i, "qkv")].chunk(3, dim=-1)  # (1, T, E) each
        else:
            names = ("query", "key", "value") if kind == "bert" else ("q_proj", "k_proj", "v_proj")
            q, k, v = (rec.out[(i, name)] for name in names)
        q = att.split_heads(q, heads)  # (1, H, T, D)
        k, v = att.split_heads(k, kv_heads), att.split_heads(v, kv_heads)  # (1, Hkv, T, D)
        q_raw, k_raw = q, k
        cos = sin = None
        if kind == "llama":
            cos, sin = rec.kwargs[i]["position_embeddings"]  # (1, T, D) each
            q, k = (
                att.apply_rope(q, cos[:, None], sin[:, None]),
                att.apply_rope(k, cos[:, None], sin[:, None]),
            )
            cos, sin = cos[0], sin[0]
        groups = heads // kv_heads
        k, v, k_raw = (att.repeat_kv(x, groups) for x in (k, v, k_raw))  # (1, H, T, D)
        weights = att.attention(q, k, v, causal=causal, scale=scale).weights[0]  # (H, T, T)
        layers.append(Layer(q[0], k[0], v[0], q_raw[0], k_raw[0], cos, sin, weights))
    return Captured(kind, input_ids[0].tolist(), causal, scale, heads, kv_heads, layers)
