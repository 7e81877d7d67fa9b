"""The plugin contract as plain functions, for the host's tests and for plugin authors.

A third-party plugin's own test can run every check with::

    from playground import testing

    def test_contract():
        testing.check_plugin("my_plugin")   # the entry-point name

Each check raises AssertionError saying what is wrong.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import pkgutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from playground import lanes, zerogpu
from playground.concept import Context
from playground.host import Host, check_endpoints, discovered_entry_points, load
from playground.models import ModelRegistry

if TYPE_CHECKING:
    import gradio as gr

    from playground.concept import Concept

LONG_TEXT = "x" * 100_000


# -- loading -----------------------------------------------------------------------------


@cache
def _installed_models() -> ModelRegistry:
    return load().registry


def context(concept: Concept | None = None) -> Context:
    """The context the app would hand ``concept``: every installed plugin's models (one
    registry per process, so each model loads once) and the concept's devices."""
    models = _installed_models()
    return Context(models) if concept is None else Context(models, concept.devices)


def load_plugin(name: str) -> Host:
    """A fresh host (own plugin manager and registry) holding just the named plugin."""
    host = Host(ModelRegistry()).load(discovered_entry_points([name]))
    record = host.plugins[name]
    assert record.ok, f"plugin {name!r} failed: {[(e.stage, e.message) for e in record.errors]}"
    assert record.concepts or record.models, f"plugin {name!r} registered nothing"
    return host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # any other host name needs a lookup, and that is the network
        return False


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Refuse every connection that leaves this machine while the block runs."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise AssertionError(f"tried to reach the network: {address}")
        return real_connect(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]  # undone below
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


def build_concept(concept: Concept) -> gr.Blocks:
    """Build one concept offline and check its endpoint names and its ``gpu`` names."""
    with no_network():
        blocks = concept.build(context(concept))
    check_endpoints(concept.id, blocks)
    zerogpu.targets(concept, blocks)
    lanes.functions(concept, blocks, concept.long)
    return blocks


def check_no_gradio_outside_tab(package: str) -> None:
    """Every module of the plugin's package but ``tab`` (and its tests) must not import gradio."""
    module = __import__(package, fromlist=["_"])
    names = [
        m.name
        for m in pkgutil.walk_packages(module.__path__, prefix=f"{package}.")
        if not m.name.endswith(".tab") and ".tests" not in m.name and ".tab." not in m.name
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    assert 'gradio' not in sys.modules, f'{name} imports gradio'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, (result.stderr.strip().splitlines() or ["(no output)"])[-1]


def plugin_package(host: Host, name: str) -> str:
    """The package a plugin's entry point lives in: ``plugins.softmax`` for the built-in."""
    module = host.plugins[name].module.split(":", 1)[0]
    return module.rsplit(".", 1)[0] if "." in module else module


def defaults(fn: Any, quick: Mapping[str, Mapping[str, Any]]) -> tuple:
    """An endpoint's arguments at its inputs' defaults, but for the concept's ``quick`` ones
    (cheap values where a default is long work); a ``quick`` label no input has fails."""
    overrides = dict(quick.get(fn.api_name, {}))
    values = []
    for component in fn.inputs:
        label = getattr(component, "label", None)
        values.append(overrides.pop(label) if label in overrides else component.value)
    assert not overrides, f"{fn.api_name}: quick names no input {', '.join(map(repr, overrides))}"
    return tuple(values)


def _public(blocks: gr.Blocks) -> list[Any]:
    return [fn for fn in blocks.fns.values() if fn.api_visibility == "public" and fn.api_name]


def check_keeps_serving(
    url: str, blocks: gr.Blocks, quick: Mapping[str, Mapping[str, Any]] | None = None
) -> None:
    """After bad input the server still answers: every public endpoint, called with the
    inputs' defaults (``quick`` where given), gets an answer (a result, or a gr.Error message
    for an empty default)."""
    for fn in _public(blocks):
        event, data = call_endpoint(url, fn.api_name, defaults(fn, quick or {}))
        assert event == "complete" or (event == "error" and data), (fn.api_name, event, data)


# -- bad input ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BadCall:
    """One call of an endpoint with one bad input (not `playground.inputs.BadInput`, the
    exception a view raises for it)."""

    api_name: str
    args: tuple  # every input at its default but one
    what: str  # what is bad about it, for the failure message
    must_fail: bool  # True: must answer with a gr.Error; False: a gr.Error or a result


def _bad_values(component: Any) -> list[tuple[Any, str, bool]]:
    import gradio as gr

    if isinstance(component, gr.Textbox):
        return [
            (LONG_TEXT, "100 000 characters", True),
            ("", "empty text", False),
            ("abc", "non-numeric text", False),
            ("nan", "the text 'nan'", False),
            ("inf", "the text 'inf'", False),
        ]
    if isinstance(component, gr.Number | gr.Slider):
        values = [(math.nan, "NaN", True), (math.inf, "inf", True), (-math.inf, "-inf", True)]
        if component.minimum is not None:
            values.append((component.minimum - 1, "below the minimum", True))
        if component.maximum is not None:
            values.append((component.maximum + 1, "above the maximum", True))
        return values
    if isinstance(component, gr.Dropdown | gr.Radio) and not getattr(
        component, "allow_custom_value", False
    ):
        return [("not-a-choice", "a value not among the choices", True)]
    return []


def bad_inputs(
    blocks: gr.Blocks, quick: Mapping[str, Mapping[str, Any]] | None = None
) -> list[BadCall]:
    """One call per (public endpoint, input, bad value), other inputs at their defaults
    (``quick`` where given)."""
    cases = []
    for fn in _public(blocks):
        base = defaults(fn, quick or {})
        for i, component in enumerate(fn.inputs):
            for value, what, must_fail in _bad_values(component):
                args = (*base[:i], value, *base[i + 1 :])
                label = getattr(component, "label", None) or type(component).__name__
                cases.append(BadCall(fn.api_name, args, f"{label}: {what}", must_fail))
    return cases


@contextlib.contextmanager
def serving(blocks: gr.Blocks) -> Iterator[str]:
    """Serve ``blocks`` on a free loopback port for the duration of the block."""
    blocks.queue()
    blocks.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    try:
        assert blocks.local_url is not None  # set by launch()
        yield blocks.local_url
    finally:
        blocks.close()


def call_endpoint(url: str, api_name: str, args: tuple, timeout: float = 60) -> tuple[str, Any]:
    """Call an endpoint over Gradio's HTTP API: ("complete", outputs) or ("error", message).

    Raw HTTP rather than gradio_client, so a hostile client's NaN and inf reach the server
    exactly as sent (Python's json writes them; gradio_client refuses to).
    """
    import httpx

    start = httpx.post(
        f"{url.rstrip('/')}/gradio_api/call/{api_name}",
        content=json.dumps({"data": list(args)}),
        headers={"content-type": "application/json"},
        timeout=timeout,
    )
    start.raise_for_status()
    event_id = start.json()["event_id"]
    stream = httpx.get(f"{url.rstrip('/')}/gradio_api/call/{api_name}/{event_id}", timeout=timeout)
    event, data = "", None
    for line in stream.text.splitlines():  # server-sent events: the last one is the answer
        if line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data = json.loads(line.removeprefix("data:"))
    if event == "error":
        return "error", (data or {}).get("error") if isinstance(data, dict) else data
    return event, data


SENDERS = 4  # bad inputs sent at once: most are refused in milliseconds, so waiting dominates


def check_bad_inputs(url: str, cases: list[BadCall]) -> None:
    """Each bad input gets a gr.Error message (never a bare crash), and serving goes on.

    The calls are sent a few at a time, as visitors would: each is its own session, so no
    answer depends on another's (and the tab's lane still runs its own work one at a time)."""
    with ThreadPoolExecutor(SENDERS) as pool:
        answers = list(pool.map(lambda c: call_endpoint(url, c.api_name, c.args), cases))
    problems = []
    for case, (event, data) in zip(cases, answers, strict=True):
        if event == "error" and not data:
            problems.append(f"{case.api_name} ({case.what}): crashed without a gr.Error message")
        elif event != "error" and case.must_fail:
            problems.append(f"{case.api_name} ({case.what}): accepted without a gr.Error")
    assert not problems, "\n".join(problems)


def _close(ours: Any, theirs: Any, atol: float, path: str = "") -> list[str]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if ours.keys() != theirs.keys():
            return [f"{path or 'numbers'}: keys {sorted(ours)} vs {sorted(theirs)}"]
        return [p for k in ours for p in _close(ours[k], theirs[k], atol, f"{path}.{k}")]
    if isinstance(ours, (list, tuple)) and isinstance(theirs, (list, tuple)):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} entries vs {len(theirs)}"]
        return [
            p
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for p in _close(a, b, atol, f"{path}[{i}]")
        ]
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        same = math.isclose(ours, theirs, rel_tol=atol, abs_tol=atol) or ours == theirs
        return [] if same else [f"{path}: {ours!r} on screen, {theirs!r} from the snippet"]
    return [] if ours == theirs else [f"{path}: {ours!r} on screen, {theirs!r} from the snippet"]


def check_snippet(export: Any, atol: float = 1e-5, timeout: float = 300) -> None:
    """An Export's snippet, run as a script in a fresh Python, prints the Export's numbers."""
    run = subprocess.run(
        [sys.executable, "-c", export.snippet],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, f"the exported snippet failed:\n{run.stderr[-2000:]}"
    printed = json.loads(run.stdout.strip().splitlines()[-1])
    problems = _close(export.numbers, printed, atol)
    assert not problems, "the snippet does not reproduce the screen:\n" + "\n".join(problems[:20])


def check_exercises(host: Host) -> None:
    """Each exercise's truth computes, and is one of its choices (or a finite number)."""
    from playground.exercise import Answer

    for exercise in host.exercises():
        answer = exercise.solve(context())
        assert isinstance(answer, Answer), f"{exercise.id}: solve() must return an Answer"
        assert answer.explanation.strip(), f"{exercise.id}: the reveal needs an explanation"
        if exercise.multiple:
            assert isinstance(answer.truth, tuple) and set(answer.truth) <= set(exercise.choices), (
                f"{exercise.id}: {answer.truth}"
            )
        elif exercise.choices:
            assert answer.truth in exercise.choices, f"{exercise.id}: {answer.truth!r}"
        else:
            assert not isinstance(answer.truth, tuple) and math.isfinite(float(answer.truth)), (
                f"{exercise.id}: {answer.truth!r}"
            )


def _comparable(value: Any) -> Any:
    """A value as plain data, to compare two computations of the same view."""
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _comparable(v) for k, v in value.items()}
    for method in ("to_plotly_json", "get_config"):  # a figure; a component as an update
        if callable(getattr(value, method, None)):
            return json.loads(json.dumps(getattr(value, method)(), default=str))
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a pandas table
        return value.to_dict("split")
    if hasattr(value, "tobytes"):  # numpy arrays, PIL images
        return (getattr(value, "shape", None) or getattr(value, "size", None), value.tobytes())
    return value


def check_shared_view(concept: Concept) -> None:
    """The tab's first view served from the host's shared cache (playground.opening) equals a
    fresh computation, event by event, at the controls' defaults."""
    from playground import opening

    if not concept.shared_view:
        return
    import gradio as gr

    blocks = build_concept(concept)
    heads = [fn for fn in blocks.fns.values() if (blocks._id, "load") in fn.targets]
    checked = 0
    for fn in opening.chain(blocks, heads):
        args = tuple(getattr(c, "value", None) for c in fn.inputs)
        stateful = any(isinstance(c, gr.State) for c in fn.outputs)  # the host never shares it
        if fn.fn is None or stateful or not opening.shareable(fn.fn, args):
            continue
        view = opening.shared(fn.fn)
        first, again = view(*args), view(*args)
        fresh = fn.fn(*args)
        assert _comparable(again) == _comparable(first) == _comparable(fresh), (
            f"{concept.id}: {fn.name}'s shared first view differs from a fresh computation"
        )
        checked += 1
    assert checked or not heads, f"{concept.id}: no first-view event could be shared"


# -- everything --------------------------------------------------------------------------


def check_plugin(name: str) -> None:
    """Run every contract check on one installed plugin, its tabs served with the process
    context holding every installed plugin's models (as in the app)."""
    host = load_plugin(name)
    check_no_gradio_outside_tab(plugin_package(host, name))
    check_exercises(host)
    for concept in host.concepts:
        check_shared_view(concept)
        blocks = build_concept(concept)
        with serving(blocks) as url:
            check_bad_inputs(url, bad_inputs(blocks, concept.quick))
            check_keeps_serving(url, blocks, concept.quick)
