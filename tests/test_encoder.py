"""Encoder: equality with sentence-transformers, the paper's instruction, ATA pooling on an
encoder and a real GGUF decoder, the embedding cache, trust_remote_code, and the presets."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.core.errors import ConfigError
from models.embedding_cache import MAX_PARTS, CachedEncoder, EmbeddingCache, encode_cached
from models.encoder import INSTRUCTION_FORMAT, PAPER_INSTRUCTION, Encoder
from models.pooling import ata_weights

CONF_MODEL = Path(__file__).resolve().parent.parent / "conf" / "model"
LONG = "ceramic glazing line maintenance and kiln scheduling " * 60  # > 256 tokens: truncated
TEXTS = [
    "Project: Kiln retrofit. Task: Plan the downtime of line 3",
    "welder",
    "  leading and trailing spaces  ",
    LONG,
    "Coordinates suppliers of oak veneer; negotiates yearly contracts and audits quality.",
    "QA",
    "Experienced in ISO 9001 audits, root-cause analysis and 8D reports for bathroom fixtures.",
]


@pytest.fixture(scope="module")
def minilm(minilm_dir: Path) -> Encoder:
    return Encoder(str(minilm_dir), max_query_length=256, max_doc_length=256, batch_size=3, device="cpu")


@pytest.fixture(scope="module")
def sbert(minilm_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


# ---- mean pooling = sentence-transformers -------------------------------------------------------
@pytest.mark.parametrize("kind", ["query", "document"])
def test_mean_pooling_equals_sentence_transformers(minilm: Encoder, sbert, kind: str) -> None:
    ours = minilm.encode_queries(TEXTS) if kind == "query" else minilm.encode_documents(TEXTS)
    ref = sbert.encode(TEXTS, batch_size=3, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


def test_batch_size_does_not_change_vectors(minilm: Encoder, minilm_dir: Path) -> None:
    single = Encoder(str(minilm_dir), max_doc_length=256, batch_size=1, device="cpu")
    single.model = minilm.model  # same weights, no second load
    np.testing.assert_allclose(single.encode_documents(TEXTS), minilm.encode_documents(TEXTS), atol=1e-5)


def test_paper_instruction_template(minilm: Encoder, minilm_dir: Path, sbert) -> None:
    enc = Encoder(str(minilm_dir), query_instruction=PAPER_INSTRUCTION, max_query_length=256, device="cpu")
    enc.model = minilm.model
    query = "Project: Kiln retrofit. Task: Plan the downtime"
    # paper eq. 2: "Instruct: {tmpl}\nQuery: " + q
    assert enc.format([query], "query") == ["Instruct: " + PAPER_INSTRUCTION + "\nQuery: " + query]
    assert enc.format([query], "document") == [query]
    prompt = INSTRUCTION_FORMAT.format(instruction=PAPER_INSTRUCTION)
    ref = sbert.encode([query], prompt=prompt, normalize_embeddings=True)
    np.testing.assert_allclose(enc.encode_queries([query]), ref, atol=1e-5)
    assert not np.allclose(enc.encode_queries([query]), enc.encode_documents([query]), atol=1e-3)


def test_truncation_is_counted(minilm: Encoder) -> None:
    lengths = minilm.token_lengths(TEXTS)
    assert lengths[3] > 256 and (lengths[[0, 1, 2, 4, 5, 6]] <= 256).all()
    assert minilm.count_truncated(TEXTS) == 1
    assert minilm.tokenize([LONG])["input_ids"].shape == (1, 256)


def test_embed_keeps_gradients(minilm_dir: Path) -> None:
    enc = Encoder(str(minilm_dir), max_query_length=256, device="cpu")
    assert not any(p.requires_grad for p in enc.model.parameters())  # loaded frozen: LoRA adds what trains
    enc.model.requires_grad_(True)
    vectors = enc.embed(enc.tokenize(TEXTS[:2], "query"))
    assert vectors.shape == (2, 384) and vectors.requires_grad
    vectors.sum().backward()
    assert next(enc.model.parameters()).grad is not None


def test_bad_values_name_the_key(minilm_dir: Path) -> None:
    with pytest.raises(ConfigError, match="pooling"):
        Encoder(str(minilm_dir), pooling="max")
    with pytest.raises(ConfigError, match="max_doc_length"):
        Encoder(str(minilm_dir), max_doc_length=0)
    with pytest.raises(ConfigError, match="query_instruction or query_prefix"):
        Encoder(str(minilm_dir), query_instruction="x", query_prefix="query: ")


# ---- ATA pooling ----------------------------------------------------------------------------------
def _check_ata(enc: Encoder, mean_enc: Encoder, texts: list[str]) -> None:
    batch = enc.tokenize(texts)
    with torch.inference_mode():
        out = enc.model(**batch, output_attentions=True)
        weights = ata_weights(out.attentions[-1].float(), batch["attention_mask"])  # (batch, seq)
    mask = batch["attention_mask"].bool()
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(len(texts)), atol=1e-5, rtol=0)
    assert (weights[~mask] == 0).all() and (weights[mask] > 0).all()
    ata, mean = enc.encode_documents(texts), mean_enc.encode_documents(texts)
    assert ata.shape == mean.shape == (len(texts), out.last_hidden_state.shape[-1])
    np.testing.assert_allclose(np.linalg.norm(ata, axis=1), 1.0, atol=1e-5)
    cosines = (ata * mean).sum(axis=1)
    assert (cosines < 0.9999).all(), "ATA must weight tokens differently from the mean"


def test_ata_pooling_on_minilm(minilm_dir: Path, minilm: Encoder) -> None:
    enc = Encoder(str(minilm_dir), pooling="ata", max_doc_length=256, device="cpu")
    assert enc.model.config._attn_implementation == "eager"
    _check_ata(enc, minilm, TEXTS[:5])


@pytest.mark.slow
def test_ata_and_last_pooling_on_smollm2_gguf(smollm2_gguf: Path) -> None:
    enc = Encoder(str(smollm2_gguf), pooling="ata", padding_side="left", max_doc_length=128, device="cpu")
    assert enc.source.gguf_file == smollm2_gguf.name
    mean = Encoder(str(smollm2_gguf), pooling="mean", padding_side="left", max_doc_length=128, device="cpu")
    mean.model = enc.model  # one de-quantisation of the GGUF weights
    texts = TEXTS[:3] + [TEXTS[4]]
    _check_ata(enc, mean, texts)
    last = Encoder(str(smollm2_gguf), pooling="last", padding_side="left", max_doc_length=128, device="cpu")
    last.model = enc.model
    batched = last.encode_documents(texts)
    alone = np.concatenate([last.encode_documents([t]) for t in texts])
    # RoPE attention depends on relative positions only, so left padding must not move the vectors
    np.testing.assert_allclose(batched, alone, atol=1e-4)


# ---- embedding cache ------------------------------------------------------------------------------
def test_cache_second_call_encodes_nothing(minilm: Encoder, tmp_path: Path) -> None:
    calls = []
    hook = minilm.model.register_forward_hook(lambda module, args, output: calls.append(args))
    try:
        cached = CachedEncoder(minilm, tmp_path / "emb")
        texts = TEXTS + [TEXTS[1]]  # one duplicate
        first = cached.encode_documents(texts)
        assert (cached.stats.misses, cached.stats.hits) == (len(TEXTS), 1)
        assert len(calls) == len(
            minilm.plan_batches(minilm.token_lengths(TEXTS).clip(max=256))
        )  # one pass per batch
        calls.clear()
        again = cached.encode_documents(texts[::-1])
        assert calls == [] and cached.stats.misses == len(TEXTS)
        np.testing.assert_array_equal(again, first[::-1])
        np.testing.assert_allclose(first, minilm.encode_documents(texts), atol=1e-6)
        calls.clear()
        cached.encode_documents(["a brand new text", TEXTS[0]])
        assert len(calls) == 1 and cached.stats.misses == len(TEXTS) + 1
        cached.encode_queries([TEXTS[0]])  # another kind: another shard
        assert cached.stats.misses == len(TEXTS) + 2
    finally:
        hook.remove()
    files = [p for p in (tmp_path / "emb").rglob("*") if p.is_file()]
    assert files and all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    blob = b"".join(p.read_bytes() for p in files)
    assert b"welder" not in blob and b"oak veneer" not in blob  # hashes and vectors only


def test_fingerprint_covers_what_changes_vectors(minilm_dir: Path, tmp_path: Path) -> None:
    base = Encoder(str(minilm_dir), device="cpu")
    same = Encoder(str(minilm_dir), device="cpu", batch_size=7)
    assert base.fingerprint == same.fingerprint and base.fingerprint.startswith("model-")
    variants = [
        Encoder(str(minilm_dir), pooling="cls"),
        Encoder(str(minilm_dir), normalize=False),
        Encoder(str(minilm_dir), max_doc_length=128),
        Encoder(str(minilm_dir), query_instruction=PAPER_INSTRUCTION),
        Encoder(str(minilm_dir), dtype="bfloat16"),
    ]
    assert len({base.fingerprint, *(v.fingerprint for v in variants)}) == len(variants) + 1
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"one")
    first = Encoder(str(minilm_dir), adapter=str(adapter)).fingerprint
    (adapter / "adapter_model.safetensors").write_bytes(b"two")
    second = Encoder(str(minilm_dir), adapter=str(adapter)).fingerprint
    assert len({base.fingerprint, first, second}) == 3


class CountingEncoder:
    """Test double: deterministic vectors from the text, counting encoded texts."""

    name, fingerprint = "fake", "fake-0"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts, kind):  # noqa: ANN001, ANN201
        self.encoded += list(texts)
        return np.array([[len(t), sum(map(ord, t)) % 97, 1.0] for t in texts], dtype=np.float32)


def test_cache_parts_merge_and_dedupe(tmp_path: Path) -> None:
    enc, cache = CountingEncoder(), EmbeddingCache(tmp_path)
    for i in range(MAX_PARTS + 3):
        encode_cached(enc, [f"text {i}", "shared"], "document", cache)
    assert enc.encoded.count("shared") == 1
    assert len(list(tmp_path.glob("fake-0/document-*.npz"))) <= MAX_PARTS
    texts = [f"text {i}" for i in range(MAX_PARTS + 3)] + ["shared"]
    vectors, stats = encode_cached(enc, texts, "document", cache)
    assert (stats.hits, stats.misses) == (len(texts), 0)
    np.testing.assert_array_equal(vectors, CountingEncoder().encode(texts, "document"))


# ---- trust_remote_code ----------------------------------------------------------------------------
EVIL = """
import os, pathlib
pathlib.Path(os.environ["EVIL_MARKER"]).write_text("ran")
from transformers import PretrainedConfig
class EvilConfig(PretrainedConfig):
    model_type = "evil"
"""


def _evil_repo(root: Path) -> Path:
    repo = root / "evil_repo"
    repo.mkdir()
    (repo / "config.json").write_text(
        '{"auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}}'
    )
    (repo / "evil.py").write_text(EVIL)
    return repo


def _load_in_subprocess(repo: Path, trust: bool, tmp_path: Path) -> tuple[str, bool]:
    marker = tmp_path / f"marker-{trust}"
    code = textwrap.dedent(f"""
        from models.encoder import Encoder
        try:
            Encoder({str(repo)!r}, trust_remote_code={trust}).model
        except Exception as error:
            print(type(error).__name__, error)
    """)
    env = {**os.environ, "EVIL_MARKER": str(marker), "HF_MODULES_CACHE": str(tmp_path / "modules")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    return out.stdout, marker.exists()


@pytest.mark.slow
def test_remote_code_runs_only_when_trusted(tmp_path: Path) -> None:
    assert inspect.signature(Encoder).parameters["trust_remote_code"].default is False
    repo = _evil_repo(tmp_path)
    stdout, ran = _load_in_subprocess(repo, False, tmp_path)
    assert not ran and stdout.startswith("ConfigError") and "model.trust_remote_code=true" in stdout
    _, ran = _load_in_subprocess(repo, True, tmp_path)
    assert ran  # the control: the same repository does run code once trusted


# ---- presets --------------------------------------------------------------------------------------
def _compose(preset: str):  # noqa: ANN202 - DictConfig
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_MODEL.parent), version_base="1.3"):
        return compose(overrides=[f"+model={preset}"]).model


@pytest.mark.parametrize("preset", sorted(p.stem for p in CONF_MODEL.glob("*.yaml")))
def test_model_presets_compose(preset: str) -> None:
    cfg = _compose(preset)
    assert cfg._target_ == "models.encoder.Encoder"
    params = inspect.signature(Encoder).parameters
    unknown = set(cfg) - {"_target_"} - set(params)
    assert not unknown, f"conf/model/{preset}.yaml has keys Encoder does not take: {unknown}"
    assert cfg.name and cfg.pooling in ("mean", "cls", "last", "ata")
    remote = {"gte_qwen2_1_5b_instruct", "stella_en_400m_v5"}
    assert cfg.trust_remote_code is (preset in remote), (
        "only presets whose model card requires it trust remote code"
    )
    if cfg.get("query_instruction"):
        assert cfg.query_instruction == PAPER_INSTRUCTION


def test_minilm_preset_builds_the_bundled_model(minilm_dir: Path) -> None:
    from hydra.utils import instantiate

    enc = instantiate(_compose("minilm"))
    assert isinstance(enc, Encoder) and enc.name == "minilm" and not enc.is_loaded
    assert Path(enc.source.path) == minilm_dir and enc.fingerprint.startswith("minilm-")
    assert (
        enc.fingerprint.split("-", 1)[1]
        == Encoder(str(minilm_dir), max_query_length=256, max_doc_length=256).fingerprint.split("-", 1)[1]
    )


# ---- end to end: systems over the real encoder and cache ------------------------------------------
def test_systems_with_minilm_and_cache(minilm: Encoder, tmp_path: Path) -> None:
    from bench.core.dataset import Dataset, Employee, Task
    from bench.run.systems import score_systems

    employees = [
        Employee("e1", {"role": "kiln operator", "goals": LONG}),
        Employee("e2", {"role": "oak veneer buyer"}),
    ]
    tasks = [Task("t1", "Kiln retrofit", "Plan glaze trials"), Task("t2", "Veneer", "Source oak")]
    data = Dataset("tiny", employees, tasks, {}, aspects=["role", "goals"])
    cached = CachedEncoder(minilm, tmp_path)
    result = score_systems(data, cached)
    q = minilm.encode_queries([t.query for t in tasks])
    np.testing.assert_allclose(
        result.per_aspect[0], q @ minilm.encode_documents(["kiln operator", "oak veneer buyer"]).T, atol=1e-5
    )
    assert np.isnan(result.per_aspect[1][:, 1]).all() and np.isfinite(result.concat).all()
    assert (result.concat_truncated, result.concat_texts) == (1, 2)  # e1's concat holds LONG
    assert result.per_aspect[0][0].argmax() == 0 and result.per_aspect[0][1].argmax() == 1
    misses = cached.stats.misses
    score_systems(data, cached)
    assert cached.stats.misses == misses  # the second evaluation encodes nothing
