"""Predict, then reveal: three exercises on LoRA, each answered on tiny-llama or our LoRA layer."""

from __future__ import annotations

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

MODEL = "tiny-llama"
PERCENT_RANK, PERCENT_TARGETS = 8, ("q_proj", "v_proj")
PROMPT = "Once upon a time, the little dragon"
GAPS = ("Exactly 0", "About 1e-6 (float32 rounding)", "About 0.01 to 0.1", "More than 1")
DELTA_RANK, DELTA_SIZE, DELTA_STEPS = 4, 256, 25


def trainable_percent(context: Context) -> Answer:
    import copy

    from plugins.lora import lora

    model = context.model(MODEL).model
    total = sum(p.numel() for p in model.parameters())
    adapted = copy.deepcopy(model)
    lora.inject(adapted, PERCENT_TARGETS, PERCENT_RANK, 2.0 * PERCENT_RANK)
    adapter = lora.trainable_parameters(adapted)  # what requires a gradient: A and B only
    d = model.config.hidden_size
    layers = model.config.num_hidden_layers
    return Answer(
        100 * adapter / total,
        f"q_proj and v_proj are {d} → {d} in each of the {layers} layers: A is r × k and B is "
        f"d × r, so each adapter has r (k + d) = {PERCENT_RANK} · {2 * d} = "
        f"{PERCENT_RANK * 2 * d:,} numbers, {adapter:,} in all, of {total:,} parameters: "
        f"**{100 * adapter / total:.3f}%**. On a 7 B model the same choice is nearer 0.1%: "
        "the adapters grow with the width, the model with its square.",
    )


def zero_init_gap(context: Context) -> Answer:
    import copy

    import torch

    from plugins.lora import lora

    lm = context.model(MODEL)
    adapted = copy.deepcopy(lm.model).eval()
    gen = torch.Generator().manual_seed(0)
    layers = lora.inject(adapted, PERCENT_TARGETS, PERCENT_RANK, 2.0 * PERCENT_RANK, generator=gen)
    ids = lm.tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(lm.model.device)
    with torch.no_grad():
        gap = float((adapted(ids).logits - lm.model(ids).logits).abs().max())
        a_max = max(float(layer.lora_A.abs().max()) for layer in layers.values())
        b_max = max(float(layer.lora_B.abs().max()) for layer in layers.values())
    truth = GAPS[0] if gap == 0 else GAPS[1] if gap < 1e-4 else GAPS[2] if gap <= 1 else GAPS[3]
    return Answer(
        truth,
        f"The largest logit difference over {ids.shape[1]} tokens is **{gap:g}**. LoRA (ours "
        f"here, peft's the same: the tests check they agree) starts every B at zero (largest "
        f"|B| = {b_max:g}, while |A| reaches {a_max:.3f}), so B A x = 0 and adding it to W x "
        f"changes {'no bit' if gap == 0 else 'only rounding'}: training starts from the "
        "pretrained model itself. A is random, so B's gradient is not zero and B starts to "
        "learn at the first step.",
    )


def delta_rank(context: Context) -> Answer:  # on a layer of its own: no model
    import torch

    from plugins.lora import lora

    gen = torch.Generator().manual_seed(0)
    base = torch.nn.Linear(DELTA_SIZE, DELTA_SIZE)
    layer = lora.LoRALinear(base, DELTA_RANK, 2.0 * DELTA_RANK, generator=gen)
    target = torch.randn(DELTA_SIZE, DELTA_SIZE, generator=gen) * 0.05  # a full-rank change
    x = torch.randn(128, DELTA_SIZE, generator=gen)
    want = base(x).detach() + x @ target.T
    opt = torch.optim.Adam([layer.lora_A, layer.lora_B], lr=1e-2)
    for _ in range(DELTA_STEPS):
        opt.zero_grad()
        torch.nn.functional.mse_loss(layer(x), want).backward()
        opt.step()
    # B A in float64, so float32 rounding does not pose as extra rank
    delta = layer.scaling * (layer.lora_B.detach().double() @ layer.lora_A.detach().double())
    rank = int(torch.linalg.matrix_rank(delta))
    singular = torch.linalg.svdvals(delta)
    return Answer(
        rank,
        f"After {DELTA_STEPS} Adam steps towards a full-rank change, ΔW = (α/r) B A is "
        f"{DELTA_SIZE} × {DELTA_SIZE} and its rank is **{rank}**: B is {DELTA_SIZE} × "
        f"{DELTA_RANK} and A is {DELTA_RANK} × {DELTA_SIZE}, so B A can never exceed rank "
        f"r = {DELTA_RANK}, however long it trains. Singular value {DELTA_RANK} is "
        f"{float(singular[DELTA_RANK - 1]):.2e}, value {DELTA_RANK + 1} is "
        f"{float(singular[DELTA_RANK]):.1e}. (At step 0 the rank is 0: B = 0.)",
        tolerance=0.0,
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="lora-trainable-percent",
        concept="lora",
        title="How much of the model trains?",
        question=f"LoRA with r = {PERCENT_RANK} on q_proj and v_proj only, on tiny-llama (2.56 M "
        "parameters). **What percentage of its parameters are trainable?**",
        solve=lazy("plugins.lora.exercises:trainable_percent"),
    ),
    Exercise(
        id="lora-zero-init",
        concept="lora",
        title="Before the first step",
        question=f"Right after LoRA (r = {PERCENT_RANK}, q and v) is added to tiny-llama, before "
        "any training: **how far are its logits from the base model's on the same prompt?**",
        solve=lazy("plugins.lora.exercises:zero_init_gap"),
        choices=GAPS,
    ),
    Exercise(
        id="lora-delta-rank",
        concept="lora",
        title="The rank of the update",
        question=f"A {DELTA_SIZE} × {DELTA_SIZE} layer gets a LoRA adapter with r = "
        f"{DELTA_RANK}, trained {DELTA_STEPS} steps towards a full-rank change. **What is the "
        "rank of the learned update ΔW = B·A?**",
        solve=lazy("plugins.lora.exercises:delta_rank"),
    ),
]
