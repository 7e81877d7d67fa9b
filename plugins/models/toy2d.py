"""A small MLP that predicts the noise added to 2-D points: the toy model of the diffusion tab.

Two numbers in, two numbers out, so a learner can watch every point of every step on a
scatter plot. The network is the epsilon-prediction model of DDPM, made as small as the task
allows: the timestep enters through a sinusoidal embedding and is added inside each residual
block, so every layer knows how noisy its input is.

References:
- Ho, Jain, Abbeel (2020), "Denoising Diffusion Probabilistic Models", arXiv:2006.11239
  (epsilon prediction, the training loss).
- Vaswani et al. (2017), "Attention Is All You Need", arXiv:1706.03762, section 3.5
  (the sinusoidal embedding, here of the timestep instead of a position).
- Sohl-Dickstein et al. (2015), arXiv:1503.03585 (diffusion on 2-D toy data).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class ToyDenoiserConfig:
    data_dim: int = 2  # coordinates per point
    hidden_size: int = 128  # width of every hidden layer
    num_blocks: int = 3  # residual blocks between the input and output layers
    time_embed_dim: int = 32  # sinusoidal features of the timestep (even)
    num_train_timesteps: int = 1000  # the noise scheduler this model was trained with


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) timesteps: (N,) -> (N, dim)."""
    half = dim // 2
    # Geometric frequencies from 1 down to 1/max_period, as in the Transformer's positions.
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device) / half)
    args = t.float()[:, None] * freqs[None, :]  # (N, half)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)  # (N, dim)


class ResidualBlock(nn.Module):
    """h + W2 silu(W1 norm(h) + time): the time signal is added where the block mixes features."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.time = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.silu(self.fc1(self.norm(h)) + self.time(temb)))


class ToyDenoiser(nn.Module):
    """eps_theta(x_t, t): predicts the Gaussian noise in noisy 2-D points x_t at timestep t."""

    def __init__(self, config: ToyDenoiserConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ToyDenoiserConfig()
        if config.time_embed_dim % 2:
            raise ValueError(f"time_embed_dim must be even, got {config.time_embed_dim}")
        width = config.hidden_size
        self.time_mlp = nn.Sequential(
            nn.Linear(config.time_embed_dim, width), nn.SiLU(), nn.Linear(width, width)
        )
        self.input = nn.Linear(config.data_dim, width)
        self.blocks = nn.ModuleList(ResidualBlock(width) for _ in range(config.num_blocks))
        self.out_norm = nn.LayerNorm(width)
        self.output = nn.Linear(width, config.data_dim)
        # Start by predicting zero noise, so early training is not fighting a random output.
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor | float | int) -> torch.Tensor:
        """x: (N, 2) noisy points; t: (N,) or scalar timesteps, int or float -> (N, 2) noise."""
        t = torch.as_tensor(t, device=x.device)
        if t.ndim == 0:
            t = t.expand(x.shape[0])  # one timestep for the whole batch, as schedulers pass it
        temb = F.silu(self.time_mlp(timestep_embedding(t, self.config.time_embed_dim)))  # (N, W)
        h = self.input(x)  # (N, W)
        for block in self.blocks:
            h = block(h, temb)
        return self.output(F.silu(self.out_norm(h)))  # (N, 2)

    def save_pretrained(self, directory: str | Path) -> None:
        """Write config.json and model.safetensors into ``directory``."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CONFIG_NAME).write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> ToyDenoiser:
        """Load what save_pretrained wrote; a missing or broken file raises naming that file."""
        from safetensors.torch import load_file

        directory = Path(directory)
        config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(f"ToyDenoiser file not found: {path}")
        try:
            raw = json.loads(config_path.read_text())
            known = {f.name for f in fields(ToyDenoiserConfig)}
            config = ToyDenoiserConfig(**{k: v for k, v in raw.items() if k in known})
        except (ValueError, TypeError, AttributeError) as err:
            raise ValueError(f"ToyDenoiser config is not valid: {config_path} ({err})") from err
        model = cls(config)
        try:
            state = load_file(str(weights_path))
            model.load_state_dict(state, strict=True)
        except Exception as err:  # safetensors raises its own error type for a truncated file
            raise ValueError(f"ToyDenoiser weights are corrupt: {weights_path} ({err})") from err
        return model
