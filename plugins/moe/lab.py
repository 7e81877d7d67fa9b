"""The routing lab's tokens and its tiny training run, both on our MoELayer (moe.py).

Token shapes: isotropic Gaussian noise; the same noise *shifted* by one shared vector, as a
real model's hidden states are (they share a large mean direction, which is what lets a
router without a bias favour one expert for every token); a few tight clusters ("topics");
and near-identical tokens, which all want the same experts and overflow their capacity.

The training run fits a layer to a fixed random teacher FFN on shifted tokens, twice from the
same start and on the same batches: once on the task loss alone, once with the load-balancing
loss added. Alone, the experts that happen to be picked first get trained first, become the
best answer for every token, and the router sends ever more tokens to them (collapse); the
auxiliary loss pushes router probability away from the busiest experts and keeps load even.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from plugins.moe import moe

SHAPES = ("random", "shifted", "clustered", "near-identical")
CLUSTERS = 4
LAB_DIM = 32  # width of the lab's tokens
TRAIN_DIM, TRAIN_FF, TRAIN_TOKENS = 16, 32, 256  # the training run's layer and batch
TRAIN_LR = 0.03
SHIFT = 1.0  # the shared offset's length, in units of the noise's typical length √d


def make_tokens(shape: str, count: int, dim: int, generator: torch.Generator) -> Tensor:
    """(count, dim) tokens of one of SHAPES; the same generator state gives the same tokens."""
    noise = torch.randn(count, dim, generator=generator)
    if shape == "random":
        return noise
    if shape == "shifted":
        direction = torch.randn(dim, generator=generator)
        return noise + direction / direction.norm() * SHIFT * dim**0.5
    if shape == "clustered":
        centres = torch.randn(CLUSTERS, dim, generator=generator) * 2
        return centres[torch.randint(CLUSTERS, (count,), generator=generator)] + 0.3 * noise
    if shape == "near-identical":
        return torch.randn(dim, generator=generator) * 2 + 0.05 * noise
    raise ValueError(f"unknown token shape {shape!r}: choose one of {', '.join(SHAPES)}")


def lab_layer(experts: int, top_k: int, capacity_factor: float | None, noise: float, seed: int):
    """A fresh layer with seeded random weights; training mode when noise is on, since router
    noise is a training-time device."""
    config = moe.MoEConfig(LAB_DIM, 2 * LAB_DIM, experts, top_k, capacity_factor, noise)
    layer = moe.MoELayer(config, generator=torch.Generator().manual_seed(seed))
    return layer.train(noise > 0)


@dataclass(frozen=True)
class Progress:
    step: int  # steps done
    shares: dict[str, list[list[float]]]  # run -> per step, each expert's share of the choices
    imbalance: dict[str, list[float]]  # run -> per step, max / mean tokens per expert
    task_loss: dict[str, list[float]]  # run -> per step, the MSE to the teacher
    seconds: float  # wall time so far
    stopped_early: bool  # the time cap ended the run


def train(
    experts: int,
    top_k: int,
    steps: int,
    aux_weight: float,
    seed: int,
    max_seconds: float,
    report_every: int,
) -> Iterator[Progress]:
    """Train two layers on the same batches, without and with the load-balancing loss; yield
    the history every ``report_every`` steps and at the end (or when ``max_seconds`` pass)."""
    gen = torch.Generator().manual_seed(seed)
    config = moe.MoEConfig(TRAIN_DIM, TRAIN_FF, experts, top_k)
    start = moe.MoELayer(config, generator=gen)
    teacher = moe.MoELayer(moe.MoEConfig(TRAIN_DIM, 4 * TRAIN_FF, 1, 1), generator=gen)
    runs = {"without aux loss": 0.0, f"with aux loss × {aux_weight:g}": aux_weight}
    layers = {name: moe.MoELayer(config) for name in runs}
    for layer in layers.values():
        layer.load_state_dict(start.state_dict())  # the same start for both
    optims = {n: torch.optim.Adam(layer.parameters(), lr=TRAIN_LR) for n, layer in layers.items()}
    shares = {name: [] for name in runs}
    imb = {name: [] for name in runs}
    task = {name: [] for name in runs}
    direction = torch.randn(TRAIN_DIM, generator=gen)
    offset = direction / direction.norm() * SHIFT * TRAIN_DIM**0.5
    began = time.perf_counter()
    for step in range(1, steps + 1):
        x = torch.randn(TRAIN_TOKENS, TRAIN_DIM, generator=gen) + offset
        with torch.no_grad():
            target = teacher(x).y
        for name, weight in runs.items():
            out = layers[name](x)
            loss = F.mse_loss(out.y, target)
            optims[name].zero_grad()
            (loss + weight * out.aux_loss).backward()
            optims[name].step()
            load = out.routing.load.float()
            shares[name].append((load / load.sum()).tolist())
            imb[name].append(moe.imbalance(load))
            task[name].append(loss.item())
        seconds = time.perf_counter() - began
        over = seconds > max_seconds
        if step % report_every == 0 or step == steps or over:
            yield Progress(step, shares, imb, task, seconds, over and step < steps)
        if over:
            return
