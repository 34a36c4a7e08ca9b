"""FastDropout: dropout's definition with masks drawn four elements per 64-bit draw."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from bench.core.errors import ConfigError
from models.dropout import FastDropout, drop_mask, quantised, resolve_masks, use_fast_dropout


@pytest.mark.parametrize("p", [0.05, 0.1, 0.5])
def test_each_lane_drops_with_probability_p(p: float) -> None:
    torch.manual_seed(3)
    n = 400_000
    mask = drop_mask((n,), p).view(-1, 4)  # the four 16-bit lanes of each draw, side by side
    q = quantised(p)
    sigma = math.sqrt(q * (1 - q) / (n // 4))
    for lane in range(4):
        assert abs(mask[:, lane].float().mean().item() - q) < 5 * sigma
    # neighbouring lanes of one draw are independent: both dropped as often as p squared
    both = (mask[:, 0] & mask[:, 1]).float().mean().item()
    assert abs(both - q * q) < 5 * math.sqrt(q * q * (1 - q * q) / (n // 4))


def test_masks_follow_torch_seed() -> None:
    torch.manual_seed(11)
    a = drop_mask((33, 7), 0.3)
    torch.manual_seed(11)
    b = drop_mask((33, 7), 0.3)
    c = drop_mask((33, 7), 0.3)
    assert a.shape == (33, 7) and a.dtype == torch.bool
    assert torch.equal(a, b) and not torch.equal(b, c)


def test_quantised_p_and_scale_keep_the_expectation() -> None:
    assert quantised(0.1) == 6554 / 65536 and quantised(0.5) == 0.5
    torch.manual_seed(0)
    x = torch.ones(1_000_000)
    y = FastDropout(0.1).train()(x)
    kept = y != 0
    assert torch.all(y[kept] == 1 / (1 - quantised(0.1)))
    assert y.mean().item() == pytest.approx(1.0, abs=5 * math.sqrt(0.1 / 0.9 / 1e6))


def test_forward_and_gradient_match_dropout_with_the_same_mask() -> None:
    torch.manual_seed(5)
    x = torch.randn(64, 48, requires_grad=True)
    layer = FastDropout(0.2).train()
    state = torch.get_rng_state()
    y = layer(x)
    torch.set_rng_state(state)
    keep = ~drop_mask(x.shape, 0.2)
    scale = 1 / (1 - quantised(0.2))
    torch.testing.assert_close(y, x.detach() * keep * scale, rtol=0, atol=0)
    (y * torch.arange(48.0)).sum().backward()
    torch.testing.assert_close(x.grad, keep * scale * torch.arange(48.0), rtol=0, atol=0)


def test_eval_mode_and_p_zero_are_the_identity_and_p_one_zeroes() -> None:
    x = torch.randn(5, 6)
    assert FastDropout(0.3).eval()(x) is x
    assert FastDropout(0.0).train()(x) is x
    assert torch.count_nonzero(FastDropout(1.0).train()(x)) == 0


def test_inplace_dropout_writes_into_its_input() -> None:
    torch.manual_seed(2)
    x = torch.ones(100, 100)
    y = FastDropout(0.5, inplace=True).train()(x)
    assert y.data_ptr() == x.data_ptr() and 0 < torch.count_nonzero(x) < 10_000


def test_swap_keeps_names_p_state_and_eval_outputs() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.1), nn.GELU(), nn.Sequential(nn.Dropout(0.3)))
    x = torch.randn(4, 8)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before = model.eval()(x)
    assert use_fast_dropout(model) == 2
    assert [type(m).__name__ for m in model.modules()].count("FastDropout") == 2
    assert model[1].p == 0.1 and model[3][0].p == 0.3
    assert model.state_dict().keys() == before_state.keys()
    torch.testing.assert_close(model.eval()(x), before, rtol=0, atol=0)
    assert use_fast_dropout(model) == 0  # already swapped


def test_swap_reaches_lora_and_body_dropouts(minilm_dir) -> None:
    from transformers import AutoModel

    from models.lora import LoraSettings, apply_lora

    model = apply_lora(AutoModel.from_pretrained(minilm_dir), LoraSettings(r=4, alpha=4, dropout=0.05))
    plain = [n for n, m in model.named_modules() if type(m) is nn.Dropout]
    assert any("lora_dropout" in n for n in plain) and any("output.dropout" in n for n in plain)
    assert use_fast_dropout(model) == len(plain)
    assert not [n for n, m in model.named_modules() if type(m) is nn.Dropout]


def test_auto_is_fast_on_cpu_only_and_unknown_names_fail() -> None:
    assert resolve_masks("auto", "cpu") == "fast" and resolve_masks("auto", "cuda") == "torch"
    assert resolve_masks("torch", "cpu") == "torch" and resolve_masks("fast", "cpu") == "fast"
    with pytest.raises(ConfigError, match="train.dropout_masks"):
        resolve_masks("philox", "cpu")
    with pytest.raises(ConfigError, match="on a GPU use torch"):
        resolve_masks("fast", "cuda")


def test_one_64_bit_draw_serves_four_mask_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    sizes = []
    real = np.random.PCG64DXSM

    class Counting(real):
        def random_raw(self, size=None, output=True):  # noqa: ANN001, ANN201
            sizes.append(size)
            return super().random_raw(size, output)

    monkeypatch.setattr(np.random, "PCG64DXSM", Counting)
    drop_mask((10, 7), 0.1)
    assert sizes == [18]  # 70 elements: ceil(70 / 4) words
