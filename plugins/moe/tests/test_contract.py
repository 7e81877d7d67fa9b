"""The plugin contract on the moe plugin: loads, builds offline, refuses bad input."""

from playground import testing


def test_contract():
    testing.check_plugin("moe")
