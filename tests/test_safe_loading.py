"""Safe loading: no model code runs unless a preset or the user says so, and no pickle is unpickled.

* ``trust_remote_code`` is off in every ``conf/model`` preset but those whose model cards need the
  repository's own code (gte-Qwen2, stella), and off by default in :class:`models.encoder.Encoder`;
  a model that needs remote code is refused with a one-line error and its code never runs.
* Adapters load from ``adapter_model.safetensors`` only; embedding caches are ``.npz`` files read
  with ``allow_pickle=False``. Pickles planted in their place are refused without being run.
"""

from __future__ import annotations

import inspect
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
NEEDS_REMOTE_CODE = {
    "gte_qwen2_1_5b_instruct",
    "stella_en_400m_v5",
}  # their model cards load with trust_remote_code
SOURCES = [
    p for d in ("bench", "models", "data_synth", "reports", "aggregators") for p in (ROOT / d).rglob("*.py")
]


class Boom:
    """Unpickling this writes a marker file: proof that a pickle was run."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (Path(self.marker).write_text, ("unpickled",))


def test_trust_remote_code_only_where_the_model_card_needs_it() -> None:
    presets = {
        p.stem: yaml.safe_load(p.read_text()) for p in sorted((ROOT / "conf" / "model").glob("*.yaml"))
    }
    assert NEEDS_REMOTE_CODE <= set(presets) and len(presets) > len(NEEDS_REMOTE_CODE)
    for name, preset in presets.items():
        assert preset.get("trust_remote_code") is (name in NEEDS_REMOTE_CODE), name
    from models.encoder import Encoder

    assert inspect.signature(Encoder).parameters["trust_remote_code"].default is False


def test_no_pickle_in_the_code() -> None:
    """Grep: no pickle / joblib / dill loads, np.load only with allow_pickle=False, torch.load only
    weights_only=True."""
    assert len(SOURCES) > 50
    for path in SOURCES:
        text = path.read_text()
        where = path.relative_to(ROOT)
        assert not re.search(r"\b(pickle|dill|cloudpickle|joblib)\.loads?\(", text), where
        assert "allow_pickle=True" not in text, where
        for call in re.findall(r"np\.load\([^)]*\)", text):
            assert "allow_pickle=False" in call, (where, call)
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (where, call)
        assert "trust_remote_code=True" not in text, where  # only configs turn it on


def test_embedding_cache_refuses_a_planted_pickle(tmp_path: Path) -> None:
    from models.embedding_cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "emb")
    keys = np.zeros((2, 32), np.uint8)
    keys[1, 0] = 1
    cache.store("fp", "document", keys, np.ones((2, 3), np.float32))
    found, vectors = cache.lookup("fp", "document", keys)
    assert found.all() and vectors.shape == (2, 3)
    marker = tmp_path / "marker"
    with (tmp_path / "emb" / "fp" / "document-evil.npz").open("wb") as handle:
        np.savez(handle, keys=np.array([Boom(marker)], dtype=object), vectors=np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="allow_pickle"):
        cache.load("fp", "document")
    assert not marker.exists()


def test_adapters_load_from_safetensors_only(tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertModel

    from models.loading import attach_adapter

    def tiny() -> torch.nn.Module:
        torch.manual_seed(0)
        return BertModel(
            BertConfig(
                vocab_size=64,
                hidden_size=16,
                num_hidden_layers=1,
                num_attention_heads=2,
                intermediate_size=32,
            )
        )

    peft = get_peft_model(
        tiny(), LoraConfig(r=2, lora_alpha=4, target_modules=["query", "value"], init_lora_weights=False)
    )
    peft.save_pretrained(tmp_path / "ok", safe_serialization=True)
    merged = attach_adapter(tiny(), str(tmp_path / "ok"), merge=True)  # the real thing loads
    base = tiny()
    assert not torch.equal(
        merged.encoder.layer[0].attention.self.query.weight, base.encoder.layer[0].attention.self.query.weight
    )

    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "adapter_config.json").write_text((tmp_path / "ok" / "adapter_config.json").read_text())
    marker = tmp_path / "marker"
    (evil / "adapter_model.bin").write_bytes(pickle.dumps(Boom(marker)))
    with pytest.raises(ConfigError, match="adapter_model.safetensors"):
        attach_adapter(tiny(), str(evil), merge=True)
    assert not marker.exists()


def test_a_model_that_needs_remote_code_is_refused_and_its_code_never_runs(
    tmp_path: Path, minilm_dir: Path
) -> None:
    from transformers import AutoTokenizer

    from models.encoder import Encoder
    from models.loading import ModelSource, load_model

    model_dir = tmp_path / "remote-code-model"
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(model_dir)
    marker = tmp_path / "marker"
    run_marker = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    (model_dir / "configuration_evil.py").write_text(
        run_marker
        + (
            "from transformers import PretrainedConfig\n"
            "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n"
        )
    )
    (model_dir / "modeling_evil.py").write_text(run_marker)
    (model_dir / "config.json").write_text(
        json.dumps(
            {
                "model_type": "evil",
                "architectures": ["EvilModel"],
                "auto_map": {
                    "AutoConfig": "configuration_evil.EvilConfig",
                    "AutoModel": "modeling_evil.EvilModel",
                },
            }
        )
    )
    with pytest.raises(ConfigError, match="model.trust_remote_code=true"):
        load_model(
            ModelSource(str(model_dir)),
            trust_remote_code=False,
            dtype=__import__("torch").float32,
            eager_attention=False,
            model_kwargs=None,
        )
    encoder = Encoder(str(model_dir), device="cpu")
    with pytest.raises(ConfigError, match="model.trust_remote_code=true"):
        encoder.encode_documents(["role: welder"])
    assert not marker.exists()
