"""Our decode loop and samplers against transformers, and the tab's own next-token step."""

from __future__ import annotations

import torch
from transformers import TopKLogitsWarper, TopPLogitsWarper

from playground.bench import BenchCase
from playground.concept import Context
from plugins.gpt import decode, sampling

PROMPT = "Once upon a time, the queen"
NEW_TOKENS = 64
VOCAB = 50_257  # GPT-2's vocabulary
BATCHES = (1, 32)


def _lm_cases(context: Context, device: str) -> list[BenchCase]:
    lm = context.models.get("tiny-llama", device)
    ids = lm.tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(device)

    def generate(**kw) -> torch.Tensor:
        return lm.model.generate(
            ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, pad_token_id=0, **kw
        )

    return [
        BenchCase(
            f"greedy {NEW_TOKENS} tokens, tiny-llama",
            lambda: decode.greedy(lm.model, ids, NEW_TOKENS),
            "model.generate",
            lambda: generate(do_sample=False),
            target="ratio <= 0.667",  # ours at least 1.5x the tokens per second
        ),
        BenchCase(
            f"beam search 4 beams, {NEW_TOKENS} tokens, tiny-llama",
            lambda: torch.tensor(decode.beam_search(lm.model, ids, 4, NEW_TOKENS)[0].tokens),
            "model.generate(num_beams=4)",
            lambda: generate(do_sample=False, num_beams=4)[0, ids.shape[1] :],
        ),
    ]


def _filter_cases(device: str) -> list[BenchCase]:
    gen = torch.Generator().manual_seed(0)
    found = []
    for batch in BATCHES:
        logits = (torch.randn(batch, VOCAB, generator=gen) * 3).to(device)
        for name, ours, theirs in (
            ("top-k 50", lambda x: sampling.top_k_filter(x, 50), TopKLogitsWarper(50)),
            ("top-p 0.9", lambda x: sampling.top_p_filter(x, 0.9), TopPLogitsWarper(0.9)),
        ):
            found.append(
                BenchCase(
                    f"{name}, {batch}x{VOCAB}",
                    lambda x=logits, f=ours: f(x),
                    type(theirs).__name__,
                    lambda x=logits, f=theirs: f(None, x),
                    target="ratio <= 1.0",
                )
            )
    return found


def _step_case(context: Context) -> BenchCase:
    """The server-side work of one click on "Step 1 token": a step plus everything rendered."""
    from plugins.gpt import tab

    on = tab.events(context)
    values = [None, None, PROMPT, "tiny-llama", 0, "sample", 0.8, 0, 0.9, 0.0, 4, True, 1, None]
    state = on.start(*values)[0]
    values[0] = state

    def one_step():
        if len(state.ids) > 200:  # stay well inside the model's context
            state.rewind(state.prompt_len)
        outputs = on.step(*values)
        return outputs[3].to_json()  # Gradio serialises the plot too, on the server

    return BenchCase(
        "tab step: one token, rendered and serialised, tiny-llama", one_step, target="ours_ms <= 20"
    )


def cases(context: Context) -> list[BenchCase]:
    device = context.device()
    return [*_lm_cases(context, device), *_filter_cases(device), _step_case(context)]
