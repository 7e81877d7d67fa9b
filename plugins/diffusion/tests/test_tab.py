"""The tab's handlers on the bundled models, without a browser: what they refuse, and that
each part shows the real numbers and pictures."""

from __future__ import annotations

import gradio as gr
import pytest
import torch
from PIL import Image

from playground import testing
from playground.inputs import guard
from plugins.diffusion import compute, images, tab, views

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def on():
    return tab.events(testing.context())  # the tab's handlers, bound as build binds them


def pixels(im: Image.Image) -> torch.Tensor:
    return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).float()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda on: tab.on_forward(None, 0, "quadratic", 10, 0),
            "The schedule must be one of linear",
        ),
        (lambda on: tab.on_forward(None, 0, "linear", 1001, 0), "from 0 to 1,000"),
        (lambda on: tab.on_forward(None, 0, "linear", 2.5, 0), "t must be a whole number"),
        (lambda on: tab.on_forward(None, 16, "linear", 10, 0), "bundled digit must be"),
        (lambda on: tab.on_forward(None, 0, "linear", 10, float("nan")), "seed must be"),
        (lambda on: on.sample("euler", 10, 0, 0, 4), "sampler must be one of ddpm, ddim"),
        (
            lambda on: on.sample("ddim", 0, 0, 0, 4),
            "Steps must be a whole number from 1 to 1,000",
        ),
        (lambda on: on.sample("ddim", 1001, 0, 0, 4), "from 1 to 1,000"),
        (lambda on: on.sample("ddim", 10, 1.5, 0, 4), "η must be a number from 0 to 1"),
        (
            lambda on: on.sample("ddim", 10, 0, 0, 17),
            "Samples must be a whole number from 1 to 16",
        ),
        (lambda on: next(on.compare(17, 25, 0, 10, 0)), "Samples must be .* 1 to 16"),
        (lambda on: next(on.compare(2, 5, 0, 10, 0)), "from 10 to 100"),
        (lambda on: on.toy(2001, 10, 0), "Points must be a whole number from 1 to 2,000"),
        (lambda on: next(on.train(2001, 0)), "from 1 to 2,000"),
        (lambda on: tab.on_step_to(None, 1), "Run the sampler first"),
        (lambda on: on.trained(None), "Train a model first"),
        (lambda on: on.t2i("tiny-sd", "", 10, 0), "prompt must be 1 to 300"),
        (lambda on: on.t2i("tiny-sd", "x" * 301, 10, 0), "prompt must be 1 to 300"),
        (lambda on: on.t2i("dall-e", "a cat", 10, 0), "The model must be one of"),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(on, call, message):
    with pytest.raises(gr.Error, match=message):
        call(on)


# ---------------------------------------------------------------------------- uploads


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.txt", b"just some text", "is not an image that can be read"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "is not an image that can be read"),
        ("huge.png", b"\x00" * (5 * 1024 * 1024 + 1), "at most 5 MB"),
    ],
)
def test_a_bad_upload_gets_a_message(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(gr.Error, match=message):
        tab.on_forward(str(path), 0, "linear", 10, 0)


def test_a_large_transparent_upload_is_shrunk_and_put_on_white(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGBA", (900, 300), (255, 0, 0, 0)).save(path)  # fully transparent
    x0 = images.load_upload(path)
    assert x0.shape == (3, 85, 256)  # longer side 256, aspect kept
    torch.testing.assert_close(x0, torch.ones_like(x0))  # white, not black
    clean, _, noisy, numbers, _ = tab.on_forward(str(path), 0, "cosine", 0, 0)
    assert clean.size == noisy.size == (256, 85) and "big.png" in numbers


# ---------------------------------------------------------------------------- forward process


def test_the_timestep_slider_adds_noise_by_the_closed_form():
    clean, _, at_0, numbers, plot = tab.on_forward(None, 3, "linear", 0, 7)
    assert pixels(at_0).equal(pixels(clean))  # t = 0: nothing added yet
    assert "ᾱ_t = **1.0000**" in numbers
    _, _, at_500, numbers, _ = tab.on_forward(None, 3, "linear", 500, 7)
    abar = compute.curves()["linear"][500]
    assert f"ᾱ_t = **{abar:.4f}**" in numbers and f"{abar**0.5:.4f}" in numbers
    assert (pixels(at_500) - pixels(clean)).abs().mean() > 30
    assert len(plot.data) == 4  # three schedules and the marker at t


def test_more_noise_means_less_correlation_with_the_image():
    def corr(t: int) -> float:
        digit = compute.digits()[0][5]
        return compute.forward(digit, "cosine", t, 0, True).correlation

    values = [corr(t) for t in (1, 200, 500, 800, 1000)]
    assert values == sorted(values, reverse=True) and values[0] > 0.99 and values[-1] < 0.1


# ---------------------------------------------------------------------------- reverse process


def test_sampling_a_grid_keeps_every_step_for_stepping_through(on):
    frames, at, x_t, _, _, note, gallery, summary = on.sample("ddim", 10, 0, 0, 16)
    assert len(gallery) == 16 and frames.count == 10 and frames.final.shape == (16, 1, 16, 16)
    assert "Step **1 of 10** (timestep t = 900)" in note and "**16 samples**" in summary
    assert at["maximum"] == 9 and at["value"] == 0
    last = tab.on_step_to(frames, 9)
    assert "Step **10 of 10** (timestep t = 0)" in last[-1]
    assert not pixels(last[1]).equal(pixels(x_t))  # noise at the start, a digit at the end
    clamped = tab.on_step_to(frames, 99)
    assert "Step **10 of 10**" in clamped[-1]


def test_a_long_run_keeps_an_even_spread_of_its_steps():
    kept = compute.kept_steps(1000)
    assert len(kept) == compute.MAX_FRAMES and kept[0] == 0 and kept[-1] == 999
    assert compute.kept_steps(30) == list(range(30))


def test_the_animation_is_a_gif_with_a_frame_per_kept_step(on):
    frames, *_ = on.sample("ddpm", 6, 0, 1, 4)
    with Image.open(tab.on_animate(frames)["value"]) as gif:
        assert gif.format == "GIF" and gif.n_frames == 6


def test_compare_runs_four_schedulers_from_the_same_noise_and_counts_model_calls(on):
    *_, (rows, gallery) = on.compare(2, 10, 0.5, 20, 3)
    assert [row[0] for row in rows] == ["ddpm", "DDIM, η = 0.5", "euler", "DPM-Solver++"]
    assert [row[1:3] for row in rows] == [[20, 20], [10, 10], [10, 10], [10, 10]]
    assert len(gallery) == 4 and all(row[3] > 0 for row in rows)


# ---------------------------------------------------------------------------- 2-D, training


def test_the_2d_view_moves_points_onto_the_moons_and_draws_the_score(on):
    traj, _, _, note = on.toy(300, 20, 0)
    assert traj.points.shape == (21, 300, 2) and len(traj.timesteps) == 20
    end = compute.nearest_distance(traj.points[-1], compute.moons())
    start = compute.nearest_distance(traj.points[0], compute.moons())
    assert end < 0.3 * start and f"**{end:.3f}**" in note
    names = [trace.name for trace in on.toy_step(traj, 0).data]
    assert "learned score ∇log p_t" in names and "trajectories" in names


def test_training_live_reports_progress_then_samples_and_can_be_stopped(on, monkeypatch):
    updates = list(on.train(60, 0))
    _, curve, status, scatter = updates[-1]
    assert "Step **60 of 60**" in status and len(curve.data[0].y) == 60
    assert scatter.data[-1].name == "samples now" and len(scatter.data[-1].x) == 1000
    assert len(updates) == 60 // 25 + 2  # every 25 steps, the last step, then the samples
    monkeypatch.setattr(views, "TRAIN_MAX_SECONDS", 0.0)
    *_, (_, _, status, _) = on.train(500, 0)
    assert "Step **1 of 500**" in status and "stopped at the 0 s limit" in status


def test_text_to_image_says_why_it_is_not_available_here(on):
    assert "Not available here" in on.t2i_note("tiny-sd")
    with pytest.raises(gr.Error, match=r"not available here: .*(GPU|cache)"):
        on.t2i("tiny-sd", "a cat", 10, 0)


@pytest.mark.parametrize(
    ("schedule", "t"), [("linear", 250), ("scaled-linear", 1000), ("cosine", 0)]
)
@pytest.mark.slow
def test_the_exported_script_reproduces_the_forward_process_with_diffusers(schedule, t):
    result = views.export(None, 3, schedule, t, 7)
    assert 0 <= result.numbers["alpha_bar"] <= 1
    testing.check_snippet(result, atol=1e-5)


def test_the_export_refuses_an_upload_it_cannot_reproduce():
    with pytest.raises(gr.Error, match="clear your image"):
        guard(views.export)("/tmp/some.png", 0, "linear", 10, 0)
