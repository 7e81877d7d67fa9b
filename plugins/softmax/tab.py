"""The Softmax & Logits tab: layout, then events. The math lives in softmax.py."""

from __future__ import annotations

import math
import re
from pathlib import Path

import gradio as gr

from playground import devices, share

MIN_LOGITS, MAX_LOGITS = 2, 64
MAX_TEXT_CHARS = 2_000
MAX_LABEL_CHARS = 24
MAX_ABS_LOGIT = 1e6
T_MIN, T_MAX = 0.05, 5.0
DTYPES = ("float32", "float16", "bfloat16")
SWEEP_POINTS = 121
MATH_SOURCE = Path(__file__).with_name("softmax.py")  # shown to the learner as it is

# Next-token logits for "The cat sat on the ..." in three moods, and one that overflows.
PRESETS: dict[str, tuple[str, str]] = {
    "A confident model": (
        "6.0, 3.1, 2.4, 2.0, 0.9, -0.5, -1.5, -3.0",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "A flat, unsure model": (
        "1.2, 1.1, 1.05, 1.0, 0.95, 0.9, 0.85, 0.8",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "One huge outlier": (
        "2.1, 1.7, 25.0, 1.3, 0.4, -0.2, -1.1, -2.0",
        "mat, floor, sofa, bed, roof, table, moon, piano",
    ),
    "Huge logits [1000, 999, 998]": ("1000, 999, 998", "mat, floor, sofa"),
}
DEFAULT_PRESET = "A confident model"
CONCURRENCY = "softmax"  # every event of this tab shares one worker queue

INTRO = """
A network's last layer does not output probabilities. It outputs **logits**: one unnormalized
score per possible answer (here, per next token). **Softmax** turns them into probabilities,

$$p_i = \\mathrm{softmax}(z / T)_i = \\frac{e^{z_i / T}}{\\sum_j e^{z_j / T}},$$

and **temperature** $T$ sharpens ($T < 1$) or flattens ($T > 1$) the result before a token is
sampled. Change the numbers and watch.
"""


def _math():
    from plugins.softmax import softmax  # torch loads on first use, not at app start

    return softmax


def _split(text: str, what: str) -> list[str]:
    if len(text) > MAX_TEXT_CHARS:
        raise gr.Error(f"{what} is {len(text):,} characters long; at most {MAX_TEXT_CHARS:,}.")
    return [part for part in re.split(r"[,;\s]+", text.strip()) if part]


def parse_logits(text: str) -> list[float]:
    parts = _split(text or "", "The logits text")
    if not MIN_LOGITS <= len(parts) <= MAX_LOGITS:
        raise gr.Error(
            f"Enter between {MIN_LOGITS} and {MAX_LOGITS} logits, separated by commas "
            f"(got {len(parts)})."
        )
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise gr.Error(
                f"{part[:40]!r} is not a number; logits are plain numbers like -1.5 or 3."
            ) from None
        if not math.isfinite(value) or abs(value) > MAX_ABS_LOGIT:
            raise gr.Error(
                f"Each logit must be a finite number between ±{MAX_ABS_LOGIT:g}, not {part[:40]}."
            )
        values.append(value)
    return values


def parse_labels(text: str, count: int) -> list[str]:
    """One label per logit: missing ones are numbered, extras ignored, so editing logits alone
    never trips over the labels."""
    if len(text or "") > MAX_TEXT_CHARS:
        raise gr.Error(f"The labels text is too long; at most {MAX_TEXT_CHARS:,} characters.")
    given = [part.strip() for part in (text or "").split(",") if part.strip()][:count]
    labels = given + [f"#{i}" for i in range(len(given), count)]
    if len(set(labels)) != len(labels) or any(len(label) > MAX_LABEL_CHARS for label in labels):
        raise gr.Error(f"Labels must be distinct and at most {MAX_LABEL_CHARS} characters each.")
    return labels


def parse_temperature(value: float) -> float:
    if value is None or not math.isfinite(value) or not T_MIN <= value <= T_MAX:
        raise gr.Error(f"Temperature must be between {T_MIN} and {T_MAX}, not {value}.")
    return float(value)


def _fmt(x: float) -> str:
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.4e}"


def load_preset(name: str) -> tuple[str, str]:
    if not isinstance(name, str) or name not in PRESETS:  # a list is unhashable: check first
        raise gr.Error(f"Unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


def _stats_text(labels: list[str], probs, h: float) -> str:
    top, n = int(probs.argmax()), len(labels)
    return (
        f"**Top-1:** `{labels[top]}` with p = {probs[top]:.2%} · **entropy** H = {h:.3f} nats "
        f"= {h / math.log(2):.3f} bits (uniform over {n} would be {math.log(n):.3f} nats) "
        f"· **Σp** = {float(probs.sum()):.6f}"
    )


def _stability_text(dtype_name: str, steps, naive) -> str:
    import torch

    bad, n = int((~torch.isfinite(naive)).sum()), len(naive)
    exp_max = math.log(torch.finfo(getattr(torch, dtype_name)).max)  # float16: 11.09
    m = _fmt(float(steps.max))
    return (
        f"In **{dtype_name}**, `exp(x)` overflows to `inf` once x > {exp_max:.2f}. "
        f"The largest z/T here is {m}, so the naive formula gives **{bad} of {n} entries as "
        f"inf/NaN**{' (inf / inf = NaN)' if bad else ''}, while the stable one subtracts "
        f"m = {m} first: every exponent is ≤ 0, every exp is in (0, 1], and the sum is "
        f"{_fmt(float(steps.total))}.\n\n"
        "Why subtracting the max changes nothing: "
        "$\\frac{e^{z_i - m}}{\\sum_j e^{z_j - m}} = "
        "\\frac{e^{-m} e^{z_i}}{e^{-m} \\sum_j e^{z_j}} = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$"
        " — the factor $e^{-m}$ cancels."
    )


def _parse(
    logits_text: str, labels_text: str, temperature: float, dtype_name: str, target_label: str
) -> tuple[list[float], list[str], float, int]:
    values = parse_logits(logits_text)
    labels = parse_labels(labels_text, len(values))
    temperature = parse_temperature(temperature)
    if dtype_name not in DTYPES:
        raise gr.Error(f"Precision must be one of {', '.join(DTYPES)}.")
    # A target left over from other labels falls back to the first token rather than failing.
    target = labels.index(target_label) if target_label in labels else 0
    return values, labels, temperature, target


def compute(
    logits_text: str, labels_text: str, temperature: float, dtype_name: str, target_label: str
):
    """Everything the tab shows for one set of inputs (the `softmax_compute` endpoint)."""
    import torch

    from plugins.softmax import figures

    sm = _math()
    values, labels, temperature, target = _parse(
        logits_text, labels_text, temperature, dtype_name, target_label
    )

    dtype = getattr(torch, dtype_name)
    largest = max(abs(v) for v in values)
    if largest > torch.finfo(dtype).max:  # float16 stops at 65504: the logit itself would be inf
        raise gr.Error(
            f"{dtype_name} cannot hold a logit of {largest:g}: its largest number is "
            f"{torch.finfo(dtype).max:g}. Use smaller logits or float32."
        )
    z = torch.tensor(values, dtype=dtype, device=devices.device())
    values = z.float().tolist()  # what the dtype really holds: bfloat16 rounds 999 to 1000
    steps = sm.softmax_steps(z, temperature)
    naive = sm.naive_softmax(z, temperature).float()
    probs = sm.softmax(z, temperature).float()
    log_p = sm.log_softmax(z, temperature).float()
    ce = sm.cross_entropy(z[None, :], torch.tensor([target], device=z.device), temperature)
    # in float32 on both sides, so half precision's rounding does not pose as a change
    unshifted, shifted = (
        sm.softmax(z.float(), temperature),
        sm.softmax(z.float() + 100, temperature),
    )
    temps = torch.logspace(math.log10(T_MIN), math.log10(T_MAX), SWEEP_POINTS, device=z.device)
    sweep_h, sweep_top1 = sm.temperature_sweep(z, temps)

    columns = (values, steps.scaled, steps.shifted, steps.exps, naive, probs, log_p)
    table = [[label, *(_fmt(float(c[i])) for c in columns)] for i, label in enumerate(labels)]
    xent = (
        f"**Target `{labels[target]}`**: log p = z/T − logsumexp(z/T) = "
        f"{_fmt(float(steps.scaled[target]))} − {_fmt(float(steps.max + steps.total.log()))} = "
        f"**{_fmt(float(log_p[target]))}**, so the cross-entropy loss is −log p = "
        f"**{float(ce):.4f} nats**. A certain, correct model would pay 0; a uniform guess pays "
        f"ln {len(values)} = {math.log(len(values)):.3f}.\n\n"
        "**Logits are unnormalized scores**: add 100 to every logit and the probabilities move "
        f"by at most {float((shifted - unshifted).abs().max()):.2e} — only differences between "
        "logits matter. Scaling them does matter: dividing by T is exactly what temperature does."
    )
    return (
        _stats_text(labels, probs, sm.entropy(z, temperature).item()),
        figures.logits_and_probs(
            labels, values, steps.scaled.tolist(), probs.tolist(), target, temperature
        ),
        figures.temperature_curves(
            temps.tolist(),
            sweep_h.tolist(),
            sweep_top1.tolist(),
            temperature,
            math.log(len(values)),
        ),
        table,
        _stability_text(dtype_name, steps, naive),
        xent,
        gr.Dropdown(choices=labels, value=labels[target]),
    )


SNIPPET = '''"""The Softmax tab's numbers, recomputed by torch's softmax (ML Playground export)."""
import json

import torch
import torch.nn.functional as F

labels = {labels!r}
logits = torch.tensor({logits!r}, dtype=torch.{dtype})
temperature = {temperature!r}
target = {target!r}  # the token the cross-entropy is measured against

z = logits.float() / temperature  # half precision computes in float32, as torch's kernels do
p = F.softmax(z, dim=-1).to(logits.dtype).float()
log_p = F.log_softmax(z, dim=-1).to(logits.dtype).float()
print(json.dumps({{
    "labels": labels,
    "probabilities": p.tolist(),
    "log_probabilities": log_p.tolist(),
    "entropy_nats": float(-(p * log_p).sum()),
    "cross_entropy_nats": float(F.cross_entropy(z[None], torch.tensor([target])).to(logits.dtype)),
}}))
'''


def export(
    logits_text: str, labels_text: str, temperature: float, dtype_name: str, target_label: str
) -> share.Export:
    """The numbers on screen, the steps table and a script that recomputes them with torch."""
    import torch

    sm = _math()
    values, labels, temperature, target = _parse(
        logits_text, labels_text, temperature, dtype_name, target_label
    )
    z = torch.tensor(values, dtype=getattr(torch, dtype_name))
    probs, log_p = sm.softmax(z, temperature).float(), sm.log_softmax(z, temperature).float()
    ce = sm.cross_entropy(z[None, :], torch.tensor([target]), temperature)
    numbers = {
        "labels": labels,
        "probabilities": probs.tolist(),
        "log_probabilities": log_p.tolist(),
        "entropy_nats": float(-(probs * log_p).sum()),
        "cross_entropy_nats": float(ce),
    }
    columns = zip(labels, values, probs.tolist(), log_p.tolist(), strict=True)
    rows = [list(row) for row in columns]
    snippet = SNIPPET.format(
        labels=labels, logits=values, dtype=dtype_name, temperature=temperature, target=target
    )
    return share.Export(numbers, snippet, {"steps": (["token", "logit", "p", "log p"], rows)})


def build() -> gr.Blocks:
    logits0, labels0 = PRESETS[DEFAULT_PRESET]
    with gr.Blocks() as tab:
        gr.Markdown(
            INTRO,
            latex_delimiters=[
                {"left": "$$", "right": "$$", "display": True},
                {"left": "$", "right": "$", "display": False},
            ],
        )
        with gr.Row():
            with gr.Column(scale=1, min_width=280):
                preset = gr.Dropdown(list(PRESETS), value=DEFAULT_PRESET, label="Preset")
                logits = gr.Textbox(
                    logits0,
                    label="Logits z",
                    elem_id="softmax-logits",
                    info=f"{MIN_LOGITS}–{MAX_LOGITS} numbers; press Enter to apply",
                    max_length=MAX_TEXT_CHARS,
                )
                labels = gr.Textbox(
                    labels0,
                    label="Token labels (optional)",
                    info="one per logit, comma separated; missing ones are numbered",
                    max_length=MAX_TEXT_CHARS,
                )
                temperature = gr.Slider(
                    T_MIN,
                    T_MAX,
                    value=1.0,
                    step=0.05,
                    label="Temperature T",
                    elem_id="softmax-temperature",
                )
                dtype = gr.Radio(
                    list(DTYPES),
                    value="float32",
                    label="Precision",
                    info="float16 overflows exp() already past 11",
                )
                target = gr.Dropdown(
                    [], label="Target token (for cross-entropy)", allow_custom_value=True
                )
                apply = gr.Button("Apply", variant="primary")
            with gr.Column(scale=2):
                stats = gr.Markdown(elem_id="softmax-stats")
                bars = gr.Plot(label="Logits and probabilities", elem_id="softmax-bars")
                curves = gr.Plot(label="What temperature does", elem_id="softmax-curves")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Naive vs numerically stable softmax")
                stability = gr.Markdown(
                    elem_id="softmax-stability",
                    latex_delimiters=[{"left": "$", "right": "$", "display": False}],
                )
            with gr.Column():
                gr.Markdown("### log-softmax and cross-entropy")
                xent = gr.Markdown(elem_id="softmax-xent")
        table = gr.Dataframe(
            headers=[
                "token",
                "logit z",
                "z / T",
                "z / T − max",
                "exp(z / T − max)",
                "p naive",
                "p stable",
                "log p",
            ],
            label="Every step of the computation",
            interactive=False,
            elem_id="softmax-table",
        )

        inputs = [logits, labels, temperature, dtype, target]
        outputs = [stats, bars, curves, table, stability, xent, target]
        run = dict(
            fn=compute,
            inputs=inputs,
            outputs=outputs,
            concurrency_id=CONCURRENCY,
            show_progress="hidden",
        )
        state = {"logits": (logits, parse_logits), "labels": labels, "t": temperature,
                 "dtype": dtype, "target": target}  # fmt: skip
        share.link(tab, "softmax", state, load=dict(**run, api_name="softmax_compute"))
        share.export("softmax", export, inputs, state, api_name="softmax_export",
                     concurrency_id=CONCURRENCY)  # fmt: skip
        with gr.Accordion("The code behind this tab: plugins/softmax/softmax.py", open=False):
            gr.Code(MATH_SOURCE.read_text(), language="python", interactive=False)

        gr.on(
            [logits.submit, labels.submit, apply.click, dtype.input, target.input],
            **run,
            api_visibility="private",
        )
        temperature.change(**run, trigger_mode="always_last", api_visibility="private")
        preset.input(
            load_preset,
            preset,
            [logits, labels],
            api_name="softmax_preset",
            concurrency_id=CONCURRENCY,
        ).then(**run, api_visibility="private")
    return tab
