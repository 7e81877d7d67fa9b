"""Where the bundled models live inside the package (importing this loads nothing heavy)."""

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
TOKENIZER_DIR = ASSETS / "tokenizer"
HELDOUT = ASSETS / "heldout.txt"
DENSE_DIR = ASSETS / "tiny-llama"
MOE_DIR = ASSETS / "tiny-mixtral"
DIGITS_DIR = ASSETS / "digits-unet"
TOY_DIR = ASSETS / "two-moons"
WEIGHTS = "model.safetensors"
