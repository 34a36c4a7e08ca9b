"""LoRA application (r, alpha, targets, DoRA, rsLoRA) and the warm-up schedule."""

from __future__ import annotations

import pytest
import torch

from bench.core.errors import ConfigError
from models.lora import LoraSettings, apply_lora, linear_targets
from models.schedules import linear_warmup


@pytest.fixture()
def bert() -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    return BertModel(
        BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=32,
        )
    )


def test_all_linear_adapts_every_layer_but_the_pooler(bert: torch.nn.Module) -> None:
    targets, excluded = linear_targets(bert)
    assert targets == ["dense", "key", "query", "value"]
    assert excluded == ["pooler.dense"]
    model = apply_lora(bert, LoraSettings(r=4, alpha=4, dropout=0.0))
    adapted = {n.removesuffix(".lora_A.default.weight") for n, _ in model.named_parameters() if "lora_A" in n}
    # per layer: query, key, value, attention.output.dense, intermediate.dense, output.dense
    assert len(adapted) == 2 * 6 and not any("pooler" in n for n in adapted)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # r x in for A, out x r for B: (16*4 + 4*16) * 4 attention + (16*4 + 4*32) + (32*4 + 4*16) per layer
    per_layer = 4 * (16 * 4 + 4 * 16) + (16 * 4 + 4 * 32) + (32 * 4 + 4 * 16)
    assert sum(p.numel() for n, p in model.named_parameters() if p.requires_grad) == 2 * per_layer


def test_scaling_dora_and_rslora(bert: torch.nn.Module) -> None:
    import copy

    plain = apply_lora(copy.deepcopy(bert), LoraSettings(r=4, alpha=16))
    rs = apply_lora(copy.deepcopy(bert), LoraSettings(r=4, alpha=16, use_rslora=True))
    dora = apply_lora(copy.deepcopy(bert), LoraSettings(r=4, alpha=16, use_dora=True))
    layer = "encoder.layer.0.attention.self.query"
    assert plain.get_submodule(f"base_model.model.{layer}").scaling["default"] == pytest.approx(16 / 4)
    assert rs.get_submodule(f"base_model.model.{layer}").scaling["default"] == pytest.approx(16 / 4**0.5)
    assert any("lora_magnitude_vector" in n for n, _ in dora.named_parameters())
    assert not any("lora_magnitude_vector" in n for n, _ in plain.named_parameters())


def test_explicit_targets_and_bad_values(bert: torch.nn.Module) -> None:
    model = apply_lora(bert, LoraSettings(r=2, alpha=2, target_modules=["query", "value"]))
    adapted = {
        n.split(".")[-4] for n, _ in model.named_parameters() if "lora_A" in n
    }  # ...query.lora_A.default.weight
    assert adapted == {"query", "value"}
    with pytest.raises(ConfigError, match="target_modules"):
        apply_lora(torch.nn.Linear(2, 2), LoraSettings(target_modules="linear"))
    with pytest.raises(ConfigError, match="r must be"):
        apply_lora(torch.nn.Linear(2, 2), LoraSettings(r=0))


def test_linear_warmup_then_decay() -> None:
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=4e-4)
    sched = linear_warmup(opt, num_training_steps=8, warmup_steps=4)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [4e-4 * f for f in (1 / 4, 2 / 4, 3 / 4, 1, 1, 3 / 4, 2 / 4, 1 / 4)]
    assert lrs == pytest.approx(expected)
    opt2 = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    linear_warmup(opt2, num_training_steps=20, warmup_ratio=0.1, decay="constant")
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.5)  # 2 warm-up steps: step 0 at 1/2
    with pytest.raises(ConfigError, match="decay"):
        linear_warmup(opt2, num_training_steps=20, decay="cosine")


def test_transformers_peft_integration_accepts_the_installed_peft(minilm_dir) -> None:
    """sentence-transformers' ``add_adapter`` goes through transformers' PEFT integration, which
    refuses a PEFT older than it needs (transformers 5.24 wants peft >= 0.22): drift of the lock
    (requirements/lock.txt) fails here, not in `make bench`."""
    from peft import LoraConfig
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir), device="cpu", local_files_only=True)
    model.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["query", "value"], lora_dropout=0.0))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
