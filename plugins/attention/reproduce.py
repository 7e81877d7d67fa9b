"""The attention tab's export: one head's weights on screen, and a transformers script that reads
the same weights from the model (no gradio here; tab.py hands them to the Export panel)."""

from __future__ import annotations

from playground.concept import Context
from playground.export import Export
from plugins.attention import views

SNIPPET = '''"""The Attention tab's head, recomputed by transformers (an ML Playground export)."""
import json

import torch
from transformers import {auto}, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained({tokenizer!r})
# float32 as the tab loads it (the config may say bfloat16); eager attention returns weights
model = {auto}.from_pretrained({model!r}, dtype=torch.float32, attn_implementation="eager")
text = {text!r}
ids = tokenizer(text)["input_ids"]
if len(ids) > {most}:  # the tab shows the first {most} tokens (an encoder keeps its last [SEP])
    ids = ids[: {most} - 1] + ids[-1:] if ids[-1] == tokenizer.sep_token_id else ids[: {most}]
layer, head, query = {layer}, {head}, {query}
with torch.no_grad():
    out = model(torch.tensor([ids]), output_attentions=True)
weights = out.attentions[layer][0, head, query]  # (tokens,): what the query token attends to
print(json.dumps({{
    "input_ids": ids,
    "weights": weights.tolist(),
    "most_attended": int(weights.argmax()),
}}))
'''


def export(
    context: Context,
    text: str,
    model_id: str,
    layer: float,
    head: float,
    query: float,
    threshold: float,
) -> Export:
    """One head's weights for the chosen query token, and a transformers script that reads
    the same weights from the model (the grid's other heads are exported by changing these)."""
    shown = views.grid(context, text, model_id, layer, head, query)
    layer, head, query = shown.layer, shown.head, shown.query
    # the same checks as on screen
    views.head(context, text, model_id, layer, head, query, threshold)
    r = views.run(context, model_id, text)
    weights = r.captured.layers[layer].weights[head, query].float().cpu()
    model, tokenizer = views.load(context, model_id)
    ids, _ = views.tokenize(tokenizer, text)
    numbers = {
        "input_ids": ids,
        "weights": weights.tolist(),
        "most_attended": int(weights.argmax()),
    }
    rows = [[j, *pair] for j, pair in enumerate(zip(r.tokens, weights.tolist(), strict=True))]
    snippet = SNIPPET.format(
        auto="AutoModel" if model_id == "minilm" else "AutoModelForCausalLM",
        tokenizer=str(tokenizer.name_or_path),
        model=str(model.name_or_path),
        text=text,
        most=views.MAX_TOKENS,
        layer=layer,
        head=head,
        query=query,
    )
    return Export(numbers, snippet, {"weights": (["j", "key token", "weight"], rows)})
