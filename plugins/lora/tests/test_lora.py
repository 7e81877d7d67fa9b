"""Our LoRA layer and NF4 against peft and bitsandbytes, on fresh seeded random inputs and on
the bundled model; adapters move between peft's files and ours."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from plugins.lora import accounting, lora, nf4

SEEDS = range(4)
TARGETS = ["q_proj", "v_proj", "down_proj"]


@pytest.fixture(scope="module")
def llama():
    from playground import testing

    return testing.context().models.get("tiny-llama", "cpu")


def _randomise_b(layers, gen):
    with torch.no_grad():  # B starts at zero; a random B makes the update visible
        for layer in layers:
            layer.copy_(torch.randn(layer.shape, generator=gen) * 0.1)


class Wrap(nn.Module):
    def __init__(self, linear):
        super().__init__()
        self.proj = linear

    def forward(self, x):
        return self.proj(x)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rank,alpha", [(1, 1.0), (4, 8.0), (16, 4.0)])
def test_our_layer_matches_peft_on_the_same_base_a_and_b(seed, rank, alpha):
    from peft import LoraConfig, get_peft_model

    gen = torch.Generator().manual_seed(seed)
    k, d = 24 + seed, 40 - seed
    base = nn.Linear(k, d, bias=seed % 2 == 0)
    ours = lora.LoRALinear(copy.deepcopy(base), rank, alpha, generator=gen)
    _randomise_b([ours.lora_B], gen)
    peft_model = get_peft_model(
        Wrap(base), LoraConfig(r=rank, lora_alpha=alpha, target_modules=["proj"])
    )
    theirs = peft_model.base_model.model.proj
    with torch.no_grad():
        theirs.lora_A["default"].weight.copy_(ours.lora_A)
        theirs.lora_B["default"].weight.copy_(ours.lora_B)
    x = torch.randn(3, 5, k, generator=gen)
    torch.testing.assert_close(ours(x), peft_model(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        ours.delta_weight(), theirs.get_delta_weight("default"), atol=1e-6, rtol=0
    )
    assert torch.linalg.matrix_rank(ours.delta_weight()) <= rank


@pytest.mark.parametrize("seed", SEEDS)
def test_a_fresh_adapter_changes_nothing_and_a_is_drawn_like_peft(seed):
    gen = torch.Generator().manual_seed(seed)
    base = nn.Linear(64, 32)
    layer = lora.LoRALinear(base, 8, 16.0, generator=gen)
    x = torch.randn(7, 64, generator=gen)
    torch.testing.assert_close(layer(x), base(x), atol=0, rtol=0)  # B = 0: ΔW = 0 exactly
    assert layer.lora_A.abs().max() <= 64**-0.5  # kaiming_uniform(a=√5) is U(±1/√k)
    assert layer.lora_A.std() > 0.5 * 64**-0.5 / 3**0.5
    assert [n for n, p in layer.named_parameters() if p.requires_grad] == ["lora_A", "lora_B"]


@pytest.mark.parametrize("seed", SEEDS)
def test_merge_gives_the_same_outputs_and_unmerge_restores_the_weight(seed):
    gen = torch.Generator().manual_seed(seed)
    base = nn.Linear(48, 48)
    w0 = base.weight.detach().clone()
    layer = lora.LoRALinear(base, 4, 8.0, generator=gen)
    _randomise_b([layer.lora_B], gen)
    x = torch.randn(5, 48, generator=gen)
    before = layer(x)
    layer.merge()
    torch.testing.assert_close(layer(x), before, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(base(x), before, atol=1e-5, rtol=1e-5)  # the base alone now
    layer.unmerge()
    torch.testing.assert_close(base.weight, w0, atol=1e-6, rtol=0)
    model = lora.merge_and_unload(Wrap(layer))
    assert type(model.proj) is nn.Linear  # the base architecture, with W + ΔW
    torch.testing.assert_close(model(x), before, atol=1e-5, rtol=1e-5)


def _peft_twin(llama, ours_model):
    """peft on the same base, with our A and B copied in."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=4, lora_alpha=12, target_modules=TARGETS, task_type="CAUSAL_LM")
    peft_model = get_peft_model(copy.deepcopy(llama.model), config)
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(peft_model, lora.adapter_state_dict(ours_model))
    assert not [k for k in result.unexpected_keys if "lora" in k]
    return peft_model.eval()


@pytest.fixture(scope="module")
def ours_model(llama):
    model = copy.deepcopy(llama.model)
    gen = torch.Generator().manual_seed(7)
    layers = lora.inject(model, TARGETS, 4, 12.0, generator=gen)
    _randomise_b([layer.lora_B for layer in layers.values()], gen)
    return model.eval()


def test_on_the_bundled_model_ours_and_peft_agree(llama, ours_model):
    ids = torch.randint(4096, (2, 33), generator=torch.Generator().manual_seed(1))
    peft_model = _peft_twin(llama, ours_model)
    with torch.no_grad():
        mine, theirs = ours_model(ids).logits, peft_model(ids).logits
        base = llama.model(ids).logits
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)
    assert (mine - base).abs().max() > 1e-2  # the adapters really act
    assert lora.trainable_parameters(ours_model) == accounting.lora_parameters(
        llama.model, TARGETS, 4
    )
    assert sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n) == (
        lora.trainable_parameters(ours_model)
    )


def test_a_peft_saved_adapter_loads_into_ours_and_ours_into_peft(llama, ours_model, tmp_path):
    from peft import PeftModel

    ids = torch.randint(4096, (1, 20), generator=torch.Generator().manual_seed(2))
    peft_model = _peft_twin(llama, ours_model)
    peft_model.save_pretrained(tmp_path / "from-peft")
    mine = copy.deepcopy(llama.model)
    config = lora.load_adapter(mine, tmp_path / "from-peft")
    assert config["r"] == 4 and set(config["target_modules"]) == set(TARGETS)

    config = lora.adapter_config(TARGETS, 4, 12.0, 0.0, "tiny-llama")
    lora.save_adapter(ours_model, tmp_path / "from-ours", config)
    loaded = PeftModel.from_pretrained(copy.deepcopy(llama.model), tmp_path / "from-ours").eval()
    with torch.no_grad():
        expected = ours_model(ids).logits
        torch.testing.assert_close(mine.eval()(ids).logits, expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(loaded(ids).logits, expected, atol=1e-5, rtol=1e-5)


def test_bad_adapters_are_refused_with_a_reason(llama, ours_model, tmp_path):
    config = lora.adapter_config(TARGETS, 4, 12.0, 0.0, "tiny-llama")
    good = lora.save_adapter(ours_model, tmp_path / "good", config)
    not_safetensors = tmp_path / "junk"
    not_safetensors.mkdir()
    (not_safetensors / lora.CONFIG_FILE).write_text(json.dumps(config))
    (not_safetensors / lora.ADAPTER_FILE).write_bytes(b"PK\x03\x04 this is a zip, not safetensors")
    with pytest.raises(lora.AdapterError, match="not safetensors"):
        lora.load_adapter(copy.deepcopy(llama.model), not_safetensors)
    wrong_rank = dict(config, r=8)
    (good / lora.CONFIG_FILE).write_text(json.dumps(wrong_rank))
    with pytest.raises(lora.AdapterError, match="wrong shapes"):
        lora.load_adapter(copy.deepcopy(llama.model), good)
    (good / lora.CONFIG_FILE).write_text(json.dumps(dict(config, target_modules=["c_attn"])))
    with pytest.raises(lora.AdapterError, match="none of the target modules"):
        lora.load_adapter(copy.deepcopy(llama.model), good)
    (good / lora.CONFIG_FILE).write_text(json.dumps(dict(config, peft_type="IA3")))
    with pytest.raises(lora.AdapterError, match="not describe a LoRA"):
        lora.load_adapter(copy.deepcopy(llama.model), good)


# -- NF4 -----------------------------------------------------------------------------------


def test_nf4_linear_and_lora_on_top_train_only_the_adapter():
    gen = torch.Generator().manual_seed(0)
    linear = nn.Linear(128, 64, bias=False)
    q = nf4.NF4Linear(linear)
    layer = lora.LoRALinear(q, 4, 8.0, generator=gen)
    x = torch.randn(8, 128, generator=gen)
    torch.testing.assert_close(layer(x), x @ q.weight.T)
    layer(x).pow(2).sum().backward()
    # with B = 0 only B's gradient is nonzero at the first step (∂/∂A goes through B)
    assert layer.lora_A.grad.abs().sum() == 0 and layer.lora_B.grad.abs().sum() > 0
    assert not list(q.parameters())  # the frozen weight is buffers, not parameters


def test_budgets_and_measured_memory_agree_on_the_adapter(llama):
    model = copy.deepcopy(llama.model)
    lora.inject(model, TARGETS, 8, 16.0, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    ids = torch.randint(4096, (2, 16), generator=torch.Generator().manual_seed(0))
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    full, plain, q = accounting.budgets(llama.model, TARGETS, 8)
    got = accounting.measured(model, opt)
    assert got.trainable == plain.trainable == accounting.lora_parameters(llama.model, TARGETS, 8)
    assert got.gradients == plain.gradients and got.optimizer == plain.optimizer
    assert full.trainable == sum(p.numel() for p in llama.model.parameters())
    assert q.weights < plain.weights < full.total
