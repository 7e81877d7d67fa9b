"""The host: discovery, the four stages of isolation, the registry, the composed app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import EntryPoint

import gradio as gr
import pytest

from playground import Concept, ModelSpec, devices, testing
from playground.app import create_app
from playground.host import Host, discovered_entry_points, load
from playground.models import ModelRegistry, ModelUnavailable
from tests.helpers import FIXTURE_PLUGINS, write_dist


@pytest.fixture(autouse=True)
def fixture_plugins_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURE_PLUGINS))


def ep(name: str, module: str | None = None) -> EntryPoint:
    return EntryPoint(name=name, value=module or name, group="playground")


def host_with(*names: str) -> Host:
    return Host(ModelRegistry()).load([ep(n) for n in names])


def test_a_healthy_plugin_registers_its_concept_and_model():
    host = host_with("sample_ok")
    record = host.plugins["sample_ok"]
    assert record.ok
    assert record.hooks == ["register_concepts", "register_models"]
    assert record.concepts == ["sample"] and record.models == ["sample-model"]
    assert host.concepts[0].plugin == "sample_ok"
    assert host.registry.spec("sample-model").plugin == "sample_ok"


@pytest.mark.parametrize(
    ("plugin", "stage", "message"),
    [
        ("broken_import", "import", "this plugin cannot be imported"),
        ("no_such_module", "import", "No module named 'no_such_module'"),
        ("broken_validation", "validation", "register_concept"),
        ("broken_signature", "validation", "app"),
        ("broken_hook", "hook call", "the hook broke half-way"),
        ("not_a_concept", "hook call", "register() takes a Concept"),
    ],
)
def test_a_plugin_broken_before_build_costs_only_itself(plugin, stage, message):
    host = host_with("sample_ok", plugin)
    record = host.plugins[plugin]
    assert [e.stage for e in record.errors] == [stage]
    assert message in record.errors[0].message
    assert "Traceback" in record.errors[0].detail
    assert record.concepts == []  # a hook that raised keeps nothing it registered
    assert [c.id for c in host.concepts] == ["sample"]
    assert host.plugins["sample_ok"].ok


def test_a_failed_validation_unregisters_the_plugin():
    host = host_with("broken_validation", "sample_ok")
    assert not host.pm.has_plugin("broken_validation")
    assert host.pm.has_plugin("sample_ok")


def test_a_second_plugin_cannot_take_a_concept_id():
    host = host_with("sample_ok", "duplicate_id")
    error = host.plugins["duplicate_id"].errors[0]
    assert error.stage == "hook call"
    assert "'sample' is already registered by sample_ok" in error.message
    assert host.concepts[0].title == "Sample"


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        ("broken_build", "the tab cannot be built"),
        ("bad_endpoint", "endpoint 'shout' must be named 'loud_<verb>'"),
    ],
)
def test_a_broken_build_costs_only_its_tab(plugin, message):
    host = host_with("sample_ok", plugin)
    app = create_app(host)
    error = host.plugins[plugin].errors[0]
    assert error.stage == "build" and message in error.message
    tab_ids = {b.id for b in app.blocks.values() if isinstance(b, gr.Tab)}
    assert tab_ids == {"home", "sample", "plugins"}
    assert "sample_greet" in {fn.api_name for fn in app.fns.values()}


def test_the_app_has_home_every_concept_and_plugins_in_order():
    host = Host(ModelRegistry()).load([*discovered_entry_points(["softmax"]), ep("sample_ok")])
    app = create_app(host)
    tabs = [b for b in app.blocks.values() if isinstance(b, gr.Tab)]
    assert [t.id for t in tabs] == ["home", "softmax", "sample", "plugins"]  # by order=10, 50
    public = {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"}
    assert public == {
        "softmax_compute",
        "softmax_preset",
        "softmax_export",
        "softmax_diff",
        "softmax_exercise",
        "sample_greet",
    }


def test_composing_skips_only_the_servers_gradio_never_serves():
    import playground.app

    with pytest.raises(RuntimeError, match="mid-build"), playground.app._composing():
        with gr.Blocks() as inside:
            gr.Markdown("x")
        assert inside.app is None and inside.config is None  # composed, not served
        raise RuntimeError("mid-build")
    with gr.Blocks() as after:
        gr.Markdown("x")
    assert after.app and after.config  # outside, even after a failed build, Gradio is as it was
    app = create_app(host_with("sample_ok"))
    with testing.serving(app) as url:
        assert testing.call_endpoint(url, "sample_greet", ("Ada",))[0] == "complete"


def test_only_loads_the_named_plugins():
    assert [e.name for e in discovered_entry_points(["softmax"])] == ["softmax"]
    with pytest.raises(ValueError, match="no such plugin: nope"):
        discovered_entry_points(["softmax", "nope"])


def test_the_environment_variable_limits_plugins(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_LOAD_PLUGINS", "softmax")
    assert [e.name for e in discovered_entry_points()] == ["softmax"]


def test_built_ins_are_entry_points_like_any_plugin():
    record = load(["softmax"], registry=ModelRegistry()).plugins["softmax"]
    assert record.distribution == "ml-playground" and record.version
    assert record.module == "plugins.softmax.plugin"


def test_concept_records_reject_bad_ids_and_areas():
    with pytest.raises(ValueError, match="must be a slug"):
        Concept(id="Bad Id", title="t", summary="s", build=lambda _context: gr.Blocks())
    with pytest.raises(ValueError, match="area"):
        Concept(id="ok", title="t", summary="s", build=lambda _context: gr.Blocks(), area="physics")
    with pytest.raises(ValueError, match="title"):
        Concept(id="ok", title=" ", summary="s", build=lambda _context: gr.Blocks())


class Toy:
    def __init__(self, device: str) -> None:
        self.device, self.training = device, True

    def eval(self) -> None:
        self.training = False


def test_the_registry_loads_lazily_once_per_device_in_eval_mode():
    calls = []
    registry = ModelRegistry()

    def load(device):
        calls.append(device)
        return Toy(device)

    registry.register(ModelSpec(id="toy", title="Toy", task="toy-denoiser", load=load))
    assert calls == [] and not registry.is_loaded("toy")  # registering loads nothing
    first = registry.get("toy", "cpu")
    assert registry.get("toy", "cpu") is first and calls == ["cpu"]
    assert first.training is False and registry.is_loaded("toy")
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ModelSpec(id="toy", title="Toy", task="toy-denoiser", load=load))
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        registry.get("nope")


def test_the_registry_loads_once_under_concurrent_requests():
    calls = []
    registry = ModelRegistry()

    def slow_load(device):
        calls.append(device)
        time.sleep(0.2)
        return Toy(device)

    registry.register(ModelSpec(id="slow", title="Slow", task="toy-denoiser", load=slow_load))
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: registry.get("slow", "cpu"), range(4)))
    assert calls == ["cpu"] and all(m is models[0] for m in models)


def test_an_unavailable_model_says_why_and_is_never_loaded():
    registry = ModelRegistry()
    spec = ModelSpec(
        id="hub",
        title="Hub model",
        task="causal-lm",
        load=print,
        source="hub",
        unavailable=lambda: "not in the local cache",
    )
    registry.register(spec)
    assert registry.specs() == [spec] and registry.specs(only_available=True) == []
    row = registry.listing()[0]
    assert row["available"] is False and row["why_unavailable"] == "not in the local cache"
    with pytest.raises(ModelUnavailable, match="Hub model is not available here: not in"):
        registry.get("hub", "cpu")


def test_model_specs_reject_bad_ids_and_tasks():
    with pytest.raises(ValueError, match="lowercase"):
        ModelSpec(id="Bad Id", title="t", task="causal-lm", load=print)
    with pytest.raises(ValueError, match="task"):
        ModelSpec(id="ok-id", title="t", task="Magic Task!", load=print)
    # tasks are open: a plugin may name what its models are, as a lowercase slug
    assert ModelSpec(id="ok-id", title="t", task="speech-to-text", load=print).task


def test_devices_are_chosen_in_one_place(monkeypatch):
    monkeypatch.delenv(devices.ENV_VAR, raising=False)
    assert devices.preferred() == devices.available()[0]
    monkeypatch.setenv(devices.ENV_VAR, "cpu")
    assert devices.device() == "cpu"
    assert devices.device(supported=("cuda",)) == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        devices.check("tpu")
    if "cuda" not in devices.available():
        with pytest.raises(ValueError, match="not available"):
            devices.set_preferred("cuda")


def test_an_installed_broken_plugin_is_reported_beside_the_working_ones(tmp_path):
    write_dist(tmp_path, "broken_demo", "broken_build")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(FIXTURE_PLUGINS)])}
    out = subprocess.run(
        [sys.executable, "-m", "playground", "plugins", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    records = {r["name"]: r for r in json.loads(out)}
    assert records["softmax"]["ok"]
    broken = records["broken_demo"]
    assert not broken["ok"] and broken["distribution"] == "broken_demo"
    assert broken["errors"][0]["stage"] == "build"


def test_lazy_imports_its_target_only_when_called():
    import sys

    from playground import lazy

    sys.modules.pop("colorsys", None)
    to_hls = lazy("colorsys:rgb_to_hls")
    assert "colorsys" not in sys.modules  # naming it imported nothing
    assert to_hls(1.0, 0.0, 0.0) == (0.0, 0.5, 1.0)
    assert "colorsys:rgb_to_hls" in repr(to_hls)
    for bad in ("colorsys", ":rgb_to_hls", "colorsys:not a name"):
        with pytest.raises(ValueError, match=r"must read 'package\.module:function'"):
            lazy(bad)
    with pytest.raises(ModuleNotFoundError):
        lazy("no_such_module_here:build")()
