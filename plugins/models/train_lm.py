"""Train the bundled tokenizer and language models, reproducibly, on 2 CPU cores.

    python -m plugins.models.train_lm tokenizer          # corpus + byte-level BPE
    python -m plugins.models.train_lm dense --steps N    # Llama-style: RMSNorm, RoPE, SwiGLU
    python -m plugins.models.train_lm moe --steps N      # Mixtral-style: 8 experts, top-2
    python -m plugins.models.train_lm cards              # held-out numbers + model cards

The MoE's experts are half as wide as the dense model's feed-forward network, so with two
experts per token its *active* parameters match the dense model's; both see the same tokens
in the same order for the same number of steps.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from plugins.models import cards, corpus
from plugins.models.heldout import SEQ_LEN, encode_lines
from plugins.models.paths import DENSE_DIR, HELDOUT, MOE_DIR, TOKENIZER_DIR

VOCAB_SIZE = 4096
EOS = "<|endoftext|>"
BATCH = 32
LR = 3e-3
WARMUP = 100
SEED = 0

# Shared by both models: only the feed-forward part differs.
COMMON = dict(
    vocab_size=VOCAB_SIZE,
    hidden_size=192,  # d_model
    num_hidden_layers=4,
    num_attention_heads=6,  # head dim 32
    num_key_value_heads=6,
    max_position_embeddings=512,
    rope_theta=10_000.0,
    rms_norm_eps=1e-5,
    tie_word_embeddings=True,
    bos_token_id=0,
    eos_token_id=0,
)
DENSE_FFN = 512  # SwiGLU hidden width of the dense model
MOE_EXPERTS, MOE_TOP_K = 8, 2
MOE_FFN = DENSE_FFN // MOE_TOP_K  # so that top-2 experts = one dense FFN in active params


def dense_config():
    from transformers import LlamaConfig

    return LlamaConfig(**COMMON, intermediate_size=DENSE_FFN, attn_implementation="eager")


def moe_config():
    from transformers import MixtralConfig

    return MixtralConfig(
        **COMMON,
        intermediate_size=MOE_FFN,
        num_local_experts=MOE_EXPERTS,
        num_experts_per_tok=MOE_TOP_K,
        router_aux_loss_coef=0.02,
        output_router_logits=False,
        attn_implementation="eager",
    )


def train_tokenizer(work: Path) -> None:
    """Write the corpus to ``work`` and train the BPE on it; ship the held-out text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    train, heldout = corpus.write(work, SEED)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
    )
    tok.train([str(train)], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=None, pad_token=EOS
    )
    fast.save_pretrained(TOKENIZER_DIR)
    HELDOUT.write_text(heldout.read_text(encoding="utf-8"), encoding="utf-8")


def train(kind: str, steps: int, work: Path, threads: int) -> None:
    from transformers import LlamaForCausalLM, MixtralForCausalLM

    torch.manual_seed(SEED)
    torch.set_num_threads(threads)
    text = work / "train.txt"
    if not text.exists():
        corpus.write(work, SEED)
    ids = encode_lines(text.read_text(encoding="utf-8"))
    print(f"{len(ids):,} training tokens", file=sys.stderr)
    model = (
        LlamaForCausalLM(dense_config()) if kind == "dense" else MixtralForCausalLM(moe_config())
    )
    opt = torch.optim.AdamW(model.parameters(), lr=LR, betas=(0.9, 0.95), weight_decay=0.1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    gen = torch.Generator().manual_seed(SEED)  # the same batches for both models
    started, log = time.perf_counter(), []
    model.train()
    for step in range(steps):
        starts = torch.randint(len(ids) - SEQ_LEN, (BATCH,), generator=gen)
        batch = torch.stack([ids[s : s + SEQ_LEN] for s in starts])  # (B, T)
        extra = {"output_router_logits": True} if kind == "moe" else {}  # adds the aux loss
        # labels = the inputs: the model shifts them by one itself to score each next token
        out = model(input_ids=batch, labels=batch, **extra)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        schedule.step()
        opt.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == steps - 1:
            elapsed = time.perf_counter() - started
            log.append({"step": step, "loss": round(out.loss.item(), 4), "s": round(elapsed, 1)})
            print(json.dumps(log[-1]), file=sys.stderr, flush=True)
    out_dir = DENSE_DIR if kind == "dense" else MOE_DIR
    model.config.output_router_logits = False
    model.half().save_pretrained(out_dir)  # float16 on disk; loaders return float32
    (out_dir / "training.json").write_text(
        json.dumps(
            {
                "steps": steps,
                "batch": BATCH,
                "seq_len": SEQ_LEN,
                "lr": LR,
                "seed": SEED,
                "train_tokens": len(ids),
                "tokens_seen": steps * BATCH * SEQ_LEN,
                "seconds": round(time.perf_counter() - started),
                "log": log,
            },
            indent=1,
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["tokenizer", "dense", "moe", "cards"])
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pg-corpus")
    # 1 thread each lets the two models train side by side on 2 cores without stalling
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.what == "tokenizer":
        train_tokenizer(args.work)
    elif args.what == "cards":
        cards.write_cards()
    else:
        train(args.what, args.steps, args.work, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
