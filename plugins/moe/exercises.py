"""Predict, then reveal: three exercises on mixtures of experts, answered on the bundled
tiny-mixtral, on our own routing layer and on Mixtral-8x7B's real shape."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playground import lazy, lazy_module
from playground.exercise import Answer, Exercise

if TYPE_CHECKING:
    from playground.concept import Context

anatomy = lazy_module("plugins.attention.anatomy")  # Mixtral-8x7B's shape, counted as that tab does

PROMPT = "Once upon a time, the queen"  # the tab's default prompt
TOKEN = "␣queen"  # how the tab labels it (byte-level BPE's space shown as ␣)
EXPERT_CHOICES = tuple(f"expert {i}" for i in range(8))  # tiny-mixtral has 8 experts a layer
LAB = dict(shape="shifted", tokens=32, experts=8, top_k=2, capacity_factor=0.5, seed=0)


def queen_expert(context: Context) -> Answer:
    from plugins.moe import views

    c = views.routed(context, PROMPT)
    j = c.tokens.index(TOKEN)
    p = c.layers[0].logits.softmax(-1)[j]
    top = p.topk(c.top_k)
    listed = ", ".join(
        f"expert {e} (p = {v:.3f})"
        for e, v in zip(top.indices.tolist(), top.values.tolist(), strict=True)
    )
    return Answer(
        f"expert {int(p.argmax())}",
        f"Layer 0's router scores `{TOKEN}` (position {j}) against all {p.numel()} experts; "
        f"its top-{c.top_k} are {listed}, and the gates renormalise those two to sum to 1. "
        "Layer 0's router reads the token after a single attention layer, so mostly the token "
        "itself: "
        "a router learns which expert suits which kind of token, not a topic per expert.",
    )


def dropped_at_half_capacity(context: Context) -> Answer:  # our own layer: no model, no device
    import torch

    from plugins.moe import lab, moe

    gen = torch.Generator().manual_seed(LAB["seed"])
    t, e, k, cf = LAB["tokens"], LAB["experts"], LAB["top_k"], LAB["capacity_factor"]
    x = lab.make_tokens(LAB["shape"], t, lab.LAB_DIM, gen)
    layer = lab.lab_layer(e, k, cf, 0.0, LAB["seed"])
    with torch.no_grad():
        r = layer(x, generator=gen).routing
    dropped = int((~r.kept).sum())
    return Answer(
        dropped,
        f"Capacity C = ⌈{cf:g} · {t} · {k} / {e}⌉ = {moe.expert_capacity(t, e, k, cf)} tokens "
        f"per expert, so at most {e * r.capacity} of the {t * k} choices fit even with a "
        f"perfectly even router. This router wanted loads {r.wanted.tolist()}: the busy "
        f"experts turn away their extra tokens, and **{dropped}** choices are dropped.",
        tolerance=0.15,
    )


def mixtral_active_share(context: Context) -> Answer:  # arithmetic on a preset's shape
    arch = anatomy.PRESETS["Mixtral-8x7B"]
    b = anatomy.breakdown(arch, arch.context)
    share = b.active / b.total
    return Answer(
        share,
        f"Mixtral-8x7B stores {b.total / 1e9:.1f} B parameters but routes each token to "
        f"{arch.active_experts} of its {arch.experts} experts, so a token uses "
        f"{b.active / 1e9:.1f} B ({share:.1%}). Not 2/8 = 25%: attention, the embeddings and "
        "the norms are shared by every token, only the FFNs are split into experts.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="moe-queen-expert",
        concept="moe",
        title="Which expert gets 'queen'?",
        question=f"Route the prompt *{PROMPT}* through tiny-mixtral. **In layer 0, which "
        "expert gives the token `queen` its highest router probability?**",
        solve=lazy("plugins.moe.exercises:queen_expert"),
        choices=EXPERT_CHOICES,
    ),
    Exercise(
        id="moe-capacity-drops",
        concept="moe",
        title="Half the capacity",
        question="Routing lab: shifted tokens, 32 tokens, 8 experts, top-2, router noise 0, "
        "seed 0, **capacity factor 0.5**. **How many of the 64 choices are dropped?**",
        solve=lazy("plugins.moe.exercises:dropped_at_half_capacity"),
    ),
    Exercise(
        id="moe-mixtral-active",
        concept="moe",
        title="Stored vs used",
        question="Mixtral-8x7B has 8 experts per layer and sends each token to 2. **What "
        "fraction of its parameters does one token use?** A number from 0 to 1.",
        solve=lazy("plugins.moe.exercises:mixtral_active_share"),
    ),
]
