"""The GPT tab's export: the numbers on screen and a transformers script that prints them again."""

from __future__ import annotations

from typing import Any

import torch

from plugins.gpt import decode, sampling

EXPORT_TOP = 10  # next-token candidates in an export
COLUMNS = ["next_top_ids", "next_top_p", "next_top_p_after_settings"]
SNIPPET = '''"""The GPT tab's numbers, recomputed with transformers (an ML Playground export)."""
import json

import torch
from transformers import (AutoModelForCausalLM, LogitsProcessorList, MinPLogitsWarper,
                          TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

model = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32).eval()
ids = torch.tensor([{ids!r}])  # the prompt's {prompt_len} tokens, then the generated ones
prompt_len = {prompt_len}
with torch.no_grad():
    logits = model(ids).logits[0].float()  # (T, V): the next-token logits at every position
probs = logits.softmax(-1)
# The settings on screen, as transformers applies them (our sampling.py keeps this order).
settings = LogitsProcessorList([TemperatureLogitsWarper({temperature!r}){warpers}])
kept = settings(ids, logits[-1:].clone())[0].softmax(-1)
top = probs[-1].topk({top})
print(json.dumps({{
    "ids": ids[0].tolist(),
    "p_of_each_generated_token": [probs[i - 1, ids[0, i]].item()
                                  for i in range(prompt_len, ids.shape[1])],
    "next_top_ids": top.indices.tolist(),
    "next_top_p": top.values.tolist(),
    "next_top_p_after_settings": kept[top.indices].tolist(),
}}))
# A fresh run of this path, with transformers' own loop ({how}):
# torch.manual_seed({seed}); model.generate(ids[:, :prompt_len], {generate})
'''


def numbers(trail, settings: sampling.Settings) -> dict[str, Any]:
    """The ids on screen, each generated token's probability, and the next-token candidates
    before and after the settings (what SNIPPET prints)."""
    full = torch.tensor([trail.ids], device=trail.device)
    probs = decode.next_token_logits(trail.model, full).float().softmax(-1)  # (T, V)
    kept = sampling.process(trail.logits[None].float(), settings)[0].softmax(-1)
    top = probs[-1].topk(EXPORT_TOP)
    generated = range(trail.prompt_len, len(trail.ids))
    return {
        "ids": list(trail.ids),
        "p_of_each_generated_token": [probs[i - 1, trail.ids[i]].item() for i in generated],
        "next_top_ids": top.indices.tolist(),
        "next_top_p": top.values.tolist(),
        "next_top_p_after_settings": kept[top.indices].tolist(),
    }


def snippet(trail, settings: sampling.Settings) -> str:
    """SNIPPET for this trail: transformers' warpers for the settings on screen."""
    warpers = "".join(
        f", {name}({value!r})"
        for name, value, on in [
            ("TopKLogitsWarper", settings.top_k, settings.top_k > 0),
            ("TopPLogitsWarper", settings.top_p, settings.top_p < 1),
            ("MinPLogitsWarper", settings.min_p, settings.min_p > 0),
        ]
        if on
    )
    generate = {
        "greedy": "do_sample=False",
        "sample": f"do_sample=True, temperature={settings.temperature!r}, "
        f"top_k={settings.top_k}, top_p={settings.top_p!r}, min_p={settings.min_p!r}",
        "beam": f"do_sample=False, num_beams={settings.beams}",
    }[settings.strategy] + f", max_new_tokens={max(len(trail.generated), 1)}"
    return SNIPPET.format(
        path=str(trail.model.config._name_or_path),
        ids=list(trail.ids),
        prompt_len=trail.prompt_len,
        temperature=settings.temperature,
        warpers=warpers,
        top=EXPORT_TOP,
        seed=trail.seed,
        how=settings.describe(),
        generate=generate,
    )


def tables(found: dict[str, Any]) -> dict[str, tuple[list[str], list[list]]]:
    """The next-token candidates as one CSV table."""
    rows = [list(row) for row in zip(*(found[c] for c in COLUMNS), strict=True)]
    return {"next-token": (["id", "p", "p after settings"], rows)}
