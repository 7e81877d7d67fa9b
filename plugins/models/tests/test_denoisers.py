"""The bundled diffusion models load from the shipped assets, sample sensibly, fail loudly."""

from __future__ import annotations

import re
import shutil

import pytest
import torch
from safetensors.torch import load_file

from plugins.models import denoisers
from plugins.models.toy2d import ToyDenoiser, ToyDenoiserConfig

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def unet():
    return denoisers.load_digits_unet("cpu")


@pytest.fixture(scope="module")
def toy():
    return denoisers.load_toy_denoiser("cpu")


@pytest.fixture(scope="module")
def real_points() -> torch.Tensor:
    return load_file(str(denoisers.TOY_DIR / "data.safetensors"))["points"]


@pytest.fixture(scope="module")
def real_digits() -> torch.Tensor:
    return load_file(str(denoisers.DIGITS_DIR / "examples.safetensors"))["digits"]


def nearest(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.cdist(a.flatten(1), b.flatten(1)).min(dim=1).values


def test_shipped_assets_are_small_and_complete(real_points, real_digits):
    files = [p for d in (denoisers.DIGITS_DIR, denoisers.TOY_DIR) for p in d.iterdir()]
    assert sum(p.stat().st_size for p in files) < 5_000_000
    for d in (denoisers.DIGITS_DIR, denoisers.TOY_DIR):
        for name in ("scheduler_config.json", "training.json", "README.md", "samples.png"):
            assert (d / name).is_file(), d / name
    assert real_points.shape == (2000, 2)
    assert real_digits.shape == (16, 1, 16, 16) and real_digits.dtype == torch.float32
    assert real_digits.min() >= -1 and real_digits.max() <= 1


def test_toy_forward_takes_int_float_and_scalar_timesteps(toy):
    x = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outs = [toy(x, torch.arange(8) * 100), toy(x, torch.linspace(0.5, 999.5, 8)), toy(x, 500)]
    for out in outs:
        assert out.shape == (8, 2) and torch.isfinite(out).all()


def test_unet_forward_shape(unet):
    x = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = unet(x, torch.tensor([0, 10, 500, 999])).sample
    assert out.shape == (4, 1, 16, 16) and torch.isfinite(out).all()


def test_toy_ddim_samples_trace_the_moons(toy, real_points):
    g = torch.Generator().manual_seed(0)
    samples = denoisers.sample(
        toy, denoisers.scheduler_for(denoisers.TOY_DIR, "ddim"), (64, 2), 50, g
    )
    noise = torch.randn(64, 2, generator=g)
    assert torch.isfinite(samples).all()
    # Gaussian points already land near the dense moons often; real samples land on them.
    assert nearest(samples, real_points).median() < 0.3 * nearest(noise, real_points).median()


def test_digit_ddim_samples_have_strokes_not_just_ink(unet, real_digits):
    g = torch.Generator().manual_seed(0)
    ddim = denoisers.scheduler_for(denoisers.DIGITS_DIR, "ddim")
    samples = denoisers.sample(unet, ddim, (16, 1, 16, 16), 50, g)
    assert samples.shape == (16, 1, 16, 16) and torch.isfinite(samples).all()
    noise = torch.rand(16, 256, generator=g) * 2 - 1
    # The same pixel values in a shuffled order: right amount of ink, no strokes. A model that
    # had learned only the background/ink ratio would be as far from real digits as these.
    shuffled = samples.flatten(1)[:, torch.randperm(256, generator=g)]
    d_samples = nearest(samples, real_digits)
    assert d_samples.median() < nearest(noise, real_digits).median() / 2
    assert d_samples.median() < 0.8 * nearest(shuffled, real_digits).median()


def test_sampling_is_reproducible_and_reports_steps(toy):
    ddim = denoisers.scheduler_for(denoisers.TOY_DIR, "ddim")
    a, steps = denoisers.sample(
        toy, ddim, (16, 2), 10, torch.Generator().manual_seed(3), return_steps=True
    )
    b = denoisers.sample(toy, ddim, (16, 2), 10, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert len(steps) == 10 and torch.equal(steps[-1].prev_sample, a)
    assert all(s.pred_original_sample.shape == (16, 2) for s in steps)


@pytest.mark.parametrize("name", denoisers.SCHEDULER_NAMES)
def test_every_scheduler_builds_and_runs(name, toy, unet):
    for model, model_dir, shape in (
        (toy, denoisers.TOY_DIR, (32, 2)),
        (unet, denoisers.DIGITS_DIR, (2, 1, 16, 16)),
    ):
        scheduler = denoisers.scheduler_for(model_dir, name)
        out = denoisers.sample(model, scheduler, shape, 4, torch.Generator().manual_seed(0))
        assert out.shape == shape and torch.isfinite(out).all(), (name, model_dir.name)


def test_unknown_scheduler_is_refused():
    with pytest.raises(ValueError, match="ddim"):
        denoisers.scheduler_for(denoisers.TOY_DIR, "plms")


def _truncated_copy(src, tmp_path, weights: str):
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    path = dst / weights
    path.write_bytes(path.read_bytes()[:1000])
    return dst, path


def test_corrupt_toy_weights_name_the_file(tmp_path):
    model_dir, path = _truncated_copy(denoisers.TOY_DIR, tmp_path, "model.safetensors")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        denoisers.load_toy_denoiser("cpu", model_dir)


def test_corrupt_unet_weights_name_the_file(tmp_path):
    weights = "diffusion_pytorch_model.safetensors"
    model_dir, path = _truncated_copy(denoisers.DIGITS_DIR, tmp_path, weights)
    with pytest.raises(ValueError, match=re.escape(str(path))):
        denoisers.load_digits_unet("cpu", model_dir)


@pytest.mark.parametrize("name", ["config.json", "model.safetensors", "scheduler_config.json"])
def test_missing_files_name_the_file(tmp_path, name):
    model_dir = tmp_path / "two-moons"
    shutil.copytree(denoisers.TOY_DIR, model_dir)
    (model_dir / name).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(model_dir / name))):
        if name == "scheduler_config.json":
            denoisers.scheduler_for(model_dir, "ddpm")
        else:
            denoisers.load_toy_denoiser("cpu", model_dir)


def test_toy_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ToyDenoiser(ToyDenoiserConfig(hidden_size=16, num_blocks=1, time_embed_dim=8)).eval()
    torch.nn.init.normal_(model.output.weight)  # zero-initialised; make the output non-trivial
    model.save_pretrained(tmp_path)
    loaded = ToyDenoiser.from_pretrained(tmp_path).eval()
    x, t = torch.randn(5, 2), torch.tensor([1, 2, 3, 4, 5])
    with torch.no_grad():
        assert torch.equal(model(x, t), loaded(x, t))
    assert loaded.config == model.config
