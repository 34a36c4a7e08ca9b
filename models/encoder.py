"""A text encoder over any Hugging Face model: queries and employee documents to unit vectors.

Built from plain values by a ``conf/model/*.yaml`` preset (``_target_: models.encoder.Encoder``).
Inference tokenises all texts once without padding, cuts the texts, sorted by token length, into
batches that waste few padding tokens (:func:`models.batching.length_batches`), pads each batch only
to its own longest text and runs under :func:`torch.inference_mode`. :meth:`Encoder.embed` is the
same forward with gradients, for LoRA training: it re-splits a padded training batch the same way
before the forward pass, so short texts do not pay for the longest one.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.core.errors import ConfigError
from bench.core.io import content_key
from models import bundled
from models import prepack as packing
from models.batching import default_overhead, default_pass_tokens, length_batches
from models.loading import (
    ModelSource,
    attach_adapter,
    load_dense,
    load_model,
    load_tokenizer,
    path_digest,
    resolve_device,
    resolve_dtype,
    source_identity,
)
from models.pooling import get_pooling

Kind = Literal["query", "document"]
KINDS: tuple[str, ...] = ("query", "document")

# Drummond and Veloso (2024), eq. 2 (section 4.3): q_instr = "Instruct: {tmpl}\nQuery: " + q.
INSTRUCTION_FORMAT = "Instruct: {instruction}\nQuery: "
PAPER_INSTRUCTION = (
    "In an enterprise context, given a project and an associated task, "
    "retrieve relevant employees that fill that role."
)
# Bump when the encoding procedure changes in a way that changes vectors (invalidates caches).
FINGERPRINT_VERSION = 1
_PROGRESS_MIN_BATCHES = 4


class Encoder:
    """Embeds queries and documents with a transformer, a pooling and optional normalisation.

    Args:
        name_or_path: hub id, local model directory, ``.gguf`` file, or ``bundled:minilm`` /
            ``bundled:smollm2`` (models shipped in Python packages, see :mod:`models.bundled`).
        pooling: ``mean | cls | last | ata`` (:data:`models.pooling.POOLINGS`).
        normalize: L2-normalise the vectors (inner product = cosine).
        query_instruction: the task text of paper eq. 2; when set, a query ``q`` becomes
            ``"Instruct: {query_instruction}\\nQuery: " + q``. ``None`` for models without one.
        query_prefix: a plain prefix for queries (``"query: "`` for e5); not with an instruction.
        document_prefix: a plain prefix for documents (``"passage: "`` for e5).
        max_query_length: tokens kept of a query (longer ones are truncated).
        max_doc_length: tokens kept of a document.
        batch_size: the most texts per forward pass. Texts are sorted by token length and cut
            into runs of at most this many that minimise padded tokens, so long outliers get
            small batches of their own (:func:`models.batching.length_batches`).
        dtype: ``auto`` (bf16, else fp16, on GPU; fp32 on CPU) or ``float32 | bfloat16 | float16``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:1``...
        trust_remote_code: run the model repository's own Python code. Off unless a preset
            whose model card requires it turns it on.
        gguf_file: GGUF file inside ``name_or_path`` to load a (quantised) decoder from; needs
            the ``gguf`` package. A ``name_or_path`` ending in ``.gguf`` sets it too.
        padding_side: ``left | right`` to override the tokenizer's (decoders: ``left``).
        adapter: a PEFT adapter directory (``teamform train`` output) loaded on the model.
        merge_adapter: merge the adapter into the weights (faster inference).
        dense: folder of a sentence-transformers ``Dense`` head applied after pooling
            (``2_Dense`` for sentence-t5, ``2_Dense_1024`` for stella).
        revision: hub revision (branch, tag or commit).
        model_kwargs: extra model-config values (e.g. stella's ``unpad_inputs: false``).
        name: the short name used in system names (``minilm``, ``stella``...).
        progress: show a progress bar; ``None`` shows it on a terminal for 4+ batches.
        batch_overhead_tokens: what one more forward pass costs, in padded tokens, when cutting
            texts into batches; ``None`` = the device's default (64 on a CPU, 2048 on a GPU).
        max_batch_tokens: the most padded token positions in one inference pass; ``None`` = the
            device's default (1024 on a CPU, where bigger passes run slower; ``batch_size *
            max length`` elsewhere). A longer text still gets a pass of its own.
        prepack: run the linear layers through prepacked oneDNN kernels at inference
            (:mod:`models.prepack`; fp32 on a CPU, same vectors within float rounding). ``None``
            packs when it applies and the model's linear weights fit in 2 GiB; ``True`` insists.

    Example:
        >>> enc = Encoder("bundled:minilm", max_doc_length=256)  # doctest: +SKIP
        >>> enc.encode_documents(["role: welder"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        name_or_path: str,
        pooling: str = "mean",
        normalize: bool = True,
        query_instruction: str | None = None,
        query_prefix: str = "",
        document_prefix: str = "",
        max_query_length: int = 512,
        max_doc_length: int = 512,
        batch_size: int = 32,
        dtype: str = "auto",
        device: str = "auto",
        trust_remote_code: bool = False,
        gguf_file: str | None = None,
        padding_side: str | None = None,
        adapter: str | None = None,
        merge_adapter: bool = True,
        dense: str | None = None,
        revision: str | None = None,
        model_kwargs: Mapping[str, Any] | None = None,
        name: str | None = None,
        progress: bool | None = None,
        batch_overhead_tokens: int | None = None,
        max_batch_tokens: int | None = None,
        prepack: bool | None = None,
    ) -> None:
        if query_instruction and query_prefix:
            raise ConfigError("model: set query_instruction or query_prefix, not both")
        sizes = (
            ("max_query_length", max_query_length),
            ("max_doc_length", max_doc_length),
            ("batch_size", batch_size),
            ("max_batch_tokens", 1 if max_batch_tokens is None else max_batch_tokens),
        )
        for key, value in sizes:
            if int(value) < 1:
                raise ConfigError(f"model.{key} must be a positive integer, not {value!r}")
        self.pool_fn = get_pooling(pooling)
        self.name_or_path = name_or_path
        self.source = ModelSource.parse(bundled.resolve(name_or_path), gguf_file, revision)
        self.pooling, self.normalize = pooling, bool(normalize)
        self.query_instruction, self.query_prefix, self.document_prefix = (
            query_instruction,
            query_prefix,
            document_prefix,
        )
        self.max_length = {"query": int(max_query_length), "document": int(max_doc_length)}
        self.batch_size = int(batch_size)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.trust_remote_code = bool(trust_remote_code)
        self.padding_side, self.adapter, self.merge_adapter = padding_side, adapter, merge_adapter
        self.dense_folder, self.model_kwargs = dense, dict(model_kwargs or {})
        self.name = name or _default_name(name_or_path, self.source)
        self.progress = progress
        self.batch_overhead = int(
            default_overhead(self.device.type) if batch_overhead_tokens is None else batch_overhead_tokens
        )
        self.max_batch_tokens = None if max_batch_tokens is None else int(max_batch_tokens)
        self.prepack = prepack
        self._model: torch.nn.Module | None = None
        self._dense: torch.nn.Module | None = None
        self._prepacked: packing.Prepacked | None = None

    # ---- lazy loading ------------------------------------------------------------------------
    @cached_property
    def tokenizer(self):  # noqa: ANN201 - a transformers tokenizer
        """The tokenizer (loaded on first use; cheap next to the model)."""
        return load_tokenizer(self.source, self.trust_remote_code, self.padding_side)

    @property
    def model(self) -> torch.nn.Module:
        """The transformer body, loaded on first use (cache hits never load it), frozen.

        Always the model as loaded: inference kernels that :meth:`encode` packed are undone first,
        so training can wrap and change it.
        """
        if self._prepacked is not None:
            self._prepacked.undo()
            self._prepacked = None
        if self._model is None:
            model = load_model(
                self.source,
                trust_remote_code=self.trust_remote_code,
                dtype=self.dtype,
                eager_attention=self.pooling == "ata",
                model_kwargs=self.model_kwargs,
            )
            if self.adapter:
                model = attach_adapter(model, self.adapter, self.merge_adapter)
            self._model = model.to(self.device).eval().requires_grad_(False)  # LoRA adds what trains
            if self.dense_folder:
                _ = self.dense_head  # with the body, so that a bad `dense` folder fails at load
        return self._model

    @model.setter
    def model(self, model: torch.nn.Module) -> None:
        """Replace the body (e.g. by a PEFT-wrapped one during training)."""
        if self._prepacked is not None:
            self._prepacked.undo()
            self._prepacked = None
        self._model = model

    @property
    def dense_head(self) -> torch.nn.Module | None:
        """The ``dense`` folder's sentence-transformers Dense head (``None`` without one).

        Loaded on first use apart from the body, so a body set through :attr:`model` before
        the first load (shared weights in tests, a preloaded copy) still gets its head.
        """
        if self._dense is None and self.dense_folder:
            self._dense = load_dense(self.source, self.dense_folder).to(self.device).eval()
        return self._dense

    def _inference_model(self) -> torch.nn.Module:
        """The body for :meth:`encode`: prepacked (:mod:`models.prepack`) where that applies."""
        model = self.model if self._prepacked is None else self._model
        if self._prepacked is not None or self.prepack is False:
            return model
        reason = packing.eligible(model, self.device, self.dtype)
        if reason is None and self.prepack is None and packing.linear_bytes(model) > packing.AUTO_MAX_BYTES:
            return model  # auto: a second copy of big weights is not worth a few percent
        if reason is not None:
            if self.prepack:
                raise ConfigError(
                    f"model.prepack=true: {reason}; set model.prepack=null to pack only where it applies"
                )
            return model
        self._prepacked = packing.prepack(model)
        return model

    @property
    def is_loaded(self) -> bool:
        return self._model is not None

    # ---- text formatting and tokenising -----------------------------------------------------
    def format(self, texts: Sequence[str], kind: Kind) -> list[str]:
        """Prefix texts as the model expects (paper eq. 2 for queries); whitespace is stripped."""
        if kind == "query":
            head = (
                INSTRUCTION_FORMAT.format(instruction=self.query_instruction)
                if self.query_instruction
                else self.query_prefix
            )
        elif kind == "document":
            head = self.document_prefix
        else:
            raise ConfigError(f"text kind must be one of {KINDS}, not {kind!r}")
        return [head + str(t).strip() for t in texts]

    def _token_ids(self, texts: list[str], kind: Kind) -> list[list[int]]:
        """Token ids of formatted texts, truncated to the kind's max length, not padded."""
        return self.tokenizer(
            texts,
            truncation=True,
            max_length=self.max_length[kind],
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def collate(self, ids: Sequence[Sequence[int]]) -> dict[str, torch.Tensor]:
        """Pad token id lists to the longest of them (on the tokenizer's padding side)."""
        width = max(len(seq) for seq in ids)
        input_ids = np.full((len(ids), width), self.tokenizer.pad_token_id, dtype=np.int64)  # (batch, seq)
        mask = np.zeros((len(ids), width), dtype=np.int64)  # (batch, seq)
        left = self.tokenizer.padding_side == "left"
        for row, seq in enumerate(ids):
            span = slice(width - len(seq), width) if left else slice(0, len(seq))
            input_ids[row, span], mask[row, span] = seq, 1
        batch = {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(mask)}
        if "token_type_ids" in self.tokenizer.model_input_names:
            batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        return batch

    def tokenize(self, texts: Sequence[str], kind: Kind = "document") -> dict[str, torch.Tensor]:
        """Format, tokenise and pad texts into one batch (for :meth:`embed` in training)."""
        return self.collate(self._token_ids(self.format(texts, kind), kind))

    def token_lengths(self, texts: Sequence[str], kind: Kind = "document") -> np.ndarray:
        """Untruncated token counts of the formatted texts, ``(n,)`` int."""
        ids = self.tokenizer(
            self.format(texts, kind),
            truncation=False,
            padding=False,
            verbose=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        return np.array([len(x) for x in ids], dtype=np.int64)

    def count_truncated(self, texts: Sequence[str], kind: Kind = "document") -> int:
        """How many texts are longer than the kind's max length (and lose their tail)."""
        return int((self.token_lengths(texts, kind) > self.max_length[kind]).sum()) if len(texts) else 0

    # ---- forward ---------------------------------------------------------------------------
    def embed(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Forward one padded batch to sentence vectors, with gradients when enabled.

        ``pool(last hidden states)`` (ATA: with the last layer's attention, Negative Matters (2025), eq.
        3-5), then the optional Dense head, then L2 normalisation when :attr:`normalize`. The rows
        are first cut into length buckets (:func:`models.batching.length_batches`), each trimmed
        to its own longest text; the vectors come back in the batch's row order.

        Args:
            batch: ``input_ids`` and ``attention_mask`` ``(batch, seq)`` (from :meth:`tokenize`).

        Returns:
            ``(batch, dim)`` float32 vectors on :attr:`device`.
        """
        lengths = batch["attention_mask"].sum(dim=1).cpu().numpy()  # (batch,)
        budget = max(int(lengths.max(initial=1)) * len(lengths), 1)  # the padded batch as it came
        groups = length_batches(lengths, max_tokens=budget, overhead=self.batch_overhead)
        if len(groups) <= 1:
            return self._forward(self.model, self._trim(batch, None, int(lengths.max(initial=1))))
        model = self.model
        parts = [
            self._forward(model, self._trim(batch, torch.from_numpy(rows), int(lengths[rows].max())))
            for rows in groups
        ]
        inverse = torch.from_numpy(np.argsort(np.concatenate(groups))).to(self.device)  # (batch,)
        return torch.cat(parts)[inverse]  # (batch, dim), back in row order

    def _trim(
        self, batch: Mapping[str, torch.Tensor], rows: torch.Tensor | None, width: int
    ) -> dict[str, torch.Tensor]:
        """Rows ``rows`` (``None``: all) of a padded batch, cut to ``width`` token positions."""
        left = self.tokenizer.padding_side == "left"
        out = {}
        for key, value in batch.items():
            if value.dim() == 2:  # (batch, seq)
                value = value[:, value.shape[1] - width :] if left else value[:, :width]
            out[key] = value if rows is None else value[rows]
        return out

    def _forward(self, model: torch.nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The model, pooling, Dense head and normalisation on one padded batch: ``(batch, dim)``."""
        inputs = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.pooling == "ata":
            out = model(**inputs, output_attentions=True)
            attentions = out.attentions[-1].float()  # (batch, heads, seq, seq)
        else:
            out = model(**inputs)
            attentions = None
        hidden = out.last_hidden_state if hasattr(out, "last_hidden_state") else out[0]
        vectors = self.pool_fn(hidden.float(), inputs["attention_mask"], attentions)  # (batch, hidden)
        dense = self.dense_head
        if dense is not None:
            vectors = dense(vectors)  # (batch, dim)
        if self.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=-1)
        return vectors

    def encode(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Embed texts in length-bucketed batches; ``(n, dim)`` float32, in the input order."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self._token_ids(self.format(texts, kind), kind)
        batches = self.plan_batches([len(x) for x in ids], kind)  # longest first: OOM shows at once
        model = self._inference_model()
        was_training = model.training
        model.eval()
        chunks: list[torch.Tensor] = []
        show = (
            self.progress
            if self.progress is not None
            else (sys.stderr.isatty() and len(batches) >= _PROGRESS_MIN_BATCHES)
        )
        try:
            with (
                torch.inference_mode(),
                tqdm(total=len(texts), unit="text", desc=f"{self.name} {kind}s", disable=not show) as bar,
            ):
                for rows in batches:
                    chunks.append(self._forward(model, self.collate([ids[i] for i in rows])))
                    bar.update(len(rows))
        finally:
            model.train(was_training)
        out = np.empty((len(texts), chunks[0].shape[1]), dtype=np.float32)
        out[np.concatenate(batches)] = torch.cat(chunks).cpu().numpy()  # (n, dim), back in input order
        return out

    def plan_batches(self, lengths: Sequence[int], kind: Kind = "document") -> list[np.ndarray]:
        """The batches :meth:`encode` runs for texts of these token counts (index arrays)."""
        budget = self.batch_size * self.max_length[kind]
        if self.max_batch_tokens is not None:
            budget = self.max_batch_tokens
        else:
            budget = min(budget, default_pass_tokens(self.device.type) or budget)
        return length_batches(lengths, budget, self.batch_overhead, max_rows=self.batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed task queries (instruction / prefix applied): ``(n, dim)`` float32."""
        return self.encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed employee documents (prefix applied): ``(n, dim)`` float32."""
        return self.encode(texts, "document")

    @cached_property
    def dim(self) -> int:
        """Output dimension (runs one tiny forward pass)."""
        with torch.inference_mode():
            return int(self.embed(self.tokenize(["a"])).shape[1])

    # ---- identity --------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """The plain values that decide the vectors (no file contents), for configs and logs."""
        return {
            "name_or_path": self.name_or_path,
            "gguf_file": self.source.gguf_file,
            "revision": self.source.revision,
            "adapter": self.adapter,
            "pooling": self.pooling,
            "normalize": self.normalize,
            "query_instruction": self.query_instruction,
            "query_prefix": self.query_prefix,
            "document_prefix": self.document_prefix,
            "max_query_length": self.max_length["query"],
            "max_doc_length": self.max_length["document"],
            "dense": self.dense_folder,
            "dtype": str(self.dtype).removeprefix("torch."),
            "model_kwargs": self.model_kwargs,
        }

    @cached_property
    def fingerprint(self) -> str:
        """Cache key of everything that decides the vectors: ``{name}-{16 hex}``.

        Covers the model files (content digest of a local directory / GGUF file, or the hub
        commit), the adapter's files, pooling, normalisation, max lengths, instruction and
        prefixes, Dense head and dtype. Batch size and device are left out.
        """
        parts = {
            "version": FINGERPRINT_VERSION,
            "model": source_identity(self.source),
            "adapter": path_digest(self.adapter) if self.adapter else None,
            **{k: v for k, v in self.settings().items() if k not in ("name_or_path", "adapter")},
        }
        return f"{_safe(self.name)}-{content_key(parts)}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name)


def _default_name(name_or_path: str, source: ModelSource) -> str:
    if name_or_path.startswith(bundled.SCHEME):
        return name_or_path[len(bundled.SCHEME) :]
    return source.path.rstrip("/").rsplit("/", 1)[-1].lower()
