"""The diffusion tab's text to image: a hub Stable Diffusion pipeline with its steps, where a
GPU and the model are there. No gradio, and no torch on import (compute.py runs the pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from playground import lazy_module
from playground.concept import Context
from playground.inputs import BadInput, Result, check_choice, check_seed, check_whole
from plugins.diffusion.views import Gallery, load_model

if TYPE_CHECKING:
    from PIL.Image import Image

compute = lazy_module("plugins.diffusion.compute")

MAX_PROMPT_CHARS, MAX_STEPS = 300, 50


def _specs(context: Context):
    return context.models.specs(task="text-to-image")


def choices(context: Context) -> list[tuple[str, str]]:
    """The registered text-to-image models, as (title, id) for the picker."""
    return [(s.title, s.id) for s in _specs(context)]


def _unavailable(context: Context, model_id: str) -> str | None:
    """Why text-to-image cannot run here, or None."""
    reasons = []
    device = context.device()
    if device != "cuda":
        reasons.append(f"it needs a GPU and this machine runs on {device}")
    spec = next((s for s in _specs(context) if s.id == model_id), None)
    if spec is None:
        return "no text-to-image model is registered"
    reason = spec.unavailable()
    if reason:
        reasons.append(reason)
    return "; ".join(reasons) or None


def note(context: Context, model_id) -> str:
    reason = _unavailable(context, model_id) if model_id else "no text-to-image model is registered"
    return f"**Not available here:** {reason}." if reason else "Ready: runs on the GPU."


@dataclass(frozen=True)
class Generated(Result):
    image: Image
    steps: Gallery  # the latents x_t decoded at a few steps


def generate(context: Context, model_id, prompt, steps, seed) -> Generated:
    """A hub Stable Diffusion image with its steps (`diffusion_text_to_image`)."""
    ids = tuple(s.id for s in _specs(context))
    model_id = check_choice(model_id, "The model", ids or ("(none registered)",))
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"The prompt must be 1 to {MAX_PROMPT_CHARS} characters of text.")
    steps = check_whole(steps, "Steps", 1, MAX_STEPS)
    seed = check_seed(seed)
    reason = _unavailable(context, model_id)
    if reason:
        raise BadInput(f"Text-to-image is not available here: {reason}.")
    return Generated(*compute.text_to_image(load_model(context, model_id), prompt, steps, seed))
