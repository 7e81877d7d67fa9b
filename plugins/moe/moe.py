"""A sparse mixture-of-experts layer from scratch: router, top-k gates, capacity, load balance.

A dense transformer block has one feed-forward network (FFN) that every token goes through. A
sparse MoE block keeps E of them, the *experts*, and a small linear *router* that scores each
token against each expert; only the k best-scoring experts run for that token. Parameters grow
with E, compute per token only with k.

1. Router logits  s = x W_r^T, one score per (token, expert); optional Gaussian noise on s
   spreads the choices while training (noisy top-k gating, Shazeer et al. 2017, eq. 3-5).
2. p = softmax(s) over *all* experts, keep the top k, renormalise them to sum to 1: these are
   the gates g (Mixtral, Jiang et al. 2024, eq. 1-2; transformers' MixtralTopKRouter).
3. Capacity: each expert takes at most C = ceil(capacity_factor · T · k / E) tokens; first
   choices are served before second choices (GShard, Lepikhin et al. 2020, Algorithm 1), and a
   token beyond an expert's capacity is *dropped* there: that expert adds nothing for it (in a
   block, the residual connection carries the token past the layer unchanged).
4. y = Σ_{kept e} g_e · FFN_e(x), each FFN a SwiGLU: (silu(x W_gate) ⊙ x W_up) W_down.
5. Load-balancing loss (Switch Transformers, Fedus et al. 2021, eq. 4-6, as Mixtral and
   transformers' load_balancing_loss_func count top-k): L_aux = E · Σ_i f_i · P_i, with f_i
   the fraction of tokens that chose expert i among their top k and P_i the mean router
   probability of expert i. Uniform routing gives L_aux = k; piling onto few experts raises it.

Two ways to run step 4: `naive_experts`, a readable loop over experts that picks each one's
tokens with a mask, and `dispatch_experts`, which sorts all (token, choice) pairs by expert
once, gathers them into one contiguous buffer and runs one matmul per expert group on a slice
of it, then scatters the weighted results back in one index_add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class MoEConfig:
    d_model: int  # width of a token vector
    d_ff: int  # hidden width of one expert's SwiGLU
    experts: int  # E, the number of expert FFNs
    top_k: int  # k, experts each token is sent to
    capacity_factor: float | None = (
        None  # C = ceil(factor · T · k / E) tokens per expert; None: no limit
    )
    noise: float = 0.0  # std of Gaussian noise on the router logits (training only)

    def __post_init__(self) -> None:
        if not 1 <= self.top_k <= self.experts:
            raise ValueError(
                f"top_k must be between 1 and experts={self.experts}, not {self.top_k}"
            )
        if self.capacity_factor is not None and not self.capacity_factor > 0:
            raise ValueError(f"capacity_factor must be above 0, not {self.capacity_factor}")
        if not self.noise >= 0:
            raise ValueError(f"noise must be 0 or more, not {self.noise}")


@dataclass(frozen=True)
class Routing:
    logits: Tensor  # (T, E) router scores, noise included
    probs: Tensor  # (T, E) softmax over all experts, float32
    experts: Tensor  # (T, k) the chosen experts, most probable first
    gates: Tensor  # (T, k) their probabilities renormalised to sum to 1
    kept: Tensor  # (T, k) bool: False where that expert was full and the token dropped
    capacity: int | None  # tokens one expert may take; None: unlimited

    @property
    def num_experts(self) -> int:
        return self.probs.shape[-1]

    @property
    def wanted(self) -> Tensor:
        """(E,) tokens that chose each expert, before capacity."""
        return torch.bincount(self.experts.flatten(), minlength=self.num_experts)

    @property
    def load(self) -> Tensor:
        """(E,) tokens each expert really processes, after capacity."""
        return torch.bincount(self.experts[self.kept], minlength=self.num_experts)


def expert_capacity(tokens: int, experts: int, top_k: int, factor: float) -> int:
    """C = ceil(factor · T · k / E): factor 1 is exactly an even share of the T · k choices."""
    return math.ceil(factor * tokens * top_k / experts)


def capacity_mask(experts: Tensor, num_experts: int, capacity: int | None) -> Tensor:
    """(T, k) bool: which choices fit in their expert's capacity.

    Choices are served slot by slot (every token's first choice, in token order, then every
    second choice, ...), so a token loses its first choice only when T earlier first choices
    already filled that expert.
    """
    if capacity is None:
        return torch.ones_like(experts, dtype=torch.bool)
    by_slot = experts.T.reshape(-1)  # (k · T,) slot-major: the serving order
    one_hot = F.one_hot(by_slot, num_experts)  # (k · T, E)
    position = (one_hot.cumsum(0) * one_hot).sum(-1) - 1  # place in the expert's queue
    return (position < capacity).view(experts.shape[1], -1).T  # (T, k)


def route(
    x: Tensor,
    router_weight: Tensor,
    top_k: int,
    capacity_factor: float | None = None,
    noise: float = 0.0,
    generator: torch.Generator | None = None,
) -> Routing:
    """Steps 1-3 for tokens x (T, d) and a router weight (E, d)."""
    logits = x @ router_weight.T  # (T, E)
    if noise > 0:
        jitter = torch.randn(logits.shape, generator=generator, device="cpu", dtype=logits.dtype)
        logits = logits + noise * jitter.to(logits.device)
    probs = torch.softmax(logits.float(), dim=-1)  # float32 even for half weights, as Mixtral
    top_p, experts = probs.topk(top_k, dim=-1)  # (T, k)
    gates = top_p / top_p.sum(-1, keepdim=True)
    tokens, num_experts = probs.shape
    capacity = (
        None
        if capacity_factor is None
        else expert_capacity(tokens, num_experts, top_k, capacity_factor)
    )
    kept = capacity_mask(experts, num_experts, capacity)
    return Routing(logits, probs, experts, gates, kept, capacity)


def load_balancing_loss(probs: Tensor, experts: Tensor) -> Tensor:
    """Step 5: E · Σ_i f_i · P_i for router probabilities (T, E) and top-k choices (T, k).

    f_i counts choices (no gradient); P_i is differentiable, so the loss pushes probability
    away from the experts that are chosen most. Balanced: f_i = k / E, P_i = 1 / E, loss = k.
    """
    tokens, num_experts = probs.shape
    f = torch.bincount(experts.flatten(), minlength=num_experts).to(probs.dtype) / tokens
    p = probs.mean(0)
    return num_experts * (f * p).sum()


def imbalance(load: Tensor) -> float:
    """max / mean of the tokens per expert: 1 is perfectly even, E means one expert took all."""
    load = load.float()
    return float(load.max() / load.mean()) if load.sum() > 0 else 0.0


def swiglu(x: Tensor, w_in: Tensor, w_out: Tensor) -> Tensor:
    """(silu(x W_gate) ⊙ x W_up) W_down, with W_gate and W_up side by side in w_in (d, 2F) so
    that both are one matmul; w_out is W_down (F, d)."""
    gate, up = (x @ w_in).chunk(2, dim=-1)  # (n, F) each
    return (F.silu(gate) * up) @ w_out


class Experts(nn.Module):
    """E SwiGLU FFNs stored as stacked weights: expert e is w_in[e] (d, 2F), w_out[e] (F, d)."""

    def __init__(self, experts: int, d_model: int, d_ff: int) -> None:
        super().__init__()
        self.w_in = nn.Parameter(torch.empty(experts, d_model, 2 * d_ff))  # [W_gate | W_up]
        self.w_out = nn.Parameter(torch.empty(experts, d_ff, d_model))  # W_down

    def ffn(self, e: int, x: Tensor) -> Tensor:
        """Expert e on tokens (n, d) -> (n, d)."""
        return swiglu(x, self.w_in[e], self.w_out[e])


def naive_experts(x: Tensor, experts: Experts, routing: Routing) -> Tensor:
    """Step 4, readable: for each expert, find its tokens, run it, add its gated output."""
    y = torch.zeros_like(x)
    for e in range(routing.num_experts):
        chosen = (routing.experts == e) & routing.kept  # (T, k)
        token, slot = torch.where(chosen)
        if token.numel():
            out = experts.ffn(e, x[token]) * routing.gates[token, slot, None].to(x.dtype)
            y.index_add_(0, token, out)
    return y


def dispatch_experts(x: Tensor, experts: Experts, routing: Routing) -> Tensor:
    """Step 4, fast: one sort groups the (token, choice) pairs by expert, so each expert is one
    matmul on a contiguous slice, and one index_add puts the gated results back."""
    k = routing.experts.shape[1]
    flat_expert = routing.experts.flatten()  # (T · k,) pair i is token i // k, choice i % k
    kept = routing.kept.flatten()
    # dropped pairs sort after every real expert (key E) and are cut off below
    key = torch.where(kept, flat_expert, routing.num_experts)
    order = torch.argsort(key, stable=True)  # (T · k,)
    counts = torch.bincount(key, minlength=routing.num_experts + 1)[:-1].tolist()
    order = order[: sum(counts)]
    token = order // k
    xs = x[token]  # (S, d): every kept pair, grouped by expert
    out = torch.empty_like(xs)
    start = 0
    for e, n in enumerate(counts):
        if n:
            out[start : start + n] = experts.ffn(e, xs[start : start + n])
            start += n
    out *= routing.gates.flatten()[order, None].to(x.dtype)
    return torch.zeros_like(x).index_add_(0, token, out)


@dataclass(frozen=True)
class MoEOutput:
    y: Tensor  # (T, d) the layer's output
    routing: Routing
    aux_loss: Tensor  # () the load-balancing loss of this batch


class MoELayer(nn.Module):
    """A router and E experts: tokens (..., d) in, MoEOutput out."""

    def __init__(self, config: MoEConfig, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        c = config
        self.router = nn.Parameter(torch.empty(c.experts, c.d_model))  # (E, d)
        self.experts = Experts(c.experts, c.d_model, c.d_ff)
        with torch.no_grad():  # transformers' init for Mixtral: N(0, 0.02); ours by fan-in
            self.router.normal_(0, c.d_model**-0.5, generator=generator)
            self.experts.w_in.normal_(0, c.d_model**-0.5, generator=generator)
            self.experts.w_out.normal_(0, c.d_ff**-0.5, generator=generator)

    def forward(
        self, x: Tensor, generator: torch.Generator | None = None, naive: bool = False
    ) -> MoEOutput:
        c = self.config
        flat = x.reshape(-1, c.d_model)  # (T, d): batch and sequence are all just tokens
        noise = c.noise if self.training else 0.0
        r = route(flat, self.router, c.top_k, c.capacity_factor, noise, generator)
        run = naive_experts if naive else dispatch_experts
        y = run(flat, self.experts, r).reshape(x.shape)
        return MoEOutput(y, r, load_balancing_loss(r.probs, r.experts))


def from_mixtral(block: nn.Module) -> MoELayer:
    """Our layer holding the weights of a transformers MixtralSparseMoeBlock.

    transformers 5 keeps the experts fused: gate_up_proj (E, 2F, d), whose first F rows are
    the gate's and last F the up projection's (it applies them as x @ W^T), and down_proj
    (E, d, F). We multiply x @ W, so both are transposed: the same [gate | up] order.
    """
    gate_up, down = block.experts.gate_up_proj, block.experts.down_proj
    experts, two_ff, d_model = gate_up.shape
    d_ff = two_ff // 2
    layer = MoELayer(MoEConfig(d_model, d_ff, experts, block.top_k))
    with torch.no_grad():
        layer.router.copy_(block.gate.weight)
        layer.experts.w_in.copy_(gate_up.transpose(1, 2))  # (E, d, 2F)
        layer.experts.w_out.copy_(down.transpose(1, 2))  # (E, F, d)
    return layer.to(gate_up.device).eval()
