"""A Llama-family decoder's forward pass written out, on a transformers model's own weights.

One step of generation, layer by layer (Touvron et al. 2023, "LLaMA"):

    h = embed(tokens)
    for each block:
        a = RMSNorm(h);  q, k, v = a·Wq, a·Wk, a·Wv      queries, keys, values per head
        q, k = RoPE(q, pos), RoPE(k, pos)                  position as a rotation (Su et al. 2021)
        append k, v to this layer's cache                  the KV cache: earlier tokens' k and v
        h = h + softmax(q·Kᵀ / √d + causal mask)·V · Wo    every token attends to those before it
        m = RMSNorm(h);  h = h + (silu(m·Wgate) ⊙ m·Wup)·Wdown    the SwiGLU feed-forward
    logits = RMSNorm(h)·Wvocab

Nothing here is copied from the model: it reads the weights and computes the same logits
(tests check it against the transformers forward). It exists because it is short enough to
read in one sitting, and because a plain loop over a few tensors per layer, with a cache that
is just two tensors per layer, skips the per-call bookkeeping a general library forward does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


def supports(model) -> bool:
    """True for Llama-architecture causal LMs with plain RoPE (tiny-llama, SmolLM2, ...)."""
    config = model.config
    rope = getattr(config, "rope_parameters", None) or {}
    return config.model_type == "llama" and rope.get("rope_type", "default") == "default"


@dataclass
class KVCache:
    """Per layer, the keys and values of every token read so far: (B, H_kv, capacity, D)."""

    keys: list[Tensor]
    values: list[Tensor]
    length: int = 0  # tokens stored; the tail of each tensor is spare room

    def append(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Store this step's k, v for ``layer``; return all of them so far."""
        end = self.length + k.shape[2]
        if end > self.keys[layer].shape[2]:  # out of room: double it, so growth stays cheap
            grow = max(end, 2 * self.keys[layer].shape[2]) - self.keys[layer].shape[2]
            pad = (0, 0, 0, grow)
            self.keys[layer] = F.pad(self.keys[layer], pad)
            self.values[layer] = F.pad(self.values[layer], pad)
        self.keys[layer][:, :, self.length : end] = k
        self.values[layer][:, :, self.length : end] = v
        return self.keys[layer][:, :, :end], self.values[layer][:, :, :end]

    def reorder(self, index: Tensor) -> None:
        """Beam search: row b of the batch continues from row ``index[b]``."""
        self.keys = [k.index_select(0, index) for k in self.keys]
        self.values = [v.index_select(0, index) for v in self.values]


@dataclass(frozen=True)
class Block:
    """One transformer block's weights: references to the model's own tensors."""

    attn_norm: Tensor
    wq: Tensor
    wk: Tensor
    wv: Tensor
    wo: Tensor
    ffn_norm: Tensor
    w_gate: Tensor
    w_up: Tensor
    w_down: Tensor
    biases: tuple[Tensor | None, ...]  # q, k, v, o, gate, up, down (None when the config has none)


def _block(layer) -> Block:
    attn, mlp = layer.self_attn, layer.mlp
    linears = (
        attn.q_proj,
        attn.k_proj,
        attn.v_proj,
        attn.o_proj,
        mlp.gate_proj,
        mlp.up_proj,
        mlp.down_proj,
    )
    return Block(
        attn_norm=layer.input_layernorm.weight,
        wq=attn.q_proj.weight,
        wk=attn.k_proj.weight,
        wv=attn.v_proj.weight,
        wo=attn.o_proj.weight,
        ffn_norm=layer.post_attention_layernorm.weight,
        w_gate=mlp.gate_proj.weight,
        w_up=mlp.up_proj.weight,
        w_down=mlp.down_proj.weight,
        biases=tuple(m.bias for m in linears),
    )


class Llama:
    """Forward passes over a transformers LlamaForCausalLM's weights (read, never copied)."""

    def __init__(self, model) -> None:
        config = model.config
        self.dtype, self.device = model.dtype, model.device
        self.embed = model.model.embed_tokens.weight
        self.blocks = [_block(layer) for layer in model.model.layers]
        self.final_norm = model.model.norm.weight
        self.unembed = model.lm_head.weight  # tied to `embed` in tiny-llama
        self.heads = config.num_attention_heads
        self.kv_heads = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.heads
        self.eps = config.rms_norm_eps
        theta = config.rope_parameters["rope_theta"]
        steps = torch.arange(0, self.head_dim, 2, dtype=torch.float, device=self.device)
        self.inv_freq = 1.0 / theta ** (steps / self.head_dim)  # one frequency per pair of dims

    def new_cache(self, batch: int, capacity: int = 64) -> KVCache:
        shape = (batch, self.kv_heads, capacity, self.head_dim)
        zeros = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in range(2)]
        return KVCache(
            [zeros[0].clone() for _ in self.blocks], [zeros[1].clone() for _ in self.blocks]
        )

    def rms_norm(self, x: Tensor, weight: Tensor) -> Tensor:
        """x / √(mean(x²) + ε) · weight: rescale each vector to unit RMS, then per-dim gain."""
        x32 = x.float()
        normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * normed.to(x.dtype)

    def rotation(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        """cos and sin of position · frequency_i, (T, D), computed once per forward."""
        angles = positions[:, None].float() * self.inv_freq  # (T, D/2)
        angles = torch.cat([angles, angles], -1)  # dims i and i + D/2 turn together
        return angles.cos().to(self.dtype), angles.sin().to(self.dtype)

    @staticmethod
    def rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """Rotate each pair of dimensions (i, i + D/2) by its angle: RoPE."""
        half = x.shape[-1] // 2
        return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin

    def attention(self, w: Block, x: Tensor, cache: KVCache, layer: int, positions, turn):
        b, t, _ = x.shape
        bq, bk, bv, bo = w.biases[:4]
        q = F.linear(x, w.wq, bq).view(b, t, -1, self.head_dim).transpose(1, 2)  # (B, H, T, D)
        k = F.linear(x, w.wk, bk).view(b, t, -1, self.head_dim).transpose(1, 2)
        v = F.linear(x, w.wv, bv).view(b, t, -1, self.head_dim).transpose(1, 2)
        q, k = self.rope(q, *turn), self.rope(k, *turn)
        keys, values = cache.append(layer, k, v)  # (B, H_kv, S, D), S = tokens so far
        group = self.heads // self.kv_heads  # grouped-query attention: heads share k and v
        if group > 1:
            keys, values = keys.repeat_interleave(group, 1), values.repeat_interleave(group, 1)
        scores = q @ keys.transpose(-1, -2) / self.head_dim**0.5  # (B, H, T, S)
        if t > 1:  # reading several tokens at once: each may only see itself and earlier ones
            seen = torch.arange(keys.shape[2], device=x.device)
            scores = scores.masked_fill(seen[None, :] > positions[:, None], -torch.inf)
        mixed = scores.softmax(-1).to(values.dtype) @ values  # (B, H, T, D)
        return F.linear(mixed.transpose(1, 2).reshape(b, t, -1), w.wo, bo)

    @staticmethod
    def feed_forward(w: Block, x: Tensor) -> Tensor:
        """SwiGLU: a gated, 2.7x wider hidden layer (Shazeer 2020, "GLU Variants")."""
        b_gate, b_up, b_down = w.biases[4:]
        hidden = F.silu(F.linear(x, w.w_gate, b_gate)) * F.linear(x, w.w_up, b_up)
        return F.linear(hidden, w.w_down, b_down)

    def start(self, ids: Tensor) -> tuple[Tensor, KVCache]:
        """Read a prompt (B, T) into a fresh cache; the next-token logits (B, V) and the cache."""
        cache = self.new_cache(ids.shape[0], max(64, 2 * ids.shape[1]))
        return self.extend(ids, cache), cache

    @staticmethod
    def reorder(cache: KVCache, index: Tensor) -> None:
        cache.reorder(index)

    @torch.no_grad()
    def extend(self, ids: Tensor, cache: KVCache) -> Tensor:
        """Read ``ids`` (B, T) after the cached tokens; (B, V) logits for the next token."""
        positions = torch.arange(cache.length, cache.length + ids.shape[1], device=ids.device)
        turn = self.rotation(positions)
        h = F.embedding(ids, self.embed)
        for layer, w in enumerate(self.blocks):
            h = h + self.attention(w, self.rms_norm(h, w.attn_norm), cache, layer, positions, turn)
            h = h + self.feed_forward(w, self.rms_norm(h, w.ffn_norm))
        cache.length += ids.shape[1]
        return F.linear(self.rms_norm(h[:, -1], self.final_norm), self.unembed).float()
