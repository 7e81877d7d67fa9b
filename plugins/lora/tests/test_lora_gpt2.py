"""Our LoRA on GPT-2's Conv1D projections (W stored transposed) against peft's fan_in_fan_out,
on small GPT-2s built from a config with seeded random weights (nothing is downloaded)."""

from __future__ import annotations

import copy

import pytest
import torch

from plugins.lora import cli, lora, train

SEEDS = range(3)
TARGETS = ["c_attn", "c_proj", "c_fc"]  # c_proj is both attention's output and the MLP's down
RANK, ALPHA = 4, 12.0
VOCAB = 97


def _gpt2(seed):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=VOCAB,
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=4,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,  # no dropout: train and eval agree
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)  # transformers initialises from the global generator
        return GPT2LMHeadModel(config).eval()


def _ours(base, seed):
    """Our adapters on a copy of ``base``, with a random B so that the update is visible."""
    model = copy.deepcopy(base)
    gen = torch.Generator().manual_seed(100 + seed)
    layers = lora.inject(model, TARGETS, RANK, ALPHA, generator=gen)
    with torch.no_grad():
        for layer in layers.values():
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=gen) * 0.1)
    return model


def _peft_twin(base, ours):
    """peft on the same base (fan_in_fan_out, as GPT-2 needs), with our A and B copied in."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    config = LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules=TARGETS, fan_in_fan_out=True)
    twin = get_peft_model(copy.deepcopy(base), config)
    result = set_peft_model_state_dict(twin, lora.adapter_state_dict(ours))
    assert not [k for k in result.unexpected_keys if "lora" in k]
    assert not [k for k in result.missing_keys if "lora" in k]
    return twin.eval()


def _ids(seed, shape=(2, 21)):
    return torch.randint(VOCAB, shape, generator=torch.Generator().manual_seed(seed))


def test_every_projection_is_found_and_wrapped_as_stored_transposed():
    base = _gpt2(0)
    model = copy.deepcopy(base)
    layers = lora.inject(model, TARGETS, RANK, ALPHA, generator=torch.Generator().manual_seed(0))
    # per block: c_attn (32 -> 96), attention's c_proj, the MLP's c_fc (32 -> 128) and c_proj
    assert len(layers) == 4 * 2
    assert all(layer.fan_in_fan_out for layer in layers.values())
    attn = layers["transformer.h.0.attn.c_attn"]
    assert attn.lora_A.shape == (RANK, 32) and attn.lora_B.shape == (96, RANK)
    mlp_down = layers["transformer.h.1.mlp.c_proj"]
    assert mlp_down.lora_A.shape == (RANK, 128) and mlp_down.lora_B.shape == (32, RANK)
    assert lora.target_names(base) == ["c_attn", "c_fc", "c_proj"]
    assert lora.fan_in_fan_out(base, ["c_attn"]) and not lora.fan_in_fan_out(base, ["lm_head"])
    with torch.no_grad():  # B = 0: a fresh adapter changes nothing
        torch.testing.assert_close(model(_ids(0)).logits, base(_ids(0)).logits, atol=0, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_on_gpt2_ours_and_peft_give_the_same_outputs_and_gradients(seed):
    base = _gpt2(seed)
    ours = _ours(base, seed)
    twin = _peft_twin(base, ours)
    ids = _ids(seed)
    mine, theirs = ours(input_ids=ids, labels=ids), twin(input_ids=ids, labels=ids)
    torch.testing.assert_close(mine.logits, theirs.logits, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        assert (mine.logits - base(ids).logits).abs().max() > 1e-2  # the adapters really act
    mine.loss.backward()
    theirs.loss.backward()
    expected = {
        n.replace(".default.weight", ""): p.grad
        for n, p in twin.named_parameters()
        if p.requires_grad
    }
    got = {f"base_model.model.{n}": p.grad for n, p in ours.named_parameters() if p.requires_grad}
    assert got.keys() == expected.keys() and len(got) == 2 * 8
    for name, grad in expected.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(got[name], grad, atol=1e-6, rtol=1e-4, msg=name)


@pytest.mark.parametrize("seed", SEEDS)
def test_on_gpt2_merging_gives_peft_merged_weights_and_unmerge_restores_them(seed):
    base = _gpt2(seed)
    ours = _ours(base, seed)
    twin = _peft_twin(base, ours)
    ids = _ids(seed)
    with torch.no_grad():
        before = ours(ids).logits
        lora.set_merged(ours, True)
        torch.testing.assert_close(ours(ids).logits, before, atol=1e-5, rtol=1e-5)
        lora.set_merged(ours, False)
        for name, weight in base.state_dict().items():  # back to the base exactly, up to rounding
            key = name.replace(".weight", ".base.weight").replace(".bias", ".base.bias")
            got = ours.state_dict().get(key, ours.state_dict().get(name))
            torch.testing.assert_close(got, weight, atol=1e-6, rtol=0, msg=name)

        merged, peft_merged = lora.merge_and_unload(ours), twin.merge_and_unload()
        mine, theirs = merged.state_dict(), peft_merged.state_dict()
        assert mine.keys() == theirs.keys()
        for name in mine:
            torch.testing.assert_close(mine[name], theirs[name], atol=1e-6, rtol=0, msg=name)
        w0 = base.transformer.h[0].attn.c_attn.weight  # (k, d) = (32, 96): ΔW went in as ΔWᵀ
        assert (mine["transformer.h.0.attn.c_attn.weight"] - w0).abs().max() > 1e-3
        assert type(merged.transformer.h[0].attn.c_attn) is type(base.transformer.h[0].attn.c_attn)
        torch.testing.assert_close(merged(ids).logits, before, atol=1e-5, rtol=1e-5)


def test_a_gpt2_adapter_moves_between_peft_files_and_ours(tmp_path):
    from peft import PeftModel

    base = _gpt2(5)
    ours = _ours(base, 5)
    _peft_twin(base, ours).save_pretrained(tmp_path / "from-peft")
    loaded = copy.deepcopy(base)
    config = lora.load_adapter(loaded, tmp_path / "from-peft")
    assert config["fan_in_fan_out"] is True

    config = lora.adapter_config(TARGETS, RANK, ALPHA, 0.0, "tiny-gpt2")
    folder = lora.save_adapter(ours, tmp_path / "from-ours", config)
    assert lora.read_adapter(folder)[0]["fan_in_fan_out"] is True  # peft merges it transposed
    theirs = PeftModel.from_pretrained(copy.deepcopy(base), folder).eval()
    ids = _ids(6)
    with torch.no_grad():
        expected = ours.eval()(ids).logits
        torch.testing.assert_close(loaded.eval()(ids).logits, expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(theirs(ids).logits, expected, atol=1e-5, rtol=1e-5)
        before = theirs(ids).logits
        torch.testing.assert_close(
            theirs.merge_and_unload()(ids).logits, before, atol=1e-5, rtol=1e-5
        )


def test_the_cli_targets_gpt2s_fused_attention_and_the_loop_trains_it(tmp_path):
    base = _gpt2(1)
    targets = cli.usual_targets(base)
    assert targets == ("c_attn",)  # q, k and v in one projection: the paper's Wq, Wv and Wk
    data = _ids(2, (40, 16))
    cfg = train.TrainConfig(model_id="tiny-gpt2", targets=targets, steps=4, batch=4, block=16)
    final = list(train.train(base, data, cfg, report_every=10))[-1]
    assert final.done and final.step == 4 and final.model.peft_config["default"].fan_in_fan_out
    final.model.save_pretrained(tmp_path)
    ours = copy.deepcopy(base)
    lora.load_adapter(ours, tmp_path)
    ids = _ids(3)
    with torch.no_grad():
        torch.testing.assert_close(
            ours.eval()(ids).logits, final.model(ids).logits, atol=1e-5, rtol=1e-5
        )


def test_the_cli_refuses_targets_the_model_lacks_and_names_those_it_has(tmp_path, capsys):
    from playground import testing

    context = testing.context()
    llama = context.models.get("tiny-llama", "cpu").model
    assert cli.usual_targets(llama) == train.TrainConfig().targets == ("q_proj", "v_proj")
    text = tmp_path / "style.txt"
    text.write_text("a line of text\n" * 50)
    argv = ["--targets", "c_attn", "--data", str(text), "--out", str(tmp_path / "out")]
    assert cli.main(context, argv) == 2
    err = capsys.readouterr().err
    assert "--targets must be among down_proj,gate_proj,k_proj,o_proj,q_proj,up_proj,v_proj" in err
    assert not (tmp_path / "out").exists()
