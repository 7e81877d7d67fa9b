"""Predict, then reveal: three exercises on attention, answered on the bundled models and on
GPT-2 small's real shape (the weights come from capture.py, through hooks on the model)."""

from __future__ import annotations

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

TEXT = "The cat sat on the mat because it was tired, and the dog sat on the rug."  # the default
CLS_LAYER, CLS_HEAD = 0, 3
CLS_CHOICES = ("[CLS]", "[SEP]", "the", "cat", ".")
CAUSAL_LAYER, CAUSAL_HEAD = 2, 1


def _run(context: Context, model_id: str):
    from plugins.attention import views

    return views.run(context, model_id, TEXT)


def _at(tokens: list[str], token: str) -> list[int]:
    return [j for j, t in enumerate(tokens) if t == token]


def cls_target(context: Context) -> Answer:
    r = _run(context, "minilm")
    row = r.captured.layers[CLS_LAYER].weights[CLS_HEAD, 0].float().cpu()
    order = row.argsort(descending=True)[:3].tolist()
    top = ", ".join(f"`{r.tokens[j]}` (position {j}, {float(row[j]):.3f})" for j in order)
    best = max(CLS_CHOICES, key=lambda t: max(float(row[j]) for j in _at(r.tokens, t)))
    return Answer(
        best,
        f"In layer {CLS_LAYER}, head {CLS_HEAD} the query `[CLS]` gives its largest weights to "
        f"{top}. Many BERT heads park weight on `[SEP]` or `[CLS]` when they have nothing "
        "better to do (Clark et al., *What Does BERT Look At?*, 2019): a softmax must put its "
        "weight somewhere, and a separator that is in every input is a harmless place.",
    )


def first_token_self(context: Context) -> Answer:
    r = _run(context, "tiny-llama")
    c = r.captured
    w = c.layers[CAUSAL_LAYER].weights[CAUSAL_HEAD].float().cpu()
    return Answer(
        float(w[0, 0]),
        f"Tiny Llama is causal: token 0 (`{r.tokens[0]}`) may only look at itself, so the "
        "softmax over one allowed score gives it all the weight: "
        f"w₀₀ = {float(w[0, 0]):.6f}, in every layer and head. The last token spreads its "
        f"weight over all {len(r.tokens)} (its largest is {float(w[-1].max()):.3f}).",
        tolerance=0.01,
    )


def gpt2_ffn_share(context: Context) -> Answer:  # counted from the preset: no model
    from plugins.attention import anatomy

    b = anatomy.breakdown(anatomy.PRESETS["GPT-2 small"], 1024)
    share = b.block_ffn_params / b.block_params
    d = anatomy.PRESETS["GPT-2 small"].d_model
    return Answer(
        share,
        f"One GPT-2 small block holds {b.block_params:,} parameters; the FFN has "
        f"{b.block_ffn_params:,} of them ({share:.1%}). Its two matrices are {d} × {4 * d} and "
        f"{4 * d} × {d} (8 d²), against attention's four {d} × {d} projections (4 d²), "
        "so the FFN is about two thirds.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="attention-cls",
        concept="attention",
        title="Where does [CLS] look?",
        question=f"MiniLM, the default text *{TEXT}*, **layer {CLS_LAYER}, head {CLS_HEAD}**. "
        "**Which token does the query `[CLS]` attend to most?**",
        solve=lazy("plugins.attention.exercises:cls_target"),
        choices=CLS_CHOICES,
    ),
    Exercise(
        id="attention-causal-first",
        concept="attention",
        title="The first token under a causal mask",
        question=f"Tiny Llama (causal), the default text, layer {CAUSAL_LAYER}, head "
        f"{CAUSAL_HEAD}. **What weight does the first token put on itself?** (a number "
        "from 0 to 1)",
        solve=lazy("plugins.attention.exercises:first_token_self"),
    ),
    Exercise(
        id="attention-gpt2-ffn",
        concept="attention",
        title="Where a block's parameters live",
        question="In one GPT-2 small block, **what fraction of the parameters is in the "
        "feed-forward network** (the rest is attention and the norms)? A number from 0 to 1.",
        solve=lazy("plugins.attention.exercises:gpt2_ffn_share"),
    ),
]
