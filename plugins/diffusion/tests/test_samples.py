"""Samples of the bundled digits model, through our own DDIM, read as digits by a small
classifier trained here (seconds) on the same bundled digits.

The classifier has an eleventh class, "not a digit" (shuffled-pixel digits and clipped
noise), so a confident answer means a digit, not merely an image: the controls below prove
it refuses what is not one. scikit-learn supplies the 1797 digits, as it does for training.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from plugins.diffusion import compute, diffusion
from plugins.models import denoisers as bundled
from plugins.models.paths import DIGITS_DIR
from plugins.models.train_diffusion import digits_data

torch.set_num_threads(1)
NOT_A_DIGIT = 10
MIN_CONFIDENCE = 0.8  # the bar, averaged over the samples


def _junk(x: torch.Tensor, n: int, g: torch.Generator) -> torch.Tensor:
    """n shuffled-pixel digits (same ink, no strokes) and n clipped Gaussian images."""
    picks = x[torch.randint(0, len(x), (n,), generator=g)].flatten(1)
    order = torch.argsort(torch.rand(picks.shape, generator=g), dim=1)  # one shuffle per image
    shuffled = picks.gather(1, order).reshape(n, 1, 16, 16)
    return torch.cat([shuffled, torch.randn(n, 1, 16, 16, generator=g).clamp(-1, 1)])


def digit_confidence(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The probability of the likeliest digit class (mass on "not a digit" counts against)."""
    with torch.no_grad():
        return net(images.clamp(-1, 1)).softmax(-1)[:, :NOT_A_DIGIT].max(-1).values


@pytest.fixture(scope="module")
def data():
    x, y = digits_data()
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return x, y, order[:1500], order[1500:]


@pytest.fixture(scope="module")
def classifier(data):
    x, y, train, _ = data
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (8, 8, 8)
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (16, 4, 4)
        nn.Flatten(), nn.Linear(16 * 16, NOT_A_DIGIT + 1),
    )  # fmt: skip
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(250):
        i = train[torch.randint(0, len(train), (64,), generator=g)]
        inputs = torch.cat([x[i], _junk(x, 16, g)])
        labels = torch.cat([y[i], torch.full((32,), NOT_A_DIGIT)])
        loss = F.cross_entropy(net(inputs), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


@pytest.fixture(scope="module")
def samples():
    unet = bundled.load_digits_unet("cpu")
    g = torch.Generator().manual_seed(0)
    schedule = compute.model_schedule(DIGITS_DIR)
    return diffusion.sample(unet, schedule, (16, 1, 16, 16), 50, "ddim", 0.0, g)


def test_the_classifier_reads_held_out_digits_and_refuses_non_digits(classifier, data):
    x, y, _, held_out = data
    with torch.no_grad():
        predicted = classifier(x[held_out]).argmax(-1)
    assert (predicted == y[held_out]).float().mean() > 0.95
    junk = _junk(x, 64, torch.Generator().manual_seed(1))
    assert digit_confidence(classifier, junk).mean() < 0.2


def test_samples_are_classified_as_digits_with_high_confidence(classifier, samples):
    confidence = digit_confidence(classifier, samples)
    assert confidence.mean() >= MIN_CONFIDENCE, confidence.tolist()
    with torch.no_grad():
        classes = classifier(samples.clamp(-1, 1)).argmax(-1)
    assert len(set(classes.tolist())) >= 5  # many kinds of digit, not one memorised shape


def test_the_same_samples_with_their_pixels_shuffled_are_not_digits(classifier, samples):
    """The control: same ink, no strokes. What the model draws, not its brightness, counts."""
    g = torch.Generator().manual_seed(2)
    flat = samples.flatten(1)
    shuffled = flat.gather(1, torch.argsort(torch.rand(flat.shape, generator=g), dim=1))
    assert digit_confidence(classifier, shuffled.reshape(samples.shape)).mean() < 0.2
