"""The quantization tab's choices: torch-free, read by the math, the views and the layout alike."""

FORMATS = ("int8", "int4", "int2", "nf4", "fp8-e4m3", "fp8-e5m2")
GRANULARITIES = ("tensor", "channel", "group")  # one scale per tensor, per output row, per group
CALIBRATION_SOURCES = ("stories", "random tokens", "one repeated token")  # static activations
