"""The diffusion tab's public endpoints through gradio_client, as an API user calls them."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from playground import host, testing


@pytest.fixture(scope="module")
def client():
    host.load(["models"])
    (concept,) = testing.load_plugin("diffusion").concepts
    with testing.serving(testing.build_concept(concept)) as url:
        yield Client(url, verbose=False)


def test_the_public_endpoints_are_the_tabs_main_actions(client):
    names = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    verbs = ("forward", "sample", "compare", "toy", "train", "text_to_image", "export", "diff")
    assert names == {f"/diffusion_{verb}" for verb in verbs}


def test_an_uploaded_photo_is_noised_at_the_chosen_step(client, tmp_path):
    path = tmp_path / "sunset.jpg"
    Image.new("RGB", (640, 480), (250, 120, 30)).save(path)
    clean, _, noisy, numbers, _ = client.predict(
        handle_file(str(path)), 0, "cosine", 600, 1, api_name="/diffusion_forward"
    )
    assert "**sunset.jpg**" in numbers and "t = 600" in numbers
    with Image.open(clean) as a, Image.open(noisy) as b:
        assert a.size == b.size == (256, 192)  # shrunk to 256 px, aspect kept
        assert a.tobytes() != b.tobytes()


def test_ten_ddim_steps_give_sixteen_samples(client):
    *_, gallery, summary = client.predict("ddim", 10, 0, 0, 16, api_name="/diffusion_sample")
    assert len(gallery) == 16 and "**16 samples**, DDIM with 10 steps" in summary


def test_bad_input_gets_a_message_and_the_server_goes_on(client, tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("not a picture")
    with pytest.raises(AppError, match="is not an image that can be read"):
        client.predict(handle_file(str(path)), 0, "linear", 10, 0, api_name="/diffusion_forward")
    with pytest.raises(AppError, match=r"Samples must be a whole number from 1 to 16, not 2\.5"):
        client.predict("ddim", 10, 0, 0, 2.5, api_name="/diffusion_sample")
    *_, numbers, _ = client.predict(None, 2, "linear", 10, 0, api_name="/diffusion_forward")
    assert "bundled digit" in numbers
