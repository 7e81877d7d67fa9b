"""Scaled dot-product attention, multi-head, causal or bidirectional, from scratch in torch.

Every token asks "which other tokens matter to me?": its query is compared with every key by
a dot product, the scores are scaled and softmaxed into weights, and the weights average the
values. A transformer layer runs H such heads side by side on slices of the hidden vector.

References:
- Vaswani et al., "Attention Is All You Need" (2017), eq. 1: softmax(Q Kᵀ / √d) V, and §3.2.2
  multi-head attention.
- Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding" (2021), eq. 34:
  rotary positions, in the half-split layout that transformers' Llama uses.
- Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models" (2023): grouped
  key/value heads, each shared by several query heads.
- Dao et al., "FlashAttention" (2022), §3.1: the tiling behind `attention_fast`.

`attention` is the readable version and returns the weights; `attention_fast` computes the same
output tile by tile without keeping the T × T weights, so it stays in cache and skips the keys a
causal query cannot see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

TILE_ELEMENTS = 2**17  # scores per thread in one tile: 512 KiB of float32, half a core's L2
CAUSAL_BLOCK = 64  # query rows per causal tile: small, so little of a tile is masked away


@dataclass(frozen=True)
class AttentionResult:
    output: Tensor  # (B, H, Tq, D): each query's weighted sum of values
    weights: Tensor  # (B, H, Tq, Tk): softmax over keys, every row sums to 1
    scores: Tensor  # (B, H, Tq, Tk): q · k / √d before the mask and the softmax


def causal_mask(tq: int, tk: int, device: torch.device | str = "cpu") -> Tensor:
    """(Tq, Tk) bool, True where query i may see key j: j ≤ i (top-left aligned, as SDPA)."""
    return torch.ones(tq, tk, dtype=torch.bool, device=device).tril()


def attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    causal: bool = False,
    mask: Tensor | None = None,
    scale: float | None = None,
) -> AttentionResult:
    """softmax(q kᵀ · scale + mask) v for q (B, H, Tq, D), k and v (B, H, Tk, D).

    ``mask`` is bool, True where attending is allowed, broadcastable to (B, H, Tq, Tk); with
    ``causal`` the two are combined. ``scale`` defaults to 1 / √D. A row whose every key is
    masked has no distribution to speak of: its weights come out as NaN.
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    # 1. Similarity of every query with every key: a dot product per pair (eq. 1, Q Kᵀ).
    scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, Tq, Tk)
    # 2. Scaling by 1/√d keeps the scores' spread near 1 whatever d is, so softmax stays soft.
    allowed = mask
    if causal:
        tri = causal_mask(q.shape[-2], k.shape[-2], q.device)
        allowed = tri if allowed is None else allowed & tri
    # 3. A disallowed key gets −inf: e^−inf = 0, so it receives no weight at all.
    masked = scores if allowed is None else scores.masked_fill(~allowed, -math.inf)
    # 4. Softmax over the keys, stably (subtract the row's max before exp).
    shifted = masked - masked.amax(-1, keepdim=True)
    exps = shifted.exp()
    weights = exps / exps.sum(-1, keepdim=True)  # (B, H, Tq, Tk)
    # 5. Each query's output is the weight-averaged value vectors.
    return AttentionResult(weights @ v, weights, scores)  # (B, H, Tq, D)


def attention_fast(
    q: Tensor, k: Tensor, v: Tensor, causal: bool = False, scale: float | None = None
) -> Tensor:
    """The output of `attention`, tile by tile: a few heads × a block of query rows × the keys
    those rows may see. A tile's scores stay in cache and the T × T weights never exist.

    FlashAttention also splits the keys into blocks, merging their softmaxes with a running max
    and sum (the online softmax), because a GPU's on-chip memory holds only a small tile. A CPU
    core's cache holds a query block's scores against every key it sees, so here each tile's
    softmax is done in one go: the same result with fewer, larger matmuls.

    Causal: query rows [i, i + n) see keys [0, i + n). The keys right of that are hidden from
    every row of the block, so they are never computed (about half of all scores); the keys
    left of column i are visible to every row, so only the n × n diagonal block is masked.
    """
    b, h, tq, d = q.shape
    tk = k.shape[-2]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    qf = q.reshape(b * h, tq, d)  # (B·H, Tq, D): heads are just a batch here
    kt = k.reshape(b * h, tk, d).transpose(1, 2)  # (B·H, D, Tk)
    vf = v.reshape(b * h, tk, d)  # (B·H, Tk, D)
    out = torch.empty_like(qf)  # (B·H, Tq, D)
    tile = TILE_ELEMENTS * torch.get_num_threads()  # the threads share out a tile's heads and rows
    rows = max(1, min(tq, CAUSAL_BLOCK if causal else tile // tk))
    heads = max(1, tile // (rows * tk))
    # the diagonal block's mask as a bias: 0 where the key is visible, −inf where it comes after
    # the query (adding it is several times faster than masked_fill_ with a bool mask)
    hide = torch.full((rows, rows), -math.inf, dtype=q.dtype, device=q.device).triu(1)
    for g in range(0, b * h, heads):
        hs = slice(g, g + heads)
        qs = qf[hs] * scale  # (heads, Tq, D): cheaper than scaling the scores (heads, Tq, Tk)
        for i in range(0, tq, rows):
            n = min(rows, tq - i)
            end = min(tk, i + n) if causal else tk  # keys right of the diagonal block: skipped
            s = torch.bmm(qs[:, i : i + n], kt[hs, :, :end])  # (heads, n, end)
            if causal and end > i:
                s[:, :, i:end].add_(hide[:n, : end - i])  # the diagonal block only
            torch.bmm(s.softmax(-1), vf[hs, :end], out=out[hs, i : i + n])
    return out.view(b, h, tq, d)


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(B, T, H·D) -> (B, H, T, D): each head works on its own slice of the hidden vector."""
    b, t, hd = x.shape
    return x.view(b, t, heads, hd // heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """(B, H, T, D) -> (B, T, H·D), the heads' outputs side by side again."""
    b, h, t, d = x.shape
    return x.transpose(1, 2).reshape(b, t, h * d)


def multi_head_attention(
    x: Tensor,
    w_qkv: Tensor,
    b_qkv: Tensor | None,
    w_out: Tensor,
    b_out: Tensor | None,
    heads: int,
    causal: bool = False,
    mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Self-attention of x (B, T, E) with packed projections w_qkv (3E, E), w_out (E, E) (the
    layout of torch.nn.MultiheadAttention): (output (B, T, E), weights (B, H, T, T))."""
    qkv = x @ w_qkv.T + (0 if b_qkv is None else b_qkv)  # (B, T, 3E)
    q, k, v = (split_heads(part, heads) for part in qkv.chunk(3, dim=-1))  # (B, H, T, D) each
    result = attention(q, k, v, causal=causal, mask=mask)
    out = merge_heads(result.output) @ w_out.T + (0 if b_out is None else b_out)  # (B, T, E)
    return out, result.weights


def rope_angles(positions: Tensor, dim: int, base: float = 10_000.0) -> tuple[Tensor, Tensor]:
    """cos and sin (T, dim) of RoPE's rotation angles p · base^(−2i/dim), i < dim / 2, each
    angle repeated for both halves of the vector (RoFormer eq. 34, half-split layout)."""
    inv_freq = base ** (-torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # (dim/2,)
    angles = positions.float()[:, None] * inv_freq[None, :]  # (T, dim/2)
    angles = torch.cat([angles, angles], dim=-1)  # (T, dim)
    return angles.cos(), angles.sin()


def rope_relative_scores(
    q: Tensor, k: Tensor, offsets: list[int], start: int, base: float, scale: float
) -> Tensor:
    """(len(offsets),): q · k · scale with the key rotated to position ``start`` and the query
    to ``start + offset``. The same for every start: RoPE scores see only the offset."""
    d = q.shape[-1]
    cos_k, sin_k = (x.to(q.device) for x in rope_angles(torch.tensor([start]), d, base))
    positions = torch.tensor([start + o for o in offsets])
    cos_q, sin_q = (x.to(q.device) for x in rope_angles(positions, d, base))
    key = apply_rope(k[None].float(), cos_k, sin_k)[0]  # (D,)
    queries = apply_rope(q[None].float().expand(len(offsets), d), cos_q, sin_q)  # (N, D)
    return (queries @ key) * scale


def rotate_half(x: Tensor) -> Tensor:
    """(x₁, x₂) -> (−x₂, x₁) on the two halves of the last dimension: a 90° turn per pair."""
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each pair (x_i, x_{i+D/2}) of x (..., T, D) by its position's angle. Then
    q_m · k_n depends on m − n only: rotations by m and n leave the angle between them."""
    return x * cos + rotate_half(x) * sin


def repeat_kv(x: Tensor, groups: int) -> Tensor:
    """(B, Hkv, T, D) -> (B, Hkv·groups, T, D): key/value head j serves query heads
    j·groups … j·groups + groups − 1 (grouped-query attention)."""
    if groups == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, groups, t, d).reshape(b, h * groups, t, d)


@dataclass(frozen=True)
class HeadSteps:
    """One query token's attention in one head, every intermediate value kept."""

    query: Tensor  # (D,) q_i
    keys: Tensor  # (Tk, D) k_j
    values: Tensor  # (Tk, D) v_j
    dots: Tensor  # (Tk,) q_i · k_j
    scale: float  # 1 / √d
    scaled: Tensor  # (Tk,) q_i · k_j / √d
    allowed: Tensor  # (Tk,) bool: False where the causal mask hides key j
    masked: Tensor  # (Tk,) scaled, with −inf where hidden
    weights: Tensor  # (Tk,) softmax of masked, sums to 1
    output: Tensor  # (D,) Σ_j weights_j v_j


def head_steps(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    query_index: int,
    causal: bool = False,
    scale: float | None = None,
) -> HeadSteps:
    """Attention of query ``query_index`` over keys k (Tk, D) and values v (Tk, D), by steps."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    query = q[query_index]
    dots = k @ query  # (Tk,)
    scaled = dots * scale
    allowed = torch.ones_like(scaled, dtype=torch.bool)
    if causal:
        allowed = torch.arange(k.shape[0], device=k.device) <= query_index
    masked = scaled.masked_fill(~allowed, -math.inf)
    exps = (masked - masked.max()).exp()
    weights = exps / exps.sum()
    return HeadSteps(query, k, v, dots, scale, scaled, allowed, masked, weights, weights @ v)
