"""The plugin contract: loads, builds offline, names its endpoints, refuses bad input."""

from playground import testing


def test_contract():
    testing.check_plugin("diffusion")
