"""The MoE tab's export: every layer's routing on screen, and a script that reads it from
transformers' own Mixtral (no gradio here; tab.py hands them to the Export panel)."""

from __future__ import annotations

from playground.concept import Context
from playground.export import Export
from plugins.moe import views

SNIPPET = '''"""The MoE tab's routing, recomputed by transformers' Mixtral (a Playground export)."""
import json

import torch
from transformers import AutoTokenizer, MixtralForCausalLM

tokenizer = AutoTokenizer.from_pretrained({tokenizer!r})
model = MixtralForCausalLM.from_pretrained({model!r}, dtype=torch.float32)
ids = tokenizer({text!r})["input_ids"][:{most}]  # the tab reads the first {most} tokens
with torch.no_grad():
    out = model(torch.tensor([ids]), output_router_logits=True, use_cache=False)
k = model.config.num_experts_per_tok
experts, probabilities = [], []
for logits in out.router_logits:  # one (tokens, experts) tensor per layer
    top = logits.float().softmax(-1).topk(k, dim=-1)  # the router's choice for every token
    experts.append(top.indices.tolist())
    probabilities.append(top.values.tolist())
print(json.dumps({{"input_ids": ids, "experts": experts, "probabilities": probabilities}}))
'''


def export(context: Context, text: str) -> Export:
    """Every layer's top-k experts for every token, and a script that reads them from
    transformers' own Mixtral (``output_router_logits=True``)."""
    c = views.routed(context, text)
    lm = views.load(context, views.MOE_ID)
    tops = [layer.logits.softmax(-1).topk(c.top_k, dim=-1) for layer in c.layers]
    numbers = {
        "input_ids": lm.tokenizer(text)["input_ids"][: views.MAX_TOKENS],
        "experts": [top.indices.tolist() for top in tops],
        "probabilities": [top.values.tolist() for top in tops],
    }
    rows = [
        [layer, j, token, *top.indices[j].tolist(), *top.values[j].tolist()]
        for layer, top in enumerate(tops)
        for j, token in enumerate(c.tokens)
    ]
    heads = [f"expert {i + 1}" for i in range(c.top_k)] + [f"p {i + 1}" for i in range(c.top_k)]
    snippet = SNIPPET.format(
        tokenizer=str(lm.tokenizer.name_or_path),
        model=str(lm.model.name_or_path),
        text=text,
        most=views.MAX_TOKENS,
    )
    return Export(numbers, snippet, {"routing": (["layer", "j", "token", *heads], rows)})
