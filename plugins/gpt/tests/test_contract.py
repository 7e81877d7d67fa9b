"""The plugin contract from `playground.testing`: loads, builds offline, refuses bad input."""

from playground import testing


def test_gpt_plugin_meets_the_contract():
    testing.check_plugin("gpt")
