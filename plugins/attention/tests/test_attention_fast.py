"""The tiled fast path against SDPA where tiling can go wrong: lengths that are odd or not a
multiple of the tile, queries and keys of different lengths, and a last group of heads that is
only partly filled."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from plugins.attention import attention as att


def randn(seed: int, *shape: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


BLOCK = att.CAUSAL_BLOCK
LENGTHS = [1, 7, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 3, 333]


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("causal", [False, True])
def test_tiles_match_sdpa_at_odd_lengths(length, causal):
    q, k, v = (randn(length + i, 2, 3, length, 16) for i in range(3))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(att.attention_fast(q, k, v, causal=causal), ref)


@pytest.mark.parametrize("tq,tk", [(70, 130), (130, 70), (1, 65), (65, 1)])
@pytest.mark.parametrize("causal", [False, True])
def test_tiles_match_sdpa_when_queries_and_keys_differ_in_length(tq, tk, causal):
    """SDPA's causal mask is top-left aligned (key j ≤ query i) whatever the two lengths are."""
    q = randn(0, 1, 2, tq, 8)
    k, v = randn(1, 1, 2, tk, 8), randn(2, 1, 2, tk, 8)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal, scale=0.7)
    torch.testing.assert_close(att.attention_fast(q, k, v, causal=causal, scale=0.7), ref)


@pytest.mark.parametrize("causal", [False, True])
def test_small_tiles_split_heads_and_rows_unevenly(monkeypatch, causal):
    """Tiles a few rows tall: 100 rows in blocks of 64 and 36 (bidirectional) or 3 × 32 and 4
    (causal), and causal's 5 heads in groups of 2, 2 and 1."""
    monkeypatch.setattr(att, "TILE_ELEMENTS", 32 * 100 * 2 // torch.get_num_threads())
    monkeypatch.setattr(att, "CAUSAL_BLOCK", 32)
    q, k, v = (randn(10 + i, 1, 5, 100, 8) for i in range(3))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(att.attention_fast(q, k, v, causal=causal), ref)


def test_causal_tiles_never_read_the_keys_right_of_the_diagonal_block():
    """A NaN in the last key and value reaches a query only if its tile computed that key:
    every query block before the last one must come out finite and exact."""
    length = 3 * BLOCK + 5
    q, k, v = (randn(20 + i, 1, 2, length, 8) for i in range(3))
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    k[..., -1, :] = math.nan
    v[..., -1, :] = math.nan
    out = att.attention_fast(q, k, v, causal=True)
    last_block = (length - 1) // BLOCK * BLOCK
    torch.testing.assert_close(out[..., :last_block, :], ref[..., :last_block, :])
    assert out[..., -1, :].isnan().all()  # the last query does see the last key
