"""Train the two bundled diffusion models, reproducibly, on a CPU in minutes.

    python -m plugins.models.train_diffusion digits --steps 600 --seed 0   # 16x16 digits UNet
    python -m plugins.models.train_diffusion toy --steps 3000 --seed 0     # two-moons MLP

Both learn the DDPM objective: pick a clean example x_0, a timestep t and Gaussian noise eps,
form x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, and regress eps from (x_t, t) with a mean
squared error (Ho et al. 2020, arXiv:2006.11239, algorithm 1). Each command writes the
weights, the scheduler config, a little real data for the app, ``training.json``, a
``samples.png`` and a model card ``README.md`` into its folder under ``plugins/models/assets``.

scikit-learn is needed here only, to fetch the data; the app reads the saved copies.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from plugins.models import denoisers
from plugins.models.toy2d import ToyDenoiser, ToyDenoiserConfig

# One thread: the machine is shared, and one thread keeps runs repeatable.
THREADS = 1
CARD_STEPS = 50  # DDIM steps for the pictures in the model cards

DIGITS = dict(batch=128, lr=2e-3, warmup=50, beta_schedule="squaredcos_cap_v2", timesteps=1000)
TOY = dict(
    batch=512,
    lr=2e-3,
    warmup=100,
    beta_schedule="linear",
    timesteps=1000,
    n_train=20_000,
    n_ship=2000,
    noise=0.05,
)


# ---------------------------------------------------------------------------- data


def digits_data() -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's 1797 8x8 digits (ink 0..16) as (N, 1, 16, 16) floats in [-1, 1], and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32)[:, None] / 16.0 * 2.0 - 1.0  # (N,1,8,8)
    # Bilinear upsampling keeps the values inside [-1, 1], so DDPM's clipping stays valid.
    x = F.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)  # (N,1,16,16)
    return x.clamp(-1.0, 1.0), torch.tensor(bunch.target, dtype=torch.int64)


def moons_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Standardised two-moons points (n, 2), with the mean and std that standardised them."""
    from sklearn.datasets import make_moons

    points, _ = make_moons(n_samples=n, noise=TOY["noise"], random_state=seed)
    x = torch.tensor(points, dtype=torch.float32)
    mean, std = x.mean(0), x.std(0)
    return (x - mean) / std, mean, std


# ---------------------------------------------------------------------------- training


def train(model, data, scheduler, *, steps, batch, lr, warmup, seed, call) -> dict:
    """The DDPM training loop; ``call(model, x_t, t)`` returns predicted noise."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, denoisers.lr_lambda(warmup, steps))
    num_t = scheduler.config.num_train_timesteps
    losses: list[float] = []
    start = time.time()
    model.train()
    for step in range(steps):
        x0 = data[torch.randint(0, data.shape[0], (batch,), generator=g)]
        noise = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, num_t, (batch,), generator=g)
        xt = scheduler.add_noise(x0, noise, t)  # forward process, eq. (4) of DDPM
        loss = F.mse_loss(call(model, xt, t), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == steps - 1:
            print(
                f"step {step:5d}  loss {loss.item():.4f}  {time.time() - start:6.1f}s", flush=True
            )
    model.eval()
    tail = losses[-50:]
    return {
        "steps": steps,
        "seed": seed,
        "batch": batch,
        "lr": lr,
        "warmup": warmup,
        "first_loss": round(losses[0], 4),
        "final_loss": round(losses[-1], 4),
        "final_loss_mean_last_50": round(sum(tail) / len(tail), 4),
        "seconds": round(time.time() - start, 1),
        "torch_threads": THREADS,
        "torch": torch.__version__,
    }


def nearest_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of a, the Euclidean distance to its nearest row of b."""
    return torch.cdist(a.flatten(1), b.flatten(1)).min(dim=1).values


# ---------------------------------------------------------------------------- pictures


def digits_grid_png(images: torch.Tensor, path: Path, scale: int = 4, gap: int = 4) -> None:
    """A 4x4 grid of (16, 1, 16, 16) images in [-1, 1], dark ink on white, upscaled."""
    from PIL import Image

    cell = images.shape[-1] * scale
    side = 4 * cell + 5 * gap
    canvas = Image.new("L", (side, side), 200)
    ink = ((1.0 - (images.clamp(-1, 1) + 1.0) / 2.0) * 255).round().to(torch.uint8)
    for i in range(16):
        tile = Image.fromarray(ink[i, 0].numpy(), mode="L").resize((cell, cell), Image.NEAREST)
        row, col = divmod(i, 4)
        canvas.paste(tile, (gap + col * (cell + gap), gap + row * (cell + gap)))
    canvas.save(path)


def scatter_png(real: torch.Tensor, samples: torch.Tensor, path: Path, size: int = 480) -> None:
    """Real points in grey, samples in blue, on a square canvas framed by the real data."""
    from PIL import Image, ImageDraw

    lo, hi = real.min(0).values - 0.5, real.max(0).values + 0.5
    span = float((hi - lo).max())

    def to_pixel(p: torch.Tensor) -> tuple[float, float]:
        u = (p - lo) / span * (size - 1)
        return float(u[0]), float(size - 1 - u[1])  # image y grows downwards

    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    for points, colour, r in ((real, (190, 190, 190), 2), (samples, (31, 90, 200), 2)):
        for p in points:
            x, y = to_pixel(p)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    image.save(path)


# ---------------------------------------------------------------------------- the two models


def digits_unet():
    from diffusers import UNet2DModel

    # Two resolutions (16x16, 8x8); the mid block's self-attention at 8x8 gives global context,
    # so the down and up blocks can stay plain ResNet blocks, which are cheaper on a CPU.
    return UNet2DModel(
        sample_size=16,
        in_channels=1,
        out_channels=1,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        norm_num_groups=8,
    )


def run_digits(steps: int, seed: int) -> None:
    from diffusers import DDPMScheduler
    from safetensors.torch import save_file

    out = denoisers.DIGITS_DIR
    images, labels = digits_data()
    torch.manual_seed(seed)  # model initialisation
    unet = digits_unet()
    scheduler = DDPMScheduler(
        num_train_timesteps=DIGITS["timesteps"],
        beta_schedule=DIGITS["beta_schedule"],
        clip_sample=True,  # the data lives in [-1, 1]
    )
    stats = train(
        unet,
        images,
        scheduler,
        steps=steps,
        batch=DIGITS["batch"],
        lr=DIGITS["lr"],
        warmup=DIGITS["warmup"],
        seed=seed,
        call=lambda m, x, t: m(x, t).sample,
    )
    out.mkdir(parents=True, exist_ok=True)
    unet.save_pretrained(out, safe_serialization=True)
    scheduler.save_pretrained(out)
    # The first 16 digits cover every class 0-9 at least once.
    save_file(
        {"digits": images[:16].contiguous(), "labels": labels[:16].contiguous()},
        str(out / "examples.safetensors"),
    )

    g = torch.Generator().manual_seed(seed)
    ddim = denoisers.scheduler_for(out, "ddim")
    samples = denoisers.sample(unet, ddim, (16, 1, 16, 16), CARD_STEPS, g).clamp(-1, 1)
    digits_grid_png(samples, out / "samples.png")
    # How far each sample is from its nearest training digit, against shuffled-pixel samples
    # (same ink, no strokes): an honest, cheap sign that the strokes are learned.
    shuffled = samples.flatten(1)[:, torch.randperm(256, generator=g)]
    stats.update(
        params=sum(p.numel() for p in unet.parameters()),
        beta_schedule=DIGITS["beta_schedule"],
        sample_nn_distance=round(nearest_distance(samples, images).median().item(), 3),
        shuffled_nn_distance=round(nearest_distance(shuffled, images).median().item(), 3),
    )
    (out / "training.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out / "README.md").write_text(digits_card(stats))
    print(json.dumps(stats, indent=2))


def run_toy(steps: int, seed: int) -> None:
    from diffusers import DDPMScheduler
    from safetensors.torch import save_file

    out = denoisers.TOY_DIR
    points, mean, std = moons_data(TOY["n_train"], seed)
    config = ToyDenoiserConfig(num_train_timesteps=TOY["timesteps"])
    torch.manual_seed(seed)
    model = ToyDenoiser(config)
    # No clipping: standardised points reach about +-2.
    scheduler = DDPMScheduler(
        num_train_timesteps=TOY["timesteps"], beta_schedule=TOY["beta_schedule"], clip_sample=False
    )
    stats = train(
        model,
        points,
        scheduler,
        steps=steps,
        batch=TOY["batch"],
        lr=TOY["lr"],
        warmup=TOY["warmup"],
        seed=seed,
        call=lambda m, x, t: m(x, t),
    )
    model.save_pretrained(out)
    scheduler.save_pretrained(out)
    real = points[: TOY["n_ship"]].contiguous()  # make_moons already shuffled them
    save_file({"points": real, "mean": mean, "std": std}, str(out / "data.safetensors"))

    g = torch.Generator().manual_seed(seed)
    ddim = denoisers.scheduler_for(out, "ddim")
    samples = denoisers.sample(model, ddim, (1000, 2), CARD_STEPS, g)
    scatter_png(real, samples, out / "samples.png")
    noise = torch.randn(1000, 2, generator=g)
    stats.update(
        params=sum(p.numel() for p in model.parameters()),
        beta_schedule=TOY["beta_schedule"],
        n_train_points=TOY["n_train"],
        sample_nn_distance=round(nearest_distance(samples, real).median().item(), 4),
        noise_nn_distance=round(nearest_distance(noise, real).median().item(), 4),
    )
    (out / "training.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out / "README.md").write_text(toy_card(stats))
    print(json.dumps(stats, indent=2))


# ---------------------------------------------------------------------------- model cards


def _training_section(s: dict, command: str) -> str:
    return f"""## Training

`{command}` — {s["steps"]} steps of AdamW (peak learning rate {s["lr"]}, {s["warmup"]} warm-up
steps, cosine decay to 10%, weight decay 1e-4), batch {s["batch"]}, seed {s["seed"]},
{s["torch_threads"]} CPU thread, {s["seconds"]:.0f} s. Loss (MSE between true and predicted
noise): {s["first_loss"]} at the first step, {s["final_loss"]} at the last
(mean of the last 50 steps: {s["final_loss_mean_last_50"]}).
"""


def digits_card(s: dict) -> str:
    cmd = f"python -m plugins.models.train_diffusion digits --steps {s['steps']} --seed {s['seed']}"
    return f"""# digits-unet — a 16x16 handwritten-digit diffusion model

A small DDPM noise-prediction model trained from scratch by this project for the diffusion tab.
It turns 16x16 Gaussian noise into a grey-scale handwritten digit (no class conditioning).

## Data and licence

scikit-learn's bundled `load_digits()` set: 1797 8x8 images of the digits 0-9 (ink 0-16),
from the UCI ML repository's "Optical Recognition of Handwritten Digits" data, shipped with the
BSD-3-licensed scikit-learn package. Scaled to [-1, 1] and upsampled to 16x16 bilinearly; no
augmentation. `examples.safetensors` holds the first 16 of them (`digits`, `labels`) so the app
can show real digits without scikit-learn.

## Architecture

diffusers `UNet2DModel`: two resolutions (16x16 with 32 channels, 8x8 with 64), one ResNet
block per level, self-attention in the 8x8 middle block, group norm with 8 groups, sinusoidal
timestep embedding: **{s["params"]:,} parameters** (float32, safetensors). Noise schedule:
`DDPMScheduler`, 1000 training timesteps, `{s["beta_schedule"]}` betas (Nichol & Dhariwal 2021),
epsilon prediction, samples clipped to [-1, 1].

{_training_section(s, cmd)}
## Samples

![16 samples](samples.png)

16 unconditional samples, DDIM with {CARD_STEPS} steps (eta 0), `torch.Generator` seed
{s["seed"]}, drawn by the training script. Median distance (16x16 pixels in [-1, 1]) from a
sample to its nearest training digit: {s["sample_nn_distance"]}; the same samples with their
pixels shuffled (same ink, no strokes): {s["shuffled_nn_distance"]}.

The same `scheduler_config.json` also drives DDPM, Euler and DPM-Solver++ in the app
(`plugins.models.denoisers.scheduler_for`).
"""


def toy_card(s: dict) -> str:
    cmd = f"python -m plugins.models.train_diffusion toy --steps {s['steps']} --seed {s['seed']}"
    return f"""# two-moons — a diffusion model for 2-D points

A tiny DDPM noise-prediction MLP trained from scratch by this project, so the diffusion tab
can show every point at every step of the reverse process on a scatter plot.

## Data and licence

scikit-learn's `make_moons(n_samples={s["n_train_points"]}, noise={TOY["noise"]},
random_state={s["seed"]})` (BSD-3-licensed scikit-learn), standardised per coordinate.
`data.safetensors` holds 2000 of those points (`points`, standardised) and the `mean` and
`std` that map them back to make_moons' coordinates.

## Architecture

`plugins.models.toy2d.ToyDenoiser`: a sinusoidal timestep embedding and a time MLP, a linear
input layer, three residual blocks of width 128 (layer norm, linear, + time, SiLU, linear),
a linear output: **{s["params"]:,} parameters** (float32, safetensors). Noise schedule:
`DDPMScheduler`, {TOY["timesteps"]} training timesteps, `{s["beta_schedule"]}` betas, epsilon
prediction, no clipping.

{_training_section(s, cmd)}
## Samples

![1000 samples over the data](samples.png)

Blue: 1000 samples, DDIM with {CARD_STEPS} steps (eta 0), `torch.Generator` seed {s["seed"]}.
Grey: the 2000 shipped real points. Median distance from a sample to its nearest real point:
{s["sample_nn_distance"]} (standardised units); for 1000 standard Gaussian points:
{s["noise_nn_distance"]}.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("digits", "toy"))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    if args.model == "digits":
        run_digits(args.steps or 600, args.seed)
    else:
        run_toy(args.steps or 3000, args.seed)


if __name__ == "__main__":
    main()
