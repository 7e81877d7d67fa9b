"""Transformer anatomy: parameters per component and forward FLOPs per token, from a config.

A dense block is attention (4 d² weights for full multi-head attention) followed by a
feed-forward network about four times wider (8 d² for two matrices, or 3 · d · ffn for SwiGLU):
the FFN is about 2/3 of the block, and every parameter works on every token. A sparse
mixture-of-experts block keeps several FFNs and routes each token to top-k of them, so only
those experts' parameters are *active* per token.

Forward FLOPs per token, two ways. Both count a multiply-add as 2 FLOPs and leave out biases,
norms and the FFN's nonlinearity; n_ctx is the sequence length, d_attn = heads · head_dim.

- Kaplan et al., "Scaling Laws for Neural Language Models" (2020), Table 1:
  C_forward = 2N + 2 · n_layer · n_ctx · d_attn. N counts the non-embedding weight matrices
  only, 2 · d_model · n_layer · (2 d_attn + d_ff) for their shape (85 M of GPT-2 small's 124 M);
  the table's embedding (4 d_model) and unembedding (2 d_model n_vocab) rows are outside this
  total.
- Hoffmann et al., "Training Compute-Optimal Large Language Models" (2022), Appendix F, counts
  each operation of a sequence of n_ctx tokens; divided by n_ctx: the embedding as a one-hot
  product, 2 · n_vocab · d_model; per layer the q, k, v projections 2 · 3 · d_model · d_attn,
  the scores q·k 2 · n_ctx · d_attn, the softmax 3 · heads · n_ctx, the weighted sum of values
  2 · n_ctx · d_attn, the output projection 2 · d_attn · d_model and the FFN
  2 · 2 · d_model · d_ff; then the logits 2 · d_model · n_vocab. The per-component FLOPs
  follow this one, as printed (nanoGPT's scaling_laws notebook reports that the authors' own
  tables drop the embedding and logits terms). Its q·k and values, 4 · n_ctx · d_attn, are
  twice Kaplan's context term.

Both papers' models have full multi-head attention and a two-matrix FFN. Beyond them we count
what the matrices are: grouped-query k and v projections are d_model · kv_heads · head_dim, a
SwiGLU FFN has three matrices, an MoE token runs only its active experts plus the router
(2 · d_model · experts); BERT's pooler runs once per sequence, on [CLS], and is in neither count.

Presets follow the published configs: openai-community/gpt2, meta-llama/Llama-2-7b-hf,
mistralai/Mixtral-8x7B-v0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Architecture:
    name: str
    vocab: int  # tokens in the vocabulary
    d_model: int  # width of the residual stream
    layers: int  # transformer blocks
    heads: int  # query heads per layer
    kv_heads: int  # key/value heads (fewer than heads: grouped-query attention)
    head_dim: int  # width of one head
    ffn: int  # hidden width of the feed-forward network (of one expert)
    gated: bool  # SwiGLU: three matrices (gate, up, down) instead of two
    experts: int = 1  # FFNs per block; more than one is a mixture of experts
    active_experts: int = 1  # experts each token is routed to
    norm_params: int = 1  # per feature: RMSNorm has 1 (scale), LayerNorm 2 (scale, shift)
    bias: bool = False  # linear layers carry biases (GPT-2, BERT)
    positions: int = 0  # learned absolute position embeddings; 0 with RoPE
    token_types: int = 0  # BERT's segment embeddings
    embedding_norm: bool = False  # BERT normalizes the summed embeddings
    tied: bool = True  # the unembedding reuses the token embedding matrix
    pooler: bool = False  # BERT's dense layer on [CLS]
    lm_head: bool = True  # predicts next tokens; an encoder such as BERT has none
    context: int = 1024  # default context length for the FLOPs


# fmt: off
PRESETS: dict[str, Architecture] = {
    "GPT-2 small": Architecture(
        "GPT-2 small", vocab=50_257, d_model=768, layers=12, heads=12, kv_heads=12,
        head_dim=64, ffn=3072, gated=False, norm_params=2, bias=True, positions=1024,
        context=1024,
    ),
    "Llama-2-7B": Architecture(
        "Llama-2-7B", vocab=32_000, d_model=4096, layers=32, heads=32, kv_heads=32,
        head_dim=128, ffn=11_008, gated=True, tied=False, context=4096,
    ),
    "Mixtral-8x7B": Architecture(
        "Mixtral-8x7B", vocab=32_000, d_model=4096, layers=32, heads=32, kv_heads=8,
        head_dim=128, ffn=14_336, gated=True, experts=8, active_experts=2, tied=False,
        context=4096,
    ),
}
# fmt: on


@dataclass(frozen=True)
class Component:
    name: str
    params: int  # stored
    active: int  # used for one token
    flops: int  # forward FLOPs for one token, as Hoffmann et al. Appendix F counts them


@dataclass(frozen=True)
class Breakdown:
    arch: Architecture
    context: int  # n_ctx, the sequence length the FLOPs are counted at
    components: list[Component]
    block_params: int  # one transformer block: attention + FFN (+ router) + its norms
    block_ffn_params: int  # of which the FFN (all experts)
    non_embedding: int  # Kaplan's N: the weight matrices of the blocks one token uses
    kaplan_flops: int  # Kaplan's C_forward = 2N + 2 · n_layer · n_ctx · d_attn

    @property
    def total(self) -> int:
        return sum(c.params for c in self.components)

    @property
    def active(self) -> int:
        return sum(c.active for c in self.components)

    @property
    def flops(self) -> int:
        """Forward FLOPs per token as Hoffmann et al. (Chinchilla) Appendix F counts them."""
        return sum(c.flops for c in self.components)


def from_config(config: Any, name: str = "") -> Architecture:
    """The Architecture of a transformers config: BERT, GPT-2, Llama or Mixtral shaped."""
    kind = config.model_type
    if kind == "bert":
        d, heads = config.hidden_size, config.num_attention_heads
        return Architecture(
            name or "BERT",
            config.vocab_size,
            d,
            config.num_hidden_layers,
            heads,
            heads,
            d // heads,
            config.intermediate_size,
            gated=False,
            norm_params=2,
            bias=True,
            positions=config.max_position_embeddings,
            token_types=config.type_vocab_size,
            embedding_norm=True,
            pooler=True,
            lm_head=False,
            context=config.max_position_embeddings,
        )
    if kind == "gpt2":
        d, heads = config.n_embd, config.n_head
        return Architecture(
            name or "GPT-2",
            config.vocab_size,
            d,
            config.n_layer,
            heads,
            heads,
            d // heads,
            config.n_inner or 4 * d,
            gated=False,
            norm_params=2,
            bias=True,
            positions=config.n_positions,
            tied=config.tie_word_embeddings,
            context=config.n_positions,
        )
    if kind in ("llama", "mistral", "mixtral", "qwen2"):
        d, heads = config.hidden_size, config.num_attention_heads
        return Architecture(
            name or kind,
            config.vocab_size,
            d,
            config.num_hidden_layers,
            heads,
            config.num_key_value_heads,
            getattr(config, "head_dim", None) or d // heads,
            config.intermediate_size,
            gated=True,
            experts=getattr(config, "num_local_experts", 1),
            active_experts=getattr(config, "num_experts_per_tok", 1),
            bias=getattr(config, "attention_bias", False),
            tied=config.tie_word_embeddings,
            context=config.max_position_embeddings,
        )
    raise ValueError(f"no anatomy for model type {kind!r}")


def breakdown(arch: Architecture, context: int | None = None) -> Breakdown:
    """Parameters per component, and the forward FLOPs per token of a sequence of ``context``
    tokens, counted both ways (see the module docstring)."""
    context = arch.context if context is None else context
    a, d, n = arch, arch.d_model, arch.layers
    d_q, d_kv = a.heads * a.head_dim, a.kv_heads * a.head_dim  # d_q is the papers' d_attn
    bias = int(a.bias)

    embed = a.vocab * d + a.positions * d + a.token_types * d
    embed += a.norm_params * d if a.embedding_norm else 0

    attn_w = d * d_q + 2 * d * d_kv + d_q * d  # q, k, v, o projections
    attn = attn_w + bias * (d_q + 2 * d_kv + d)
    expert_w = (3 if a.gated else 2) * d * a.ffn
    expert = expert_w + bias * (a.ffn + d)
    router = d * a.experts if a.experts > 1 else 0
    block_norms = 2 * a.norm_params * d  # before (or after) attention and FFN
    final_norm = 0 if a.embedding_norm else a.norm_params * d  # BERT is post-norm: none at end
    unembed = a.vocab * d if a.lm_head and not a.tied else 0
    pooler = d * d + d if a.pooler else 0

    # Chinchilla, per layer: q·k and the weighted sum of v over all n_ctx keys, and the softmax
    mixing = 2 * 2 * context * d_q + 3 * a.heads * context
    logits = 2 * d * a.vocab if a.lm_head else 0  # even when it reuses the embedding matrix
    components = [
        Component("embeddings", embed, embed, 2 * a.vocab * d),  # the one-hot product
        Component("attention", n * attn, n * attn, n * (2 * attn_w + mixing)),
        Component(
            "FFN",
            n * a.experts * expert,
            n * a.active_experts * expert,
            n * a.active_experts * 2 * expert_w,
        ),
        Component("router", n * router, n * router, n * 2 * router),
        Component("norms", n * block_norms + final_norm, n * block_norms + final_norm, 0),
        Component("unembedding", unembed, unembed, logits),
        Component("pooler", pooler, pooler, 0),  # once per sequence, not per token
    ]
    non_embedding = n * (attn_w + a.active_experts * expert_w + router)
    return Breakdown(
        a,
        context,
        [c for c in components if c.params or c.flops],
        attn + a.experts * expert + router + block_norms,
        a.experts * expert,
        non_embedding,
        2 * non_embedding + 2 * n * context * d_q,
    )
