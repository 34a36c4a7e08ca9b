"""Every architecture path of :class:`models.encoder.Encoder` against sentence-transformers, offline.

Each test builds a tiny random checkpoint (hidden size 32, 2 layers, a vocabulary of about a
hundred tokens made with the ``tokenizers`` library, so no download and no sentencepiece) in the
sentence-transformers layout of the model it stands for, and checks that the harness's vectors
equal ``SentenceTransformer(dir).encode(...)`` within 1e-5:

1. BERT + mean pooling + Normalize: all-MiniLM-L6-v2, bge, e5 (``conf/model/minilm.yaml``);
2. a T5 encoder (``T5EncoderModel``) + mean pooling + a bias-free Dense projection (``2_Dense``)
   + Normalize: Sentence-T5 (``conf/model/sentence_t5_large.yaml``);
3. a Qwen2 decoder + last-token pooling on left-padded batches, EOS appended by the tokenizer, and
   the instruction of paper eq. 2 on queries only: gte-Qwen2-instruct
   (``conf/model/gte_qwen2_1_5b_instruct.yaml``; the real one runs its repository's code, this
   one the stock causal Qwen2 of transformers);
4. mean pooling + a Dense head in a folder that is not the default one (``2_Dense_1024``, chosen
   by the preset key ``dense:``): stella (``conf/model/stella_en_400m_v5.yaml``; its body is
   repository code too, so a BERT body stands in).

Every path is one sentence-transformers can express, so no hand-written reference is needed.
The checkpoints take 130-170 KB each; a test runs in a second or two.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.core.errors import ConfigError
from models.batching import length_batches
from models.encoder import INSTRUCTION_FORMAT, PAPER_INSTRUCTION, Encoder

pytest.importorskip("sentence_transformers")
from sentence_transformers import SentenceTransformer  # noqa: E402 - after the skip

HIDDEN, LAYERS, HEADS, MAX_LENGTH = 32, 2, 4, 64
TOL = 1e-5
QUERIES = [
    "Project: Kiln retrofit. Task: Plan the downtime of line 3",
    "Project: Retail. Task: Close the contract",
]
DOCS = [
    "welder",
    "Coordinates suppliers of oak veneer; negotiates yearly contracts and audits quality.",
    "QA",
    "Experienced in ISO 9001 audits, root-cause analysis and 8D reports for bathroom fixtures.",
    "kiln operator firing ceramic tiles",
]
PROMPT = INSTRUCTION_FORMAT.format(instruction=PAPER_INSTRUCTION)  # paper eq. 2
# the keys of a 1_Pooling/config.json on the hub: pooling_mode_{mode}: true | false
POOLING_MODES = (
    "cls_token",
    "mean_tokens",
    "max_tokens",
    "mean_sqrt_len_tokens",
    "weightedmean_tokens",
    "lasttoken",
)


# ---- tiny checkpoints -----------------------------------------------------------------------------
def _words() -> list[str]:
    """Every lower-cased word of the test texts and the instruction (the vocabulary's whole words)."""
    text = " ".join([*QUERIES, *DOCS, PROMPT]).lower()
    return sorted(set(re.findall(r"[a-z0-9]+", text)))


def _characters() -> list[str]:
    return sorted(set("".join([*QUERIES, *DOCS, PROMPT]).lower()) - {" ", "\n"})


def _save_tokenizer(tokenizer, root: Path, specials: dict[str, str], input_names: list[str]) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, model_input_names=input_names, **specials)
    fast.save_pretrained(str(root))


def wordpiece_tokenizer(root: Path) -> int:
    """A BERT WordPiece tokenizer (lower case, ``[CLS] text [SEP]``) in ``root``; returns its size."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = _characters()
    tokens = [*specials, *_words(), *chars, *(f"##{c}" for c in chars)]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    names = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]"}
    _save_tokenizer(
        tokenizer, root, names | {"mask_token": "[MASK]"}, ["input_ids", "token_type_ids", "attention_mask"]
    )
    return len(vocab)


def unigram_tokenizer(root: Path, eos: str, pad: str, unk: str) -> int:
    """A sentencepiece-style Unigram tokenizer (``▁`` word starts) that appends ``eos``; returns its size.

    T5's tokenizer is a sentencepiece Unigram model that appends ``</s>``; gte-Qwen2's appends
    ``<|endoftext|>``. Either is written as ``tokenizer.json``, which loads without sentencepiece.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    specials = list(dict.fromkeys([pad, eos, unk]))
    pieces = [(s, 0.0) for s in specials] + [(f"\u2581{w}", -2.0) for w in _words()]
    pieces += [(c, -6.0) for c in _characters()] + [("\u2581", -4.0)]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=specials.index(unk), byte_fallback=False))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    eos_id = specials.index(eos)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"$A {eos}", pair=f"$A {eos} $B {eos}", special_tokens=[(eos, eos_id)]
    )
    names = {"pad_token": pad, "eos_token": eos, "unk_token": unk}
    _save_tokenizer(tokenizer, root, names, ["input_ids", "attention_mask"])
    return len(pieces)


def write_layout(root: Path, pooling: str, dense: dict[str, object] | None = None, **extra: object) -> None:
    """``modules.json``, ``1_Pooling`` and an optional Dense folder, as the hub checkpoints have them.

    Args:
        root: the model directory (the transformer's files are already there).
        pooling: ``mean`` or ``lasttoken`` (written in the legacy ``pooling_mode_*`` keys).
        dense: ``{"folder", "out_features", "bias", "weights"}``: a Dense head after pooling;
            ``weights`` is ``safetensors`` or ``bin`` (sentence-t5 ships ``pytorch_model.bin``).
        extra: ``normalize=True`` adds a Normalize module; ``prompts={...}`` writes the prompts
            to ``config_sentence_transformers.json``.
    """
    modules = [("", "Transformer"), ("1_Pooling", "Pooling")]
    (root / "1_Pooling").mkdir()
    wanted = {"mean": "mean_tokens", "lasttoken": "lasttoken"}[pooling]
    config = {"word_embedding_dimension": HIDDEN} | {f"pooling_mode_{m}": m == wanted for m in POOLING_MODES}
    (root / "1_Pooling" / "config.json").write_text(json.dumps(config | {"include_prompt": True}))
    if dense is not None:
        write_dense(
            root / str(dense["folder"]),
            int(dense["out_features"]),
            bool(dense["bias"]),
            str(dense["weights"]),
        )
        modules.append((str(dense["folder"]), "Dense"))
    if extra.get("normalize"):
        modules.append((f"{len(modules)}_Normalize", "Normalize"))
        (root / modules[-1][0]).mkdir()
    (root / "modules.json").write_text(
        json.dumps(
            [
                {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
                for i, (path, kind) in enumerate(modules)
            ]
        )
    )
    (root / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": MAX_LENGTH, "do_lower_case": False})
    )
    if "prompts" in extra:
        (root / "config_sentence_transformers.json").write_text(
            json.dumps(
                {"prompts": extra["prompts"], "default_prompt_name": None, "similarity_fn_name": "cosine"}
            )
        )


def write_dense(folder: Path, out_features: int, bias: bool, weights: str) -> None:
    """A sentence-transformers Dense folder: ``config.json`` and ``linear.*`` weights, Identity activation."""
    folder.mkdir()
    config = {
        "in_features": HIDDEN,
        "out_features": out_features,
        "bias": bias,
        "activation_function": "torch.nn.modules.linear.Identity",
    }
    (folder / "config.json").write_text(json.dumps(config))
    gen = torch.Generator().manual_seed(out_features)
    state = {"linear.weight": torch.randn(out_features, HIDDEN, generator=gen) / HIDDEN**0.5}
    if bias:
        state["linear.bias"] = torch.randn(out_features, generator=gen)
    if weights == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(folder / "model.safetensors"))
    else:
        torch.save(state, folder / "pytorch_model.bin")


def bert_body(root: Path) -> None:
    from transformers import BertConfig, BertModel

    vocab = wordpiece_tokenizer(root)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=2 * HIDDEN,
        max_position_embeddings=MAX_LENGTH * 2,
    )
    BertModel(config).save_pretrained(str(root))


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BERT + mean pooling + Normalize (all-MiniLM-L6-v2's layout)."""
    root = tmp_path_factory.mktemp("bert")
    bert_body(root)
    write_layout(root, "mean", normalize=True)
    return root


@pytest.fixture(scope="module", params=["encoder-only", "encoder-decoder"])
def t5_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """T5 encoder + mean pooling + ``2_Dense`` (no bias, ``pytorch_model.bin``) + Normalize: sentence-t5.

    Both configs hold the encoder alone: the hub's sentence-t5 configs keep T5's default
    ``is_encoder_decoder: true``; ``T5EncoderModel.save_pretrained`` in transformers 5 writes
    ``false`` (an export or a re-saved copy).
    """
    from transformers import T5Config, T5EncoderModel

    root = tmp_path_factory.mktemp("t5")
    vocab = unigram_tokenizer(root, eos="</s>", pad="<pad>", unk="<unk>")
    torch.manual_seed(1)
    config = T5Config(
        vocab_size=vocab,
        d_model=HIDDEN,
        d_kv=HIDDEN // HEADS,
        d_ff=2 * HIDDEN,
        num_layers=LAYERS,
        num_heads=HEADS,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    T5EncoderModel(config).save_pretrained(str(root))
    saved = json.loads((root / "config.json").read_text())
    assert saved["architectures"] == ["T5EncoderModel"]
    flag = {"is_encoder_decoder": request.param == "encoder-decoder"}
    (root / "config.json").write_text(json.dumps(saved | flag))
    write_layout(
        root,
        "mean",
        dense={"folder": "2_Dense", "out_features": 24, "bias": False, "weights": "bin"},
        normalize=True,
    )
    return root


@pytest.fixture(scope="module")
def qwen2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Qwen2 decoder + last-token pooling + Normalize, the eq. 2 prompt for queries: gte-Qwen2-instruct.

    The tokenizer's config names no padding side, so it pads on the right; the preset's
    ``padding_side: left`` must win in the harness.
    """
    from transformers import Qwen2Config, Qwen2Model

    root = tmp_path_factory.mktemp("qwen2")
    eos = "<|endoftext|>"
    vocab = unigram_tokenizer(root, eos=eos, pad=eos, unk="<unk>")
    torch.manual_seed(2)
    config = Qwen2Config(
        vocab_size=vocab,
        hidden_size=HIDDEN,
        intermediate_size=2 * HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=HEADS // 2,
        max_position_embeddings=MAX_LENGTH * 2,
        pad_token_id=0,
        eos_token_id=0,
    )
    Qwen2Model(config).save_pretrained(str(root))
    write_layout(root, "lasttoken", normalize=True, prompts={"query": PROMPT, "document": ""})
    return root


@pytest.fixture(scope="module")
def stella_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mean pooling + ``2_Dense_1024`` (bias, safetensors) and a decoy ``2_Dense`` of another size.

    Stella ships several Dense folders (``2_Dense_256`` ... ``2_Dense_8192``); the preset's
    ``dense: 2_Dense_1024`` picks one. Here ``modules.json`` names that folder, so
    sentence-transformers loads the same head, and a ``2_Dense`` folder with 8 outputs would show
    if the harness took the wrong one.
    """
    root = tmp_path_factory.mktemp("stella")
    bert_body(root)
    write_layout(
        root,
        "mean",
        dense={"folder": "2_Dense_1024", "out_features": 40, "bias": True, "weights": "safetensors"},
    )
    write_dense(root / "2_Dense", 8, True, "safetensors")
    return root


def harness(root: Path, **kwargs: object) -> Encoder:
    """The harness on a tiny checkpoint, on the CPU in float32, cut at the checkpoint's max length."""
    settings = {
        "max_query_length": MAX_LENGTH,
        "max_doc_length": MAX_LENGTH,
        "device": "cpu",
        "batch_size": 4,
    }
    return Encoder(str(root), **(settings | kwargs))


def reference(root: Path) -> SentenceTransformer:
    return SentenceTransformer(str(root), device="cpu")


def module_names(model: SentenceTransformer) -> list[str]:
    return [type(module).__name__ for module in model]


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


# ---- 1. BERT + mean pooling -------------------------------------------------------------------------
def test_bert_mean_pooling(bert_dir: Path) -> None:
    enc, ref = harness(bert_dir, pooling="mean"), reference(bert_dir)
    assert module_names(ref) == ["Transformer", "Pooling", "Normalize"]
    docs = enc.encode_documents(DOCS)
    assert docs.shape == (len(DOCS), HIDDEN) and docs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-6)
    assert max_diff(docs, ref.encode(DOCS, batch_size=2)) < TOL
    assert max_diff(enc.encode_queries(QUERIES), ref.encode(QUERIES)) < TOL


# ---- 2. T5 encoder + mean pooling + Dense -----------------------------------------------------------
def test_t5_encoder_mean_pooling_dense_head(t5_dir: Path) -> None:
    enc, ref = harness(t5_dir, pooling="mean", dense="2_Dense"), reference(t5_dir)
    assert module_names(ref) == ["Transformer", "Pooling", "Dense", "Normalize"]
    assert type(ref[0].auto_model).__name__ == "T5EncoderModel"
    assert type(enc.model).__name__ == "T5EncoderModel"  # the encoder alone, no decoder to feed
    docs = enc.encode_documents(DOCS)
    assert docs.shape == (len(DOCS), 24)  # the Dense projection's size, not the hidden size
    assert max_diff(docs, ref.encode(DOCS, batch_size=2)) < TOL
    assert max_diff(enc.encode_queries(QUERIES), ref.encode(QUERIES)) < TOL


# ---- 3. Qwen2 decoder + last-token pooling, left padding, eq. 2 instruction -------------------------
@pytest.fixture(scope="module")
def qwen2(qwen2_dir: Path) -> Encoder:
    """The gte-Qwen2 preset's settings on the tiny decoder; :meth:`Encoder.encode` runs one batch.

    One more pass costs more than any padding here (``batch_overhead_tokens``), so all of
    :data:`DOCS` go through one left-padded forward pass.
    """
    return harness(
        qwen2_dir,
        pooling="last",
        padding_side="left",
        query_instruction=PAPER_INSTRUCTION,
        batch_size=len(DOCS),
        batch_overhead_tokens=10**6,
    )


def test_decoder_pads_left_and_pools_the_last_token(qwen2: Encoder, qwen2_dir: Path) -> None:
    assert qwen2.tokenizer.padding_side == "left"  # the preset's padding_side beats the tokenizer's right
    batch = qwen2.tokenize(DOCS)
    mask = batch["attention_mask"]  # (batch, seq)
    lengths = mask.sum(dim=1)  # (batch,)
    assert bool(mask[:, -1].all()) and not bool(mask[:, 0].all())  # pads in front of the shorter texts
    assert (batch["input_ids"][:, -1] == qwen2.tokenizer.eos_token_id).all()  # pooled: the appended EOS
    assert len(qwen2.plan_batches(lengths.tolist())) == 1  # encode: one padded batch of all texts
    alone = np.concatenate([qwen2.encode_documents([text]) for text in DOCS])
    assert max_diff(qwen2.encode_documents(DOCS), alone) < TOL  # left padding does not move a vector
    # training's embed() re-cuts a padded batch by length and trims each part on the left
    split = harness(qwen2_dir, pooling="last", padding_side="left", batch_overhead_tokens=1)
    split.model = qwen2.model
    assert len(length_batches(lengths.numpy(), int(lengths.max()) * len(DOCS), 1)) > 1
    with torch.inference_mode():
        assert max_diff(split.embed(batch).cpu().numpy(), alone) < TOL


def test_decoder_instruction_on_queries_only(qwen2: Encoder) -> None:
    query = QUERIES[0]
    assert qwen2.format([query], "query") == [f"Instruct: {PAPER_INSTRUCTION}\nQuery: {query}"]  # eq. 2
    assert qwen2.format([query], "document") == [query]
    assert max_diff(qwen2.encode_queries([query]), qwen2.encode_documents([query])) > 1e-3


def test_decoder_equals_sentence_transformers(qwen2_dir: Path, qwen2: Encoder) -> None:
    ref = reference(qwen2_dir)
    assert module_names(ref) == ["Transformer", "Pooling", "Normalize"]
    assert ref[1].pooling_mode == "lasttoken" and ref.prompts["query"] == PROMPT
    docs, queries = qwen2.encode_documents(DOCS), qwen2.encode_queries(QUERIES)
    # sentence-transformers pads on the tokenizer's side (right), an independent reference: the
    # causal model's real tokens never attend to padding, and its pooling finds the last real token
    assert ref.tokenizer.padding_side == "right"
    assert max_diff(docs, ref.encode(DOCS, batch_size=3)) < TOL
    assert max_diff(queries, ref.encode(QUERIES, prompt_name="query")) < TOL
    assert max_diff(queries, ref.encode(QUERIES)) > 1e-3  # the prompt is part of a query's vector
    ref.tokenizer.padding_side = "left"  # and padding on the left, as the harness does
    assert max_diff(docs, ref.encode(DOCS, batch_size=3)) < TOL
    assert max_diff(queries, ref.encode(QUERIES, prompt_name="query")) < TOL


# ---- 4. mean pooling + the Dense head the preset names (stella's 2_Dense_1024) ----------------------
def test_dense_head_named_by_the_preset(stella_dir: Path) -> None:
    enc, ref = harness(stella_dir, pooling="mean", dense="2_Dense_1024"), reference(stella_dir)
    assert module_names(ref) == ["Transformer", "Pooling", "Dense"] and ref[2].linear.out_features == 40
    docs = enc.encode_documents(DOCS)
    assert docs.shape == (len(DOCS), 40)  # 2_Dense_1024's size, not the decoy 2_Dense's 8
    assert max_diff(docs, ref.encode(DOCS, batch_size=2, normalize_embeddings=True)) < TOL
    assert max_diff(enc.encode_queries(QUERIES), ref.encode(QUERIES, normalize_embeddings=True)) < TOL
    raw = harness(stella_dir, pooling="mean", dense="2_Dense_1024", normalize=False)
    raw.model = enc.model  # a body set from outside (shared weights, LoRA) keeps the Dense head
    assert max_diff(raw.encode_documents(DOCS), ref.encode(DOCS, batch_size=2)) < TOL  # the head, no L2


def test_missing_dense_folder_names_the_key(stella_dir: Path) -> None:
    enc = harness(stella_dir, pooling="mean", dense="2_Dense_2048")
    with pytest.raises(ConfigError, match="model.dense: .*2_Dense_2048/config.json does not exist"):
        enc.encode_documents(DOCS)
