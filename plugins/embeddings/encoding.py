"""What runs the model: the word vocabulary, its index on disk, and static vs contextual vectors.

The index holds one embedding per whole word of MiniLM's own WordPiece vocabulary. Building it
means running the model on ~21 000 words (tens of seconds on a CPU), so it is built once and
kept under ``$PLAYGROUND_CACHE`` (default ``~/.cache/ml-playground``) in a safetensors file
named by the model id and a hash of the word list: another model or vocabulary gets another
file, and a file that does not load is rebuilt rather than trusted.

We store the vectors *before* the model's last layer (Normalize), so the tab can show what
normalisation changes; dividing each row by its length gives exactly what
``model.encode(words)`` returns.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor

from plugins.embeddings.embeddings import norms

if TYPE_CHECKING:
    from playground.concept import Context

MODEL_ID = "minilm"
CACHE_ENV = "PLAYGROUND_CACHE"
DEFAULT_CACHE = Path("~/.cache/ml-playground")
MIN_WORD_CHARS = 2  # single letters are noise in an analogy's neighbours
BATCH = 1024  # words per progress step; the model batches them again inside
Progress = Callable[[int, int], None]  # (words done, words in all)

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where indexes live: ``$PLAYGROUND_CACHE`` if set, else ``~/.cache/ml-playground``."""
    root = os.environ.get(CACHE_ENV, "").strip()
    return (Path(root) if root else DEFAULT_CACHE).expanduser() / "embeddings"


def vocabulary(tokenizer) -> list[str]:
    """The tokenizer's whole words, in token-id order: ASCII letters only, so no ``##`` pieces,
    no ``[unused12]`` or ``[CLS]``, no digits or punctuation, and at least two letters."""
    vocab = tokenizer.get_vocab()
    words = [w for w in vocab if w.isascii() and w.isalpha() and len(w) >= MIN_WORD_CHARS]
    return sorted(words, key=vocab.__getitem__)


def words_hash(words: list[str]) -> str:
    return hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=4)
def unnormalized(model):
    """The model without its last layer (Normalize): Transformer, then mean pooling."""
    from sentence_transformers import SentenceTransformer

    if type(model[-1]).__name__ != "Normalize":  # nothing to strip
        return model
    return SentenceTransformer(modules=list(model)[:-1], device=str(model.device))


@torch.inference_mode()
def encode_raw(model, texts: list[str]) -> Tensor:
    """Mean-pooled embeddings (N, D) before normalisation, on the model's device."""
    return unnormalized(model).encode(
        texts, batch_size=256, convert_to_tensor=True, show_progress_bar=False
    )


@dataclass
class WordIndex:
    """Every vocabulary word's embedding, raw and unit length, on one device."""

    words: list[str]
    raw: Tensor  # (N, D) mean-pooled, before Normalize
    unit: Tensor  # (N, D) raw / ‖raw‖: what model.encode returns
    raw_norms: Tensor  # (N,) ‖raw‖
    unit_norms: Tensor  # (N,) all 1, up to rounding: search takes norms, so we keep them
    path: Path
    seconds: float  # how long getting it took
    built: bool  # True: built now; False: loaded from the cache file
    rows: dict[str, int] = field(init=False, repr=False)  # word -> row

    def __post_init__(self) -> None:
        self.rows = {w: i for i, w in enumerate(self.words)}


def build_vectors(model, words: list[str], progress: Progress | None = None) -> Tensor:
    """Embed every word with the model, BATCH at a time, reporting progress after each batch."""
    chunks = []
    for start in range(0, len(words), BATCH):
        batch = words[start : start + BATCH]
        chunks.append(encode_raw(model, batch).cpu())
        if progress is not None:
            progress(start + len(batch), len(words))
    return torch.cat(chunks).float()  # (N, D)


def _save(path: Path, raw: Tensor, words: list[str], model_id: str) -> None:
    """Write to a temporary file beside ``path``, then rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    os.close(fd)
    try:
        meta = {"model": model_id, "words_hash": words_hash(words), "words": "\n".join(words)}
        save_file({"raw": raw.contiguous()}, tmp, metadata=meta)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load(path: Path, words: list[str], dim: int) -> Tensor | None:
    """The cached vectors, or None when the file is missing, corrupt or for other words."""
    if not path.exists():
        return None
    try:
        with safe_open(path, "pt") as f:
            stored = (f.metadata() or {}).get("words", "").split("\n")
            raw = f.get_tensor("raw")
    except Exception as exc:  # whatever a damaged file raises, the cure is the same: rebuild
        log.warning("embedding index %s is unreadable (%s); rebuilding it", path, exc)
        return None
    if stored != words or raw.shape != (len(words), dim) or not torch.isfinite(raw).all():
        log.warning("embedding index %s does not match the vocabulary; rebuilding it", path)
        return None
    return raw


def load_or_build(
    model,
    device: str,
    words: list[str] | None = None,
    model_id: str = MODEL_ID,
    folder: Path | None = None,
    progress: Progress | None = None,
) -> WordIndex:
    """The word index from its cache file, or built (and cached) when there is none."""
    start = time.perf_counter()
    words = vocabulary(model.tokenizer) if words is None else words
    path = (folder or cache_dir()) / f"{model_id}-{words_hash(words)}.safetensors"
    raw = _load(path, words, model.get_embedding_dimension())
    built = raw is None
    if built:
        raw = build_vectors(model, words, progress)
        try:
            _save(path, raw, words, model_id)
        except OSError as exc:  # a full or read-only disk costs the cache, not the tab
            log.warning("could not cache the embedding index %s (%s); kept in memory", path, exc)
    raw = raw.to(device)
    raw_norms = norms(raw)
    unit = raw / raw_norms.unsqueeze(-1)
    return WordIndex(
        words, raw, unit, raw_norms, norms(unit), path, time.perf_counter() - start, built
    )


# Keyed on (model id, device), not on the registry: an index holds only the vectors computed
# from MiniLM, the same for every registry that registers it, and no model.
_shared: dict[tuple[str, str], WordIndex] = {}
_lock = threading.Lock()


def shared_index(
    context: Context, folder: Path | None = None, progress: Progress | None = None
) -> WordIndex:
    """The process's one word index per device, on ``context.device()``, built with the
    context's MiniLM (the tab and the bench share it)."""
    device = context.device()
    with _lock:  # one build at a time; later callers wait for it and then reuse it
        key = (MODEL_ID, device)
        if key not in _shared:
            model = context.models.get(MODEL_ID, device)
            _shared[key] = load_or_build(model, device, folder=folder, progress=progress)
        return _shared[key]


def is_shared(device: str) -> bool:
    return (MODEL_ID, device) in _shared


# -- static vs contextual ----------------------------------------------------------------


@dataclass(frozen=True)
class StaticVsContextual:
    """One word in two sentences: its input-table rows, its token vectors, both sentences."""

    pieces: tuple[list[str], list[str]]  # the word's WordPiece tokens in each sentence
    static: tuple[Tensor, Tensor]  # its rows of the input embedding table, mean over pieces (D,)
    contextual: tuple[Tensor, Tensor]  # the model's last-layer vectors there, mean over pieces
    sentences: tuple[Tensor, Tensor]  # the two sentence embeddings (unit length)


def find_word(sentence: str, word: str) -> tuple[int, int] | None:
    """The character span (start, end) of the word's first whole-word occurrence, any case."""
    match = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", sentence, flags=re.IGNORECASE)
    return match.span() if match else None


def token_positions(offsets: list[tuple[int, int]], start: int, end: int) -> list[int]:
    """Positions of the tokens whose characters lie inside [start, end) (special tokens have
    empty spans and never do)."""
    return [i for i, (a, b) in enumerate(offsets) if b > a and a >= start and b <= end]


@torch.inference_mode()
def static_vs_contextual(model, word: str, first: str, second: str) -> StaticVsContextual:
    """The word's static vectors (input table rows) and contextual vectors (last layer) in two
    sentences. Raises ValueError when a sentence does not contain the word."""
    transformer = model[0].auto_model
    table = transformer.embeddings.word_embeddings.weight  # (V, D), looked up before attention
    pieces, static, contextual = [], [], []
    for sentence in (first, second):
        span = find_word(sentence, word)
        if span is None:
            raise ValueError(f"{sentence!r} does not contain the word {word!r}")
        enc = model.tokenizer(sentence, return_offsets_mapping=True, return_tensors="pt")
        positions = token_positions(enc.pop("offset_mapping")[0].tolist(), *span)
        ids = enc["input_ids"][0, positions].to(table.device)
        hidden = transformer(**enc.to(table.device)).last_hidden_state[0]  # (T, D)
        pieces.append(model.tokenizer.convert_ids_to_tokens(ids.tolist()))
        static.append(table[ids].mean(0))
        contextual.append(hidden[positions].mean(0))
    sentences = model.encode([first, second], convert_to_tensor=True, show_progress_bar=False)
    return StaticVsContextual(
        tuple(pieces), tuple(static), tuple(contextual), (sentences[0], sentences[1])
    )
