"""A few LoRA steps on the real SmolLM2-135M decoder (GGUF) with mean, last-token and ATA pooling."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bench.run.train_settings import TrainSettings
from bench.run.training import train_adapter_set
from models.encoder import Encoder
from tests.train_fixtures import tiny_dataset, write_artifact

pytestmark = pytest.mark.slow  # loads a 135M-parameter model and trains it three times


@pytest.fixture(scope="module")
def smollm2_body(smollm2_gguf: Path) -> torch.nn.Module:
    """The dequantised body, loaded once with eager attention (ATA needs attention probabilities)."""
    return Encoder(str(smollm2_gguf), pooling="ata", device="cpu").model


@pytest.mark.parametrize("pooling", ["mean", "last", "ata"])
def test_lora_steps_on_smollm2(
    tmp_path: Path, smollm2_gguf: Path, smollm2_body: torch.nn.Module, pooling: str
) -> None:
    class PreloadedEncoder(Encoder):
        """Takes a copy of the body loaded once instead of dequantising the GGUF file again."""

        @property
        def model(self) -> torch.nn.Module:
            if self._model is None:
                self._model = copy.deepcopy(smollm2_body)
            return self._model

        @model.setter
        def model(self, model: torch.nn.Module) -> None:
            self._model = model

    def make_encoder() -> Encoder:
        return PreloadedEncoder(
            str(smollm2_gguf),
            pooling=pooling,
            padding_side="left",
            max_query_length=24,
            max_doc_length=32,
            device="cpu",
            batch_size=8,
        )

    settings = TrainSettings(
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.1),
        scheduler=None,
        lora={"r": 4, "alpha": 4, "dropout": 0.0},
        batch_size=4,
        max_steps=2,
        epochs=1,
        dev_fraction=0.0,
        accelerator="cpu",
        devices=1,
        num_threads=2,
        label_negatives=False,
    )
    result = train_adapter_set(
        tiny_dataset(), write_artifact(tmp_path / "synth"), make_encoder, settings, tmp_path / "cache"
    )
    info = result.metadata["adapters"]["global"]
    assert info["steps"] == 2 and result.metadata["model"]["pooling"] == pooling
    weights = load_file(str(result.adapters["global"] / "adapter_model.safetensors"))
    names = {k.split(".lora_")[0].rsplit(".", 1)[-1] for k in weights}
    assert {
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    } <= names  # all linear layers
    assert (
        max(v.abs().max().item() for k, v in weights.items() if "lora_B" in k) > 0
    )  # gradients reached the adapter
