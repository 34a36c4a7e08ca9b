"""On-disk embedding cache: a text is never encoded twice by the same encoder.

Layout under the cache root (``paths.cache_dir``/embeddings)::

    {fingerprint}/meta.json                 encoder settings (no text), for humans
    {fingerprint}/{kind}-{16 hex}.npz       keys (n, 32) uint8 = SHA-256 of each formatted-kind
                                            text, vectors (n, dim) float32

``fingerprint`` is the encoder's (:attr:`models.encoder.Encoder.fingerprint`): model files,
adapter, pooling, normalisation, max lengths and instruction. ``kind`` is ``query`` or
``document``. Each call that encodes new texts adds one part file; parts are merged when there
are more than :data:`MAX_PARTS`. Files are written atomically with mode 0o600 and read with
``allow_pickle=False``; no text is stored, only hashes and vectors.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bench.core.io import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)
MAX_PARTS = 32


class TextEncoder(Protocol):
    """What the cache and the retrieval systems need of an encoder."""

    name: str
    fingerprint: str

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray: ...


@dataclass
class CacheStats:
    """Counts of texts served from the cache (``hits``) and encoded (``misses``)."""

    hits: int = 0
    misses: int = 0

    def add(self, other: CacheStats) -> None:
        self.hits += other.hits
        self.misses += other.misses


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """SHA-256 digests of texts, ``(n, 32)`` uint8."""
    digests = b"".join(hashlib.sha256(str(t).encode("utf-8")).digest() for t in texts)
    return np.frombuffer(digests, dtype=np.uint8).reshape(len(texts), 32)  # (n, 32)


class EmbeddingCache:
    """Vectors by (encoder fingerprint, kind, text hash) under ``root``.

    Args:
        root: the cache directory (created with mode 0o700).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _dir(self, fingerprint: str) -> Path:
        return self.root / fingerprint

    def _parts(self, fingerprint: str, kind: str) -> list[Path]:
        return sorted(self._dir(fingerprint).glob(f"{kind}-*.npz"))

    def load(self, fingerprint: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """All cached ``(keys (n, 32) uint8, vectors (n, dim) float32)`` of an encoder and kind."""
        keys, vectors = [], []
        for part in self._parts(fingerprint, kind):
            try:
                with np.load(part, allow_pickle=False) as data:
                    keys.append(data["keys"])
                    vectors.append(data["vectors"])
            except FileNotFoundError:  # merged away by a concurrent writer: its rows are in the merge
                return self.load(fingerprint, kind)
        if not keys:
            return np.zeros((0, 32), np.uint8), np.zeros((0, 0), np.float32)
        return np.concatenate(keys), np.concatenate(vectors)

    def lookup(self, fingerprint: str, kind: str, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cached vectors of ``keys`` ``(n, 32)``: ``(found (n,) bool, vectors (n, dim) float32)``.

        ``dim`` is 0 when nothing of this encoder and kind is cached.
        """
        cached_keys, cached_vectors = self.load(fingerprint, kind)
        row_of = {k.tobytes(): r for r, k in enumerate(cached_keys)}
        rows = np.array([row_of.get(k.tobytes(), -1) for k in keys], dtype=np.int64)
        found = rows >= 0
        vectors = np.zeros((len(keys), cached_vectors.shape[1]), np.float32)
        vectors[found] = cached_vectors[rows[found]]
        return found, vectors

    def store(
        self,
        fingerprint: str,
        kind: str,
        keys: np.ndarray,
        vectors: np.ndarray,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Add ``vectors (n, dim)`` under ``keys (n, 32)`` as one new part file."""
        if not len(keys):
            return
        directory = self._dir(fingerprint)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if meta is not None and not (directory / "meta.json").exists():
            atomic_write_text(
                directory / "meta.json", json.dumps(meta, indent=2, default=str) + "\n", mode=0o600
            )
        name = hashlib.sha256(keys.tobytes()).hexdigest()[:16]
        self._write(directory / f"{kind}-{name}.npz", keys, vectors)
        parts = self._parts(fingerprint, kind)
        if len(parts) > MAX_PARTS:
            self._merge(fingerprint, kind, parts)

    def _write(self, path: Path, keys: np.ndarray, vectors: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            keys=np.ascontiguousarray(keys, np.uint8),
            vectors=np.ascontiguousarray(vectors, np.float32),
        )
        atomic_write_bytes(path, buffer.getvalue(), mode=0o600)

    def _merge(self, fingerprint: str, kind: str, parts: list[Path]) -> None:
        keys, vectors = self.load(fingerprint, kind)
        _, first = np.unique(keys, axis=0, return_index=True)
        keys, vectors = keys[np.sort(first)], vectors[np.sort(first)]
        merged = self._dir(fingerprint) / f"{kind}-{hashlib.sha256(keys.tobytes()).hexdigest()[:16]}.npz"
        self._write(merged, keys, vectors)
        for part in parts:
            if part != merged:
                part.unlink(missing_ok=True)


def encode_cached(
    encoder: TextEncoder, texts: Sequence[str], kind: str, cache: EmbeddingCache | str | Path
) -> tuple[np.ndarray, CacheStats]:
    """Embed ``texts`` with ``encoder``, encoding only those the cache lacks (each once).

    Args:
        encoder: anything with ``fingerprint`` and ``encode(texts, kind)``.
        texts: the raw texts (the encoder applies its own prefixes; they are in the fingerprint).
        kind: ``query`` or ``document``.
        cache: an :class:`EmbeddingCache` or its root directory.

    Returns:
        ``(vectors (n, dim) float32 in input order, CacheStats)``; duplicate texts count as
        hits after their first occurrence.
    """
    cache = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
    texts = [str(t) for t in texts]
    keys = text_keys(texts)
    found, vectors = cache.lookup(encoder.fingerprint, kind, keys)
    missing = np.flatnonzero(~found)
    stats = CacheStats(hits=int(found.sum()), misses=0)
    if len(missing):
        _, first, inverse = np.unique(keys[missing], axis=0, return_index=True, return_inverse=True)
        todo = missing[first]  # one index per distinct missing text
        new = np.asarray(encoder.encode([texts[i] for i in todo], kind), dtype=np.float32)  # (n_new, dim)
        if vectors.shape[1] == 0:  # nothing of this encoder and kind was cached yet
            vectors = np.zeros((len(texts), new.shape[1]), np.float32)
        vectors[missing] = new[inverse.reshape(-1)]
        meta = encoder.settings() if hasattr(encoder, "settings") else {"name": encoder.name}
        cache.store(encoder.fingerprint, kind, keys[todo], new, meta=meta)
        stats.misses = len(todo)
        stats.hits += len(missing) - len(todo)
    return vectors, stats


class CachedEncoder:
    """An encoder whose ``encode*`` calls go through an :class:`EmbeddingCache`.

    Other attributes (``name``, ``fingerprint``, ``count_truncated``, ``max_length``...) are the
    wrapped encoder's. :attr:`stats` accumulates hits and misses over all calls.

    Example:
        >>> enc = CachedEncoder(Encoder("bundled:minilm"), ".cache/embeddings")  # doctest: +SKIP
        >>> enc.encode_documents(["role: welder"]); enc.stats.misses  # doctest: +SKIP
        1
    """

    def __init__(self, encoder: TextEncoder, cache: EmbeddingCache | str | Path) -> None:
        self.encoder = encoder
        self.cache = cache if isinstance(cache, EmbeddingCache) else EmbeddingCache(cache)
        self.stats = CacheStats()

    def __getattr__(self, name: str) -> Any:
        if name == "encoder":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.encoder, name)

    def encode(self, texts: Sequence[str], kind: str) -> np.ndarray:
        vectors, stats = encode_cached(self.encoder, texts, kind, self.cache)
        self.stats.add(stats)
        log.debug(
            "embedding cache %s %s: %d hits, %d misses", self.encoder.name, kind, stats.hits, stats.misses
        )
        return vectors

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "document")
