"""The one place the playground silences library notices it cannot fix where it calls them.

A warning our own call causes is fixed at that call. What is left here is said by a library
about itself or about another library, on every server start or every run, and each filter
matches that one message and says why it is not ours to fix: anything else a library says
still reaches the log. `playground serve` calls `quiet()` at start-up, and so does the pytest
plugin, so the tests see what a visitor's server logs.
"""

from __future__ import annotations

import logging
import re
import warnings


class _Drop(logging.Filter):
    """Drops the records of one logger whose message contains ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def _drop(logger: str, text: str) -> None:
    # Before the library is imported too: it gets this same logger by its name.
    logging.getLogger(logger).addFilter(_Drop(text))


# (message, category, module) of each library warning we cannot fix at our call; `quiet`
# ignores them in the server, and the pytest plugin hands them to pytest, which resets the
# filters around every test.
WARNINGS = [
    # peft's get_peft_model reads transformers' `is_gradient_checkpointing`, which
    # transformers 5 deprecates: the LoRA tab only calls get_peft_model, once per training.
    ("`is_gradient_checkpointing` is deprecated", FutureWarning, "transformers.modeling_utils"),
    # torch.utils.mkldnn, which torch.fx imports (and peft, bitsandbytes and diffusers import
    # torch.fx), still defines its modules with torch's own deprecated `torch.jit.script_method`.
    ("`torch.jit.script_method` is deprecated", DeprecationWarning, "torch"),
    # diffusers' Euler and DPM-Solver schedulers call np.array on a torch tensor, whose
    # __array__ has no `copy` argument yet: their set_timesteps, not our call.
    (
        "__array__ implementation doesn't accept a copy keyword",
        DeprecationWarning,
        "diffusers.schedulers",
    ),
]


def quiet() -> None:
    """Install the filters below, once, before the libraries are imported."""
    for message, category, module in WARNINGS:
        warnings.filterwarnings("ignore", re.escape(message), category, module)
    # diffusers imports torchao whenever it loads a model (our digits UNet too), and torchao
    # tries every kernel library in its wheel: those built for CUDA and for CPython 3.10 fail
    # to load here, one warning each. None of our code uses them.
    _drop("torchao", "Failed to load ")
    # Importing torchao registers its enums as pytree constants, which torch 2.13 deprecates:
    # torchao's import, not our call.
    _drop("torch.utils._pytree", "is an Enum subclass and is now natively supported")
    # diffusers looks for torchao classes that torchao 0.18 moved; it matters only for
    # torchao-serialized checkpoints, which we never load.
    _drop("diffusers.quantizers.torchao.torchao_quantizer", "Unable to import `torchao` Tensor")
    # bitsandbytes' CPU backend, on a CPU with AVX-512 BF16, asks the `kernels` package for a
    # faster 4-bit kernel from the hub when it is imported; offline it says so twice and keeps
    # its own kernel, which QLoRA then uses.
    _drop("kernels._internals.hf_hub", "Skipping publisher trust check")
    _drop("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward")
    # transformers draws a "Loading weights" bar at every model load (our bundled models
    # load in milliseconds) and has no per-call switch for it, only huggingface_hub's global
    # one, which it reads when it is imported. In a log file each bar is one long line of
    # carriage returns.
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
