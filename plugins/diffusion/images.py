"""Tensors in [-1, 1] to pictures and back: tiles, grids, an animated GIF, a checked upload.

No gradio here: a bad upload raises ``BadImage`` with a message for the learner, which the
tab turns into a ``gr.Error``.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE = 256  # an upload is shrunk so its longer side is at most this
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding them
BACKGROUND = 235  # grey between tiles


class BadImage(ValueError):
    """The upload is not an image this tab can use; the message says what is allowed."""


def load_upload(path: str | Path) -> Tensor:
    """An uploaded picture as (3, H, W) in [-1, 1], its longer side at most MAX_SIDE."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise BadImage(f"The upload is {size / 2**20:.1f} MB; at most {MAX_UPLOAD_BYTES >> 20} MB.")
    try:
        with Image.open(path) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise BadImage(
                    f"The image is {opened.width}×{opened.height} pixels; too large to decode."
                )
            opened.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEGs decode at a reduced size, cheaply
            im = ImageOps.exif_transpose(opened)
            if im.mode in ("RGBA", "LA", "P"):  # transparency onto white, not black
                im = im.convert("RGBA")
                im = Image.alpha_composite(Image.new("RGBA", im.size, "white"), im)
            im = im.convert("RGB")
            im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            data = torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8)
            shape = (im.height, im.width, 3)
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BadImage(
            f"{path.name} is not an image that can be read; upload a PNG, JPEG, WebP or GIF "
            f"(at most {MAX_UPLOAD_BYTES >> 20} MB)."
        ) from None
    return data.reshape(shape).permute(2, 0, 1).float() / 127.5 - 1.0  # (3, H, W)


def to_pil(x: Tensor, ink: bool = False, scale: int = 1) -> Image.Image:
    """One (C, H, W) image in [-1, 1]; ``ink`` shows a digit as dark strokes on white."""
    x = x.detach().float().cpu().clamp(-1, 1)
    if ink:
        x = -x
    pixels = ((x + 1) * 127.5).round().to(torch.uint8)
    if pixels.shape[0] == 1:
        im = Image.fromarray(pixels[0].numpy(), mode="L")
    else:
        im = Image.fromarray(pixels.permute(1, 2, 0).contiguous().numpy(), mode="RGB")
    if scale == 1:
        return im
    return im.resize((im.width * scale, im.height * scale), Image.Resampling.NEAREST)


def noise_view(eps: Tensor) -> Tensor:
    """Gaussian noise mapped into [-1, 1] for display: ±3 standard deviations fill the range."""
    return (eps / 3).clamp(-1, 1)


def grid(batch: Tensor, ink: bool = False, scale: int = 4, gap: int = 2) -> Image.Image:
    """(N, C, H, W) images in [-1, 1] as a near-square grid, upscaled without blurring."""
    n, _, h, w = batch.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    mode = "L" if batch.shape[1] == 1 else "RGB"
    fill = BACKGROUND if mode == "L" else (BACKGROUND,) * 3
    canvas = Image.new(mode, (gap + cols * (w * scale + gap), gap + rows * (h * scale + gap)), fill)
    for i in range(n):
        row, col = divmod(i, cols)
        canvas.paste(
            to_pil(batch[i], ink, scale),
            (gap + col * (w * scale + gap), gap + row * (h * scale + gap)),
        )
    return canvas


def gif(frames: list[Image.Image], path: Path, ms_per_frame: int = 80, hold_ms: int = 1200) -> Path:
    """An endlessly looping animation; the last frame is held so the result can be seen."""
    durations = [ms_per_frame] * (len(frames) - 1) + [hold_ms]
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False
    )
    return path
