"""Faults: broken plugins, broken or missing model files, an unreachable hub, a full disk, a
cancelled training run and a client that leaves mid-stream. Each gives a clear message and
the app keeps serving; no cache file is left half-written.

tests/test_host.py already checks each broken plugin's *record* and that the app still builds
its other tabs; here the app composed with all of them at once is served and called.
"""

from __future__ import annotations

import dataclasses
import errno
import shutil
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client

from playground import testing
from playground.app import create_app
from playground.concept import Context
from playground.host import Host, discovered_entry_points, load
from playground.inputs import guard
from playground.models import ModelRegistry, ModelSpec, ModelUnavailable
from plugins.models import language, paths
from tests.helpers import FIXTURE_PLUGINS
from tests.load.client import call, healthy

RAISES_IN_EVENT = '''
"""A plugin whose tab builds, but one of its two events raises on every call."""
import gradio as gr
from playground import Concept, hookimpl

def explode(text):
    raise RuntimeError("the event broke")

def echo(text):
    return text

def build(_context):
    with gr.Blocks() as tab:
        box, out = gr.Textbox(), gr.Textbox()
        box.submit(explode, box, out, api_name="boom_explode")
        box.change(echo, box, out, api_name="boom_echo")
    return tab

@hookimpl
def register_concepts(register):
    register(Concept(id="boom", title="Boom", summary="Raises.", build=build, order=60))
'''
BROKEN = ("broken_import", "broken_validation", "broken_hook", "broken_build", "raises_in_event")
STAGES = {"broken_import": "import", "broken_validation": "validation"}
STAGES |= {"broken_hook": "hook call", "broken_build": "build"}


def _ep(name: str) -> EntryPoint:
    return EntryPoint(name=name, value=name, group="playground")


@pytest.fixture
def every_kind_of_broken(tmp_path, monkeypatch):
    """The app with softmax, a healthy fixture plugin and one plugin broken at each stage."""
    (tmp_path / "raises_in_event.py").write_text(RAISES_IN_EVENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))
    eps = [*discovered_entry_points(["softmax"]), _ep("sample_ok"), *map(_ep, BROKEN)]
    host = Host(ModelRegistry()).load(eps)
    app = create_app(host)
    yield host, app
    sys.modules.pop("raises_in_event", None)


def test_a_plugin_broken_at_any_stage_leaves_every_other_tab_serving(every_kind_of_broken):
    host, app = every_kind_of_broken
    for name, stage in STAGES.items():
        assert [e.stage for e in host.plugins[name].errors] == [stage], name
    assert host.plugins["raises_in_event"].ok  # its failure shows only when the event runs
    with testing.serving(app) as url:
        event, data = testing.call_endpoint(url, "boom_explode", ("hi",))
        assert event == "error" and "Boom hit an unexpected error (error id" in data
        assert testing.call_endpoint(url, "boom_echo", ("still here",)) == (
            "complete",
            ["still here"],
        )
        quick = {name: args for c in host.concepts for name, args in c.quick.items()}
        for fn in app.fns.values():  # every other public endpoint of every tab, at its defaults
            if fn.api_visibility == "public" and fn.api_name and fn.api_name != "boom_explode":
                args = testing.defaults(fn, quick)
                event, data = testing.call_endpoint(url, fn.api_name, args)
                assert event == "complete" or (event == "error" and data), (fn.api_name, event)
        assert testing.call_endpoint(url, "sample_greet", ("Ada",)) == (
            "complete",
            ["Hello, Ada!"],
        )
        assert healthy(url)


# -- model files ----------------------------------------------------------------------------


def _registry_with(spec: ModelSpec) -> ModelRegistry:
    registry = ModelRegistry()
    for other in load(registry=ModelRegistry()).registry.specs():
        registry.register(spec if other.id == spec.id else other)
    return registry


def _damaged(tmp_path: Path, folder: Path, weights: str, how: str) -> Path:
    """A copy of a bundled model folder with its weight file removed or cut short."""
    copy = shutil.copytree(folder, tmp_path / folder.name)
    if how == "missing":
        (copy / weights).unlink()
    else:
        (copy / weights).write_bytes((copy / weights).read_bytes()[:1000])
    return copy


def _gpt_model(context, model_id):
    from plugins.gpt import views

    return guard(views.load_model)(context, model_id)  # as the tab's handlers answer: a gr.Error


def _moe_model(context, model_id):
    from plugins.moe import views

    return guard(views.load)(context, model_id)


def _diffusion_model(context, model_id):
    from plugins.diffusion import views

    return guard(views.load_model)(context, model_id)


CASES = {
    "tiny-llama": (paths.DENSE_DIR, paths.WEIGHTS, _gpt_model),
    "tiny-mixtral": (paths.MOE_DIR, paths.WEIGHTS, _moe_model),
    "digits-unet": (paths.DIGITS_DIR, "diffusion_pytorch_model.safetensors", _diffusion_model),
}


def _loader(model_id: str, copy: Path):
    if model_id == "digits-unet":
        from plugins.models.denoisers import load_digits_unet

        return lambda device: load_digits_unet(device, copy)
    return language.load_bundled_lm(copy)


@pytest.mark.parametrize("how", ["missing", "corrupt"])
@pytest.mark.parametrize("model_id", list(CASES))
def test_a_missing_or_corrupt_weight_file_is_a_message_in_the_tab(
    tmp_path, monkeypatch, model_id, how
):
    folder, weights, tab_loads = CASES[model_id]
    copy = _damaged(tmp_path, folder, weights, how)
    real = load(registry=ModelRegistry()).registry.spec(model_id)
    spec = dataclasses.replace(
        real, load=_loader(model_id, copy), unavailable=language.missing_weights(copy, weights)
    )
    with pytest.raises(gr.Error) as caught:
        tab_loads(Context(_registry_with(spec)), model_id)
    message = str(caught.value.message)
    assert str(copy / weights) in message  # names the file
    assert ("missing" if how == "missing" else "could not be loaded") in message
    assert (folder / weights).stat().st_size > 1000  # the real asset is untouched


def test_a_model_missing_from_the_registry_is_refused_by_name():
    with pytest.raises(gr.Error, match="Unknown model 'tiny-llama'"):
        _gpt_model(Context(ModelRegistry()), "tiny-llama")


def test_an_unreachable_hub_says_so_quickly(monkeypatch):
    """Hub models not in the cache, online mode, and no network: a reason, within seconds."""
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    language._hub_answers.cache_clear()
    registry = load(registry=ModelRegistry()).registry
    started = time.monotonic()
    try:
        with testing.no_network():
            reason = registry.spec("gpt2").unavailable()
            with pytest.raises(gr.Error, match="hub did not answer"):
                _gpt_model(Context(registry), "gpt2")
            with pytest.raises(ModelUnavailable, match="hub did not answer"):
                registry.get("gpt2", "cpu")
    finally:
        language._hub_answers.cache_clear()
    assert "the hub did not answer" in reason
    assert time.monotonic() - started < 60  # never hangs: the hub check has a 3 s timeout


# -- a full disk ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    return load(registry=ModelRegistry()).registry.get("minilm", "cpu")


@pytest.mark.parametrize("partial", [False, True], ids=["nothing-written", "half-written"])
def test_a_full_disk_keeps_the_index_in_memory_and_leaves_no_file(
    tmp_path, monkeypatch, minilm, partial
):
    from plugins.embeddings import encoding

    def disk_full(tensors, filename, metadata=None):
        if partial:
            Path(filename).write_bytes(b"\0" * 4096)  # what a write that ran out looks like
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr(encoding, "save_file", disk_full)
    words = ["king", "queen", "man", "woman", "paris", "france"]
    index = encoding.load_or_build(minilm, "cpu", words=words, folder=tmp_path / "cache")
    assert index.built and index.unit.shape == (len(words), 384)
    leftovers = list((tmp_path / "cache").iterdir()) if (tmp_path / "cache").exists() else []
    assert leftovers == []  # neither the index nor a temporary file
    monkeypatch.undo()
    again = encoding.load_or_build(minilm, "cpu", words=words, folder=tmp_path / "cache")
    assert again.built and again.path.is_file()  # with room again, it is cached
    assert not [p for p in again.path.parent.iterdir() if p.suffix == ".tmp"]


# -- training: cancelled, and a client that leaves mid-stream -------------------------------


@pytest.fixture(scope="module")
def training_endpoints(server) -> dict[str, list]:
    """Every public training endpoint (a streaming run), with its default arguments."""
    api = Client(server, verbose=False).view_api(return_format="dict", print_info=False)
    found = {
        name: [p.get("parameter_default") for p in endpoint["parameters"]]
        for name, endpoint in api["named_endpoints"].items()
        if name.endswith("_train")
    }
    assert {"/moe_train", "/diffusion_train"} <= set(found)
    return found


@pytest.mark.slow
def test_a_cancelled_training_run_stops_and_the_tab_serves_again(server, training_endpoints):
    # Gradio answers a cancel once the run's current step has ended: on a busy machine that
    # can outlast httpx's 5 s default, which is not what this test is about.
    client = Client(server, verbose=False, httpx_kwargs={"timeout": 120})
    for name, args in training_endpoints.items():
        job = client.submit(*args, api_name=name)
        deadline = time.monotonic() + 120
        while not job.outputs() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert job.outputs(), f"{name} streamed nothing within 120 s"
        job.cancel()  # an API client's cancel (a tab's Stop button ends a run at its next update)
        # The same tab's worker is free again: a new run streams its first chunk.
        answer = call(server, name, args, deadline_s=120)
        assert answer.event == "generating", (name, answer.event, answer.data)
    assert healthy(server)


@pytest.mark.slow
def test_a_client_leaving_mid_stream_ends_its_run(server, training_endpoints):
    """A default run lasts longer than its first chunk takes (diffusion: 300 steps, capped at
    30 s); if leaving did not end it, the next run on the same worker would wait for it.
    The bound is generous, for a shared machine: this is not a speed test."""
    for name, args in training_endpoints.items():
        first = call(server, name, args, deadline_s=120)  # reads one chunk, then hangs up
        assert first.event == "generating", (name, first.event, first.data)
        second = call(server, name, args, deadline_s=120)
        assert second.event == "generating", (name, second.event)
        assert second.seconds < first.seconds + 20, f"{name}: the abandoned run kept running"
    assert healthy(server)
