"""Prepacked oneDNN linears (models.prepack): same vectors, an exact undo, and training untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bench.core.errors import ConfigError
from models import prepack as packing
from models.encoder import Encoder
from models.lora import LoraSettings, apply_lora

pytestmark = pytest.mark.skipif(
    not packing.available(), reason="this PyTorch build has no oneDNN linear kernels"
)

TEXTS = [
    "welder",
    "Coordinates suppliers of oak veneer; negotiates yearly contracts and audits quality.",
    "ceramic glazing line maintenance and kiln scheduling " * 30,
    "QA",
    "Experienced in ISO 9001 audits, root-cause analysis and 8D reports for bathroom fixtures.",
]


def packed_layers(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if "forward" in m.__dict__]


@pytest.fixture(scope="module")
def eager_vectors(minilm_dir: Path) -> np.ndarray:
    return Encoder(str(minilm_dir), max_doc_length=128, device="cpu", prepack=False).encode_documents(TEXTS)


def test_packed_minilm_gives_the_same_vectors(minilm_dir: Path, eager_vectors: np.ndarray) -> None:
    enc = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    vectors = enc.encode_documents(TEXTS)
    handle = enc._prepacked
    # 6 layers x (query, key, value, attention output, intermediate, output) + the pooler; the
    # intermediate GELU of each layer rides on its GEMM
    assert handle is not None and len(handle.linears) == 6 * 6 + 1 and handle.fused_activations == 6
    assert all(
        type(layer.intermediate.intermediate_act_fn) is nn.Identity for layer in enc._model.encoder.layer
    )
    np.testing.assert_allclose(vectors, eager_vectors, atol=1e-5, rtol=0)
    assert not np.array_equal(vectors, eager_vectors)  # it did take the other kernels


def test_model_access_undoes_the_packing_exactly(minilm_dir: Path) -> None:
    enc = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    keys = list(enc.model.state_dict())
    batch = enc.tokenize(TEXTS)
    with torch.inference_mode():
        before = enc.model(**batch).last_hidden_state
    enc.encode_documents(TEXTS)
    assert packed_layers(enc._model)
    model = enc.model  # what training and anyone else gets
    assert enc._prepacked is None and not packed_layers(model)
    assert type(model.encoder.layer[0].intermediate.intermediate_act_fn).__name__ == "GELUActivation"
    assert list(model.state_dict()) == keys
    with torch.inference_mode():
        torch.testing.assert_close(model(**batch).last_hidden_state, before, atol=0, rtol=0)


def test_lora_training_after_encoding_and_its_dev_encoding(
    minilm_dir: Path, eager_vectors: np.ndarray
) -> None:
    enc = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    enc.encode_documents(TEXTS)  # packs
    enc.model = apply_lora(enc.model, LoraSettings(r=4, alpha=8, dropout=0.0))
    vectors = enc.embed(enc.tokenize(TEXTS[:2]))
    vectors.sum().backward()
    lora_b = [p for n, p in enc.model.named_parameters() if "intermediate.dense.lora_B" in n]
    assert lora_b and all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora_b)
    # the dev metrics encode a model with trainable adapters: it stays on the autograd kernels
    dev = enc.encode_documents(TEXTS)
    assert enc._prepacked is None and not packed_layers(enc.model)
    np.testing.assert_allclose(dev, eager_vectors, atol=1e-5, rtol=0)  # B = 0: adapters start as a no-op


def test_prepack_true_says_why_it_cannot(minilm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    enc = Encoder(str(minilm_dir), max_doc_length=128, device="cpu", dtype="bfloat16", prepack=True)
    with pytest.raises(
        ConfigError, match=r"model.prepack=true: prepacking is for fp32 on a CPU.*model.prepack=null"
    ):
        enc.encode_documents(TEXTS[:1])
    monkeypatch.setattr(packing, "available", lambda: False)
    auto = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    auto.encode_documents(TEXTS[:1])
    assert auto._prepacked is None


def test_auto_skips_models_over_the_size_limit(minilm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(packing, "AUTO_MAX_BYTES", 1024)
    auto = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    auto.encode_documents(TEXTS[:1])
    forced = Encoder(str(minilm_dir), max_doc_length=128, device="cpu", prepack=True)
    forced.encode_documents(TEXTS[:1])
    assert auto._prepacked is None and forced._prepacked is not None


def test_packed_decoder_gives_the_same_vectors(smollm2_gguf: Path) -> None:
    kwargs = dict(pooling="mean", padding_side="left", max_doc_length=64, device="cpu")
    packed = Encoder(str(smollm2_gguf), **kwargs)
    vectors = packed.encode_documents(TEXTS)
    assert (
        packed._prepacked is not None and packed._prepacked.fused_activations == 0
    )  # SiLU gate: linears only
    eager = Encoder(str(smollm2_gguf), prepack=False, **kwargs).encode_documents(TEXTS)
    np.testing.assert_allclose(vectors, eager, atol=1e-5, rtol=0)


class Block(nn.Module):
    """BERT's intermediate layer shape: a linear ``dense`` then ``intermediate_act_fn``."""

    def __init__(self, activation: nn.Module) -> None:
        super().__init__()
        self.dense, self.intermediate_act_fn = nn.Linear(8, 16), activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(x))


@pytest.mark.parametrize(
    ("activation", "fused"),
    [
        (nn.GELU(), True),
        (nn.GELU(approximate="tanh"), False),
        (nn.ReLU(), False),
    ],
)
def test_only_an_exact_gelu_is_fused(activation: nn.Module, fused: bool) -> None:
    torch.manual_seed(0)
    block = Block(activation).requires_grad_(False)
    x = torch.randn(5, 3, 8)  # (batch, seq, in)
    expected = block(x)
    handle = packing.prepack(block)
    assert handle.fused_activations == int(fused) and len(handle.linears) == 1
    with torch.inference_mode():
        torch.testing.assert_close(block(x), expected, atol=1e-6, rtol=0)
    handle.undo()
    assert block.intermediate_act_fn is activation and not packed_layers(block)


def test_with_autograd_a_packed_layer_takes_its_own_kernels() -> None:
    torch.manual_seed(0)
    block = Block(nn.GELU()).requires_grad_(False)
    x = torch.randn(4, 8, requires_grad=True)
    expected = torch.autograd.grad(block(x).sum(), x)[0]
    packing.prepack(block)
    y = block(x)  # grad mode: F.linear + the GELU the packing moved off the parent
    assert y.requires_grad
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], expected, atol=1e-6, rtol=0)


def test_two_encoders_sharing_one_model(minilm_dir: Path, eager_vectors: np.ndarray) -> None:
    first = Encoder(str(minilm_dir), max_doc_length=128, device="cpu")
    second = Encoder(str(minilm_dir), max_doc_length=128, device="cpu", batch_size=1)
    second.model = first.model  # same weights, no second load
    for enc in (second, first, second):
        np.testing.assert_allclose(enc.encode_documents(TEXTS), eager_vectors, atol=1e-5, rtol=0)
    _ = first.model  # undoes only what `first` packed (nothing: `second` had packed it all)
    np.testing.assert_allclose(second.encode_documents(TEXTS), eager_vectors, atol=1e-5, rtol=0)
