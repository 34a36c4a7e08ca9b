"""``teamform export`` (models.export): a sentence-transformers folder that gives the harness's vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bench.core.errors import ConfigError
from models.encoder import INSTRUCTION_FORMAT, PAPER_INSTRUCTION, Encoder
from models.export import EXPORT_FILE, export_adapter_set, export_encoder
from models.lora import LoraSettings, apply_lora

TOL = 1e-5
QUERIES = [
    "Project: Kiln upgrade. Task: schedule the glazing line maintenance",
    "Project: Supplier audit. Task: run the ISO 9001 audit of the oak veneer supplier",
]
DOCS = [  # employee aspect texts (fictional); none of them may reach a model card
    "role: welder",
    "behavior: calm under pressure, keeps the team informed, asks before changing a plan",
    "abilities: ISO 9001 audits, root-cause analysis and 8D reports for bathroom fixtures",
    "experience: " + "ceramic glazing line maintenance and kiln scheduling " * 40,  # longer than max length
]
SECRET = "Jane Doe asked for leave after her surgery"  # free text slipped into a config


def minilm(**kwargs: object) -> Encoder:
    """The ``model=minilm`` preset (conf/model/minilm.yaml) on the CPU."""
    preset = {
        "pooling": "mean",
        "normalize": True,
        "max_query_length": 256,
        "max_doc_length": 256,
        "device": "cpu",
    }
    return Encoder(name_or_path="bundled:minilm", **{**preset, **kwargs})


def save_random_adapter(encoder: Encoder, out: Path, seed: int) -> Path:
    """A fresh LoRA adapter (harness settings) with non-zero B weights, so merging changes vectors."""
    model = apply_lora(encoder.model, LoraSettings(r=4, alpha=8, dropout=0.0))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "lora_B" in name:
                weight.copy_(torch.randn(weight.shape, generator=gen) * 0.05)
    model.save_pretrained(str(out), safe_serialization=True)
    return out


def load(folder: Path):  # noqa: ANN201 - a SentenceTransformer
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).max())


@pytest.fixture(scope="module")
def minilm_adapter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_adapter(minilm(), tmp_path_factory.mktemp("adapter") / "global", seed=0)


def test_merged_minilm_gives_the_harness_vectors(
    tmp_path: Path, minilm_dir: Path, minilm_adapter: Path
) -> None:
    harness = minilm(adapter=str(minilm_adapter))
    docs, queries = harness.encode_documents(DOCS), harness.encode_queries(QUERIES)
    assert any("forward" in m.__dict__ for m in harness._model.modules())  # prepacked oneDNN linears in use
    out = export_encoder(
        harness, None, tmp_path / "export", {"metrics": {"ap": {"mean": 0.31, "ci": [0.25, 0.37]}}}
    )
    model = load(out)
    assert max_diff(model.encode(DOCS, prompt_name="document"), docs) < TOL
    assert max_diff(model.encode(QUERIES, prompt_name="query"), queries) < TOL
    assert max_diff(model.encode(DOCS), docs) < TOL  # no prompt for minilm: plain encode is the same
    assert max_diff(minilm().encode_documents(DOCS), docs) > 1e-3  # the adapter changes the vectors

    saved = load_file(str(out / "model.safetensors"))
    base = load_file(str(minilm_dir / "model.safetensors"))
    assert set(saved) == set(harness.model.state_dict())  # no lora_ / base_layer / prepack leftovers
    query = "encoder.layer.0.attention.self.query.weight"
    assert torch.equal(saved[query], harness.model.state_dict()[query])
    assert not torch.allclose(saved[query], base[query])  # merged
    record = json.loads((out / EXPORT_FILE).read_text())
    assert record["adapter"]["r"] == 4 and record["adapter"]["lora_alpha"] == 8 and record["aspect"] is None
    card = (out / "README.md").read_text()
    assert "| 0.3100 | [0.2500, 0.3700] |" in card and "library_name: sentence-transformers" in card


def test_base_encoder_plus_adapter_dir_leaves_the_encoder_alone(tmp_path: Path, minilm_adapter: Path) -> None:
    base = minilm()
    before = base.encode_documents(DOCS)
    out = export_encoder(base, minilm_adapter, tmp_path / "export")
    assert max_diff(base.encode_documents(DOCS), before) == 0.0  # the adapter went into a copy
    assert (
        max_diff(
            load(out).encode(DOCS, prompt_name="document"),
            minilm(adapter=str(minilm_adapter)).encode_documents(DOCS),
        )
        < TOL
    )
    with pytest.raises(ConfigError, match="already carries the adapter"):
        export_encoder(minilm(adapter=str(minilm_adapter)), minilm_adapter, tmp_path / "again")


def tiny_decoder(path: Path) -> Path:
    """A random 2-layer Llama (hidden 32) with a byte-level BPE tokenizer that appends EOS and has a
    chat template (which the export must not route texts through)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaModel, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer, bpe.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(QUERIES + DOCS + [PAPER_INSTRUCTION], trainer)
    bpe.post_processor = processors.TemplateProcessing(
        single="$A <|endoftext|>", special_tokens=[("<|endoftext|>", bpe.token_to_id("<|endoftext|>"))]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>")
    tokenizer.chat_template = "{% for m in messages %}<|endoftext|>{{ m['content'] }}{% endfor %}"
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
    )
    LlamaModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def test_decoder_with_last_token_left_padding_and_instruction(tmp_path: Path) -> None:
    body = tiny_decoder(tmp_path / "llama")

    def decoder(**kwargs: object) -> Encoder:  # queries cut shorter than documents, as the decoder presets
        return Encoder(
            str(body),
            pooling="last",
            padding_side="left",
            query_instruction=PAPER_INSTRUCTION,
            max_query_length=160,
            max_doc_length=256,
            device="cpu",
            **kwargs,
        )

    adapter = save_random_adapter(decoder(), tmp_path / "adapter", seed=1)
    harness = decoder(adapter=str(adapter))
    out = export_encoder(decoder(), adapter, tmp_path / "export")
    model = load(out)
    assert model.tokenizer.padding_side == "left"
    assert model.prompts["query"] == INSTRUCTION_FORMAT.format(instruction=PAPER_INSTRUCTION)
    lengths = harness.token_lengths(QUERIES, "query")
    assert lengths[0] <= 160 < lengths[1] and harness.token_lengths(DOCS)[-1] > 256  # both kinds get cut
    docs, queries = harness.encode_documents(DOCS), harness.encode_queries(QUERIES)
    assert max_diff(model.encode(DOCS, prompt_name="document"), docs) < TOL
    assert (
        max_diff(model.encode(QUERIES[:1], prompt_name="query"), queries[:1]) < TOL
    )  # within max_query_length
    assert max_diff(model.encode(QUERIES[:1]), queries[:1]) > 1e-3  # the instruction is part of the query
    assert max_diff(decoder().encode_documents(DOCS), docs) > 1e-3  # the adapter changes the vectors
    if hasattr(model, "encode_query"):  # sentence-transformers >= 5.4: each kind cut at its own length
        assert max_diff(model.encode_query(QUERIES), queries) < TOL
        assert max_diff(model.encode_document(DOCS), docs) < TOL


def test_cls_pooling_dense_head_prefixes_and_no_normalisation(tmp_path: Path, minilm_dir: Path) -> None:
    from safetensors.torch import save_file

    body = tmp_path / "minilm-dense"  # the bundled model plus a sentence-t5-style Dense head (2_Dense)
    body.mkdir()
    for file in minilm_dir.iterdir():
        (body / file.name).symlink_to(file)
    (body / "2_Dense").mkdir()
    (body / "2_Dense" / "config.json").write_text(
        json.dumps(
            {
                "in_features": 384,
                "out_features": 48,
                "bias": True,
                "activation_function": "torch.nn.modules.activation.Tanh",
            }
        )
    )
    gen = torch.Generator().manual_seed(3)
    save_file(
        {
            "linear.weight": torch.randn(48, 384, generator=gen) * 0.2,
            "linear.bias": torch.randn(48, generator=gen),
        },
        str(body / "2_Dense" / "model.safetensors"),
    )
    harness = Encoder(
        str(body),
        pooling="cls",
        normalize=False,
        dense="2_Dense",
        query_prefix="query: ",
        document_prefix="passage: ",
        max_query_length=32,
        max_doc_length=128,
        device="cpu",
    )
    model = load(export_encoder(harness, None, tmp_path / "export"))
    assert model.prompts == {"query": "query: ", "document": "passage: "}
    docs = harness.encode_documents(DOCS)
    assert (
        docs.shape == (len(DOCS), 48) and np.abs(np.linalg.norm(docs, axis=1) - 1).max() > 0.1
    )  # not unit vectors
    assert max_diff(model.encode(DOCS, prompt_name="document"), docs) < TOL
    assert max_diff(model.encode(QUERIES, prompt_name="query"), harness.encode_queries(QUERIES)) < TOL


def test_ata_pooling_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pooling=ata has no sentence-transformers pooling") as error:
        export_encoder(minilm(pooling="ata"), None, tmp_path / "export")
    assert "\n" not in str(error.value) and "model.pooling=mean|cls|last" in str(error.value)
    assert not (tmp_path / "export").exists()


def write_set(root: Path, mode: str, adapters: dict[str, Path], **meta: object) -> Path:
    """An adapter set as ``teamform train`` leaves it in ``.cache/adapters/<key>/``."""
    names = {n: "global" if mode == "global" else f"aspect-{n}" for n in adapters}
    for name, adapter in adapters.items():
        (root / names[name]).mkdir(parents=True)
        for file in adapter.iterdir():
            (root / names[name] / file.name).write_bytes(file.read_bytes())
    metadata = {
        "key": "k3y0123456789abc",
        "mode": mode,
        "complete": True,
        "adapters": {
            n: {"dir": names[n], "aspect": None if mode == "global" else n, "steps": 7} for n in adapters
        },
        "dataset": {"name": "demo", "hash": "d4t4h45h"},
        "synth": {"hash": "5ynth"},
        "code_version": "0.1.0+gabc",
        "train": {"adapter_mode": mode, "lora": {"r": 4, "alpha": 8}, "seed": 0, "note": SECRET},
        **meta,
    }
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root


def test_specialised_set_gives_one_folder_per_aspect(tmp_path: Path, minilm_adapter: Path) -> None:
    adapters = {"role": minilm_adapter, "abilities": save_random_adapter(minilm(), tmp_path / "a2", seed=2)}
    root = write_set(tmp_path / "adapters" / "k3y", "specialised", adapters)
    metrics = {"minilm+lora-specialised/condorcet": {"ap": {"mean": 0.31, "ci": [0.25, 0.37]}, "mrr": 0.5}}
    folders = export_adapter_set(root, minilm, tmp_path / "export", {"metrics": metrics})
    assert folders == [tmp_path / "export" / "role", tmp_path / "export" / "abilities"]
    listing = json.loads((tmp_path / "export" / EXPORT_FILE).read_text())
    assert listing["aspects"] == {"role": "role", "abilities": "abilities"}
    vectors = {}
    for aspect, folder in zip(adapters, folders, strict=True):
        harness = minilm(adapter=str(root / f"aspect-{aspect}"))
        vectors[aspect] = load(folder).encode(DOCS, prompt_name="document")
        assert max_diff(vectors[aspect], harness.encode_documents(DOCS)) < TOL
        card, record = (folder / "README.md").read_text(), json.loads((folder / EXPORT_FILE).read_text())
        assert f"for the aspect `{aspect}`" in card and record["aspect"] == aspect
        assert record["data_hash"] == "d4t4h45h" and record["adapter"]["key"] == "k3y0123456789abc"
        assert "| 4 | 8 | dense, key, query, value |" in card
        assert "0.1.0+gabc" in card and "d4t4h45h" in card
        assert "minilm+lora-specialised/condorcet / ap | 0.3100 | [0.2500, 0.3700]" in card
        assert '"steps": 7' in card and "(text omitted)" in card
        for text in [SECRET, *DOCS, *QUERIES]:  # ids and numbers only
            for file in (folder / "README.md", folder / EXPORT_FILE):
                assert text not in file.read_text()
    assert max_diff(vectors["role"], vectors["abilities"]) > 1e-3


def test_unfinished_sets_are_refused(tmp_path: Path, minilm_adapter: Path) -> None:
    def never() -> Encoder:
        raise AssertionError("an unfinished set must be refused before any model is built")

    for name, meta in [("false", {"complete": False}), ("no-flag", {"complete": None})]:
        root = write_set(tmp_path / name, "specialised", {"role": minilm_adapter}, **meta)
        with pytest.raises(ConfigError, match=f"adapter set {root} is unfinished"):
            export_adapter_set(root, never, tmp_path / "out")
    (root / "metadata.json").unlink()
    with pytest.raises(ConfigError, match="metadata.json is missing"):
        export_adapter_set(root, never, tmp_path / "out")
    lost = write_set(tmp_path / "lost", "specialised", {"role": minilm_adapter})
    (lost / "aspect-role" / "adapter_config.json").unlink()
    with pytest.raises(ConfigError, match="adapters role are missing") as error:
        export_adapter_set(lost, never, tmp_path / "out")
    assert "\n" not in str(error.value) and not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="unknown card_info key 'notes'"):
        export_encoder(minilm(), None, tmp_path / "out", {"notes": "x"})


def test_out_dir_is_replaced_only_when_it_is_an_earlier_export(tmp_path: Path, minilm_adapter: Path) -> None:
    root = write_set(tmp_path / "set", "global", {"global": minilm_adapter})
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match=f"{busy} is not empty and is not an earlier export") as error:
        export_adapter_set(root, minilm, busy)
    assert "\n" not in str(error.value) and (busy / "notes.txt").read_text() == "mine"
    out = tmp_path / "export"
    assert export_adapter_set(root, minilm, out) == [out]
    (out / "stale.bin").write_bytes(b"old")
    assert export_adapter_set(root, minilm, out) == [out]  # an earlier export is replaced whole
    assert not (out / "stale.bin").exists() and (out / "model.safetensors").is_file()
    assert "for the aspect" not in (out / "README.md").read_text()
    assert not list(tmp_path.glob(".*export-tmp*")) and not list(tmp_path.glob(".*weights"))
