"""Held-out numbers and model cards for the two bundled language models.

`python -m plugins.models.train_lm cards` loads both models exactly as the app does, measures
them on assets/heldout.txt, samples three continuations each, and writes eval.json and
README.md beside each model's weights. The tests reproduce eval.json's perplexities.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from plugins.models import language, paths
from plugins.models.heldout import SEQ_LEN, evaluate, heldout_ids

PROMPTS = ("Once upon a time, the king", "The capital of France is", "A spider has")
SAMPLE_SEED = 0
SAMPLE_TOKENS = 40
TEMPERATURE = 0.8
# How the bundled weights were made (measured in that session, not re-measured here).
TIMING_NOTE = (
    "Both models trained at once, one CPU thread each (`--threads 1`), so the minutes above "
    "are for half the machine; alone with both cores (`--threads 2`, the default) a step took "
    "0.8-1.0 s, under 20 minutes for {steps:,} steps."
)


def samples(lm) -> list[str]:
    torch.manual_seed(SAMPLE_SEED)  # generate() draws from the global generator
    found = []
    for prompt in PROMPTS:
        ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"]
        out = lm.model.generate(
            ids,
            max_new_tokens=SAMPLE_TOKENS,
            do_sample=True,
            temperature=TEMPERATURE,
            top_k=0,
            pad_token_id=lm.tokenizer.eos_token_id,
        )
        found.append(lm.tokenizer.decode(out[0], skip_special_tokens=True))
    return found


def _card(name: str, folder: Path, kind: str, results: dict, ours: str) -> str:
    training = json.loads((folder / "training.json").read_text())
    r = results[ours]
    rows = "\n".join(
        f"| {key} | {v['parameters']:,} | {v['active']:,} | {v['perplexity']:.3f} | "
        f"{v['entropy_nats']:.3f} |"
        for key, v in results.items()
    )
    text_samples = "\n".join(f"{i + 1}. {s!r}" for i, s in enumerate(r["samples"]))
    return f"""# {name}

{kind}, trained from scratch by `python -m plugins.models.train_lm` on 2 CPU cores, so that
every concept of ML Playground runs on real trained weights offline. Licence: Apache-2.0
(the project's); the training text is the project's own generated stories and facts mixed
with prose from Python's own documentation and docstrings (PSF licence).

## Data
- `python -m plugins.models.corpus` (seed {training["seed"]}; its prose part is Python
  {platform.python_version()}'s own documentation, so other Python versions give other text):
  {training["train_tokens"]:,}
  training tokens with the bundled 4 096-token byte-level BPE (`assets/tokenizer`); every
  50th paragraph is held out in `assets/heldout.txt` ({r["tokens"]:,} tokens evaluated).

## Training
- {training["steps"]:,} steps of AdamW (lr {training["lr"]}, cosine, 100 warm-up steps),
  batch {training["batch"]} × {training["seq_len"]} tokens: {training["tokens_seen"]:,} tokens
  seen in {training["seconds"] / 60:.1f} minutes. Final training loss {training["log"][-1]["loss"]}.
- Both bundled models saw the same batches in the same order for the same number of steps.
- {TIMING_NOTE.format(steps=training["steps"])}

## Held-out results (both bundled models, same text)

| model | parameters | active per token | perplexity | mean next-token entropy (nats) |
| --- | ---: | ---: | ---: | ---: |
{rows}

Stored in float16 (`model.safetensors`), loaded in float32; numbers measured on the loaded
weights, eval mode, non-overlapping {SEQ_LEN}-token windows.

## Samples (temperature {TEMPERATURE}, seed {SAMPLE_SEED}, {SAMPLE_TOKENS} new tokens)

{text_samples}
"""


def write_cards() -> dict:
    ids = heldout_ids()
    models = {"tiny-llama": paths.DENSE_DIR, "tiny-mixtral": paths.MOE_DIR}
    results = {}
    for key, folder in models.items():
        lm = language.load_bundled_lm(folder)("cpu")
        total, active = language.parameter_counts(lm.model)
        results[key] = {
            **evaluate(lm.model, ids),
            "parameters": total,
            "active": active,
            "samples": samples(lm),
        }
        (folder / "eval.json").write_text(
            json.dumps({k: v for k, v in results[key].items() if k != "samples"}, indent=1)
        )
    kinds = {
        "tiny-llama": "A dense Llama-style causal language model (RMSNorm, RoPE, SwiGLU)",
        "tiny-mixtral": "A Mixtral-style sparse mixture-of-experts causal language model "
        "(8 experts, top-2 routing)",
    }
    for key, folder in models.items():
        (folder / "README.md").write_text(_card(key, folder, kinds[key], results, key))
    return results
