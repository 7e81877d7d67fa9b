"""The plugin contract, checked on every installed plugin with `playground.testing`."""

from __future__ import annotations

import pytest

from playground import testing
from playground.host import discovered_entry_points, load
from playground.models import ModelRegistry

PLUGINS = [ep.name for ep in discovered_entry_points()]


@pytest.fixture(params=PLUGINS, scope="module")
def plugin(request):
    return request.param, testing.load_plugin(request.param)


def test_plugins_are_discovered():
    assert "softmax" in PLUGINS


def test_all_plugins_load_together_with_unique_ids():
    host = load(registry=ModelRegistry())
    assert all(record.ok for record in host.plugins.values()), {
        name: record.errors for name, record in host.plugins.items() if not record.ok
    }
    ids = [c.id for c in host.concepts]
    assert len(ids) == len(set(ids))


def test_loads_validates_and_registers(plugin):
    name, host = plugin
    record = host.plugins[name]
    assert record.ok and record.hooks
    assert set(record.hooks) <= {
        "register_commands",
        "register_concepts",
        "register_exercises",
        "register_models",
    }


def test_every_exercise_solves_on_the_real_model(plugin):
    _, host = plugin
    testing.check_exercises(host)


def test_every_concept_builds_offline_with_prefixed_endpoints(plugin):
    _, host = plugin
    for concept in host.concepts:
        blocks = testing.build_concept(concept)
        public = [fn for fn in blocks.fns.values() if fn.api_visibility == "public"]
        assert public, f"{concept.id} has no public endpoint"


def test_math_modules_import_no_gradio(plugin):
    name, host = plugin
    testing.check_no_gradio_outside_tab(testing.plugin_package(host, name))


@pytest.mark.slow
def test_every_endpoint_answers_bad_input_with_a_message_and_keeps_serving(plugin):
    _, host = plugin
    for concept in host.concepts:
        blocks = testing.build_concept(concept)
        cases = testing.bad_inputs(blocks, concept.quick)
        assert any(case.must_fail for case in cases)
        with testing.serving(blocks) as url:
            testing.check_bad_inputs(url, cases)
            testing.check_keeps_serving(url, blocks, concept.quick)


def test_no_network_refuses_to_leave_the_machine():
    import socket

    with testing.no_network(), pytest.raises(AssertionError, match="network"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)  # TEST-NET-1: never routed


def test_every_first_view_is_shared_only_where_it_equals_a_fresh_one(plugin):
    _, host = plugin
    for concept in host.concepts:
        testing.check_shared_view(concept)
