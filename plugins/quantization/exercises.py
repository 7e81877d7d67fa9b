"""Predict, then reveal: three exercises on quantization, each answered on tiny-llama's real
weights and held-out text by this plugin's own quantizers."""

from __future__ import annotations

from playground import lazy
from playground.concept import Context
from playground.exercise import Answer, Exercise

PPL_CHOICES = ("int4 per tensor", "int8 per channel", "About the same (within 0.1 %)")
OUTLIER_SIZE = 50  # × the matrix's largest |w|
SNR_CHOICES = (
    "It barely moves (under 5 dB)",
    "It drops by 5 to 20 dB",
    "It drops by more than 20 dB",
)


def _views():
    from plugins.quantization import views

    return views


def int4_tensor_or_int8_channel(context: Context) -> Answer:
    from plugins.quantization import llm, runs
    from plugins.quantization import quantization as Q

    views, device = _views(), context.device()
    fp = runs.float_baseline(context, device)[0]
    int8 = runs.quantized_perplexity(context, device, llm.Recipe(Q.Scheme()), None)
    int4 = runs.quantized_perplexity(
        context, device, llm.Recipe(Q.Scheme("int4", granularity="tensor")), None
    )
    if abs(int4 - int8) / fp < 1e-3:
        worse = PPL_CHOICES[2]
    else:
        worse = PPL_CHOICES[0] if int4 > int8 else PPL_CHOICES[1]
    return Answer(
        worse,
        f"Held-out perplexity over {views.HELDOUT_TOKENS:,} tokens: float32 **{fp:.3f}**, "
        f"int8 per channel **{int8:.3f}** ({int8 / fp - 1:+.2%}), int4 per tensor "
        f"**{int4:.3f}** ({int4 / fp - 1:+.2%}). int4 has 15 levels instead of 255, and one "
        "scale for the whole matrix lets its largest weight set a step at least 18× "
        "coarser than int8's per-row steps (127 / 7). This small model is robust: even int4 "
        "per tensor costs under a percent, but the order never flips.",
    )


def nf4_levels_in_half(context: Context) -> Answer:
    import torch

    from plugins.quantization import bits, nf4
    from plugins.quantization import quantization as Q

    levels = nf4.nf4_levels()
    inside = levels[(levels >= -0.5) & (levels <= 0.5)]
    lm = _views().load_lm(context)
    w = lm.model.model.layers[0].self_attn.q_proj.weight.detach().float().cpu()
    b = Q.blocks(w, Q.Scheme("nf4", granularity="group", group_size=nf4.NF4_BLOCK))
    share = float(((b / bits.absmax(b)).abs() <= 0.5).float().mean())
    shown = ", ".join(f"{v:.3f}" for v in inside.tolist())
    return Answer(
        len(inside),
        f"{len(inside)} of the 16 levels lie in [−0.5, 0.5]: {shown}. NormalFloat puts its "
        "levels at quantiles of a normal distribution, so they crowd where weights crowd: "
        f"**{share:.0%}** of layer 0's q_proj weights, each divided by its block's absmax "
        f"(blocks of {nf4.NF4_BLOCK}), fall in that range too. A uniform 4-bit grid would "
        f"spend only {int(torch.arange(-7, 8).div(7).abs().le(0.5).sum())} of its 15 levels there.",
        tolerance=0.0,
    )


def outlier_and_per_tensor_snr(context: Context) -> Answer:
    views = _views()

    def snr(outliers: int, granularity: str) -> float:
        *_, err, _, _ = views._lab(
            context,
            "tiny-llama",
            0,
            "q_proj",
            "int8",
            "symmetric",
            granularity,
            64,
            outliers,
            OUTLIER_SIZE,
            0,
        )
        return err.snr_db

    before, after = snr(0, "tensor"), snr(1, "tensor")
    drop = before - after
    truth = SNR_CHOICES[0 if drop < 5 else 1 if drop < 20 else 2]
    return Answer(
        truth,
        f"int8 per tensor on layer 0's q_proj: SNR **{before:.1f} dB** clean, **{after:.1f} dB** "
        f"with one weight of {OUTLIER_SIZE} × max|w| (a drop of {drop:.1f} dB). The one scale is "
        f"max|w| / 127, so the outlier makes every step {OUTLIER_SIZE}× coarser and most "
        "weights round to 0. Per channel only the outlier's row pays: "
        f"{snr(0, 'channel'):.1f} → {snr(1, 'channel'):.1f} dB.",
    )


# The records: the same shape in every plugin's exercises.py, deliberately.
EXERCISES = [
    Exercise(
        id="quantization-int4-vs-int8",
        concept="quantization",
        title="int4 per tensor or int8 per channel?",
        question="Quantize every linear layer of tiny-llama's blocks two ways: int4 with one "
        "scale per tensor, or int8 with one scale per output channel. **Which hurts held-out "
        "perplexity more?**",
        solve=lazy("plugins.quantization.exercises:int4_tensor_or_int8_channel"),
        choices=PPL_CHOICES,
    ),
    Exercise(
        id="quantization-nf4-levels",
        concept="quantization",
        title="NF4 levels near zero",
        question="NF4 has 16 levels spread over [−1, 1] (a block's weights are divided by their "
        "absmax first). **How many of the 16 lie in [−0.5, 0.5]?**",
        solve=lazy("plugins.quantization.exercises:nf4_levels_in_half"),
    ),
    Exercise(
        id="quantization-one-outlier",
        concept="quantization",
        title="One outlier, one scale",
        question=f"Layer 0's q_proj in int8 per tensor keeps an SNR near 39 dB. Plant **one** "
        f"weight of {OUTLIER_SIZE} × the largest |w|. **What happens to the SNR?**",
        solve=lazy("plugins.quantization.exercises:outlier_and_per_tensor_snr"),
        choices=SNR_CHOICES,
    ),
]
