"""The built-in concept plugins, each registered through the `playground` entry-point group."""
