"""A persistent employee index: per-aspect vectors and their FAISS indexes, updated incrementally.

Layout under ``{paths.cache_dir}/index/{encoder fingerprint}/``::

    {view}.npz      ids (n,), keys (n, 32) uint8 = SHA-256 of each employee's text, vectors (n, dim)
    {view}.faiss    the FAISS index over those vectors (row i = ids[i])

``view`` is an aspect name or ``concat``. :meth:`EmployeeIndex.update` re-encodes only the
employees whose text changed (or who are new) and drops the ones who left; the encoder's own
embedding cache keeps even those calls cheap when a text comes back. No text is stored.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.io import atomic_write_bytes
from bench.run.retrieval import IndexSpec, build_index, search
from models.embedding_cache import text_keys

log = logging.getLogger(__name__)


@dataclass
class IndexStats:
    """What one update did for one view."""

    view: str
    encoded: int
    reused: int
    removed: int


class EmployeeIndex:
    """The vectors and FAISS indexes of one encoder's employees, one pair of files per view.

    Args:
        root: ``{cache}/index``; the encoder's files go under ``root/{fingerprint}``.
        encoder: anything with ``fingerprint`` and ``encode_documents(texts) -> (n, dim)``.
        spec: the FAISS index kind (flat by default: exact inner product).
    """

    def __init__(self, root: str | Path, encoder: Any, spec: IndexSpec = IndexSpec()) -> None:
        self.dir = Path(root) / str(encoder.fingerprint)
        self.encoder, self.spec = encoder, spec
        self.loaded: dict[str, tuple[list[str], np.ndarray, Any]] = {}

    def _read(self, view: str) -> tuple[list[str], np.ndarray, np.ndarray] | None:
        path = self.dir / f"{view}.npz"
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return [str(i) for i in data["ids"]], data["keys"], data["vectors"]

    def update(self, view: str, texts: dict[str, str]) -> IndexStats:
        """Bring ``view``'s vectors and index up to date with ``employee id -> text``."""
        ids = list(texts)
        keys = text_keys([texts[i] for i in ids]) if ids else np.zeros((0, 32), np.uint8)  # (n, 32)
        stored = self._read(view)
        old = {} if stored is None else {e: row for row, e in enumerate(stored[0])}
        same = [i for i, e in enumerate(ids) if e in old and np.array_equal(stored[1][old[e]], keys[i])]
        changed = sorted(set(range(len(ids))) - set(same))
        fresh = self.encoder.encode_documents([texts[ids[i]] for i in changed]) if changed else None
        dim = fresh.shape[1] if fresh is not None else (stored[2].shape[1] if stored is not None else 1)
        vectors = np.zeros((len(ids), dim), dtype=np.float32)  # (n_employees, dim)
        if same:
            vectors[same] = stored[2][[old[ids[i]] for i in same]]
        if changed:
            vectors[changed] = fresh
        removed = len(set(old) - set(ids))
        if changed or removed or stored is None:
            buffer = io.BytesIO()
            np.savez(buffer, ids=np.array(ids, dtype=str), keys=keys, vectors=vectors)
            atomic_write_bytes(self.dir / f"{view}.npz", buffer.getvalue())
            self._write_faiss(view, vectors)
        self.loaded.pop(view, None)
        stats = IndexStats(view, encoded=len(changed), reused=len(same), removed=removed)
        log.info(
            "index %s: %d encoded, %d reused, %d removed", view, stats.encoded, stats.reused, stats.removed
        )
        return stats

    def _write_faiss(self, view: str, vectors: np.ndarray) -> None:
        import faiss  # deferred: the FAISS import is only needed where an index is built or read

        index = build_index(vectors, self.spec)
        atomic_write_bytes(self.dir / f"{view}.faiss", faiss.serialize_index(index).tobytes())

    def _index(self, view: str) -> tuple[list[str], Any]:
        if view not in self.loaded:
            import faiss  # deferred: as above

            ids, _, vectors = self._read(view)
            raw = np.frombuffer((self.dir / f"{view}.faiss").read_bytes(), dtype=np.uint8)
            self.loaded[view] = (ids, vectors, faiss.deserialize_index(raw))
        ids, _, index = self.loaded[view]
        return ids, index

    def scores(self, view: str, queries: np.ndarray, employee_ids: list[str], depth: int) -> np.ndarray:
        """``(n_tasks, n_employees)`` similarities of the top ``depth`` per task; ``NaN`` elsewhere.

        Columns follow ``employee_ids``; an employee the view does not hold (no such aspect) is NaN.
        """
        ids, index = self._index(view)
        out = np.full((len(queries), len(employee_ids)), np.nan)  # (n_tasks, n_employees)
        if not ids:
            return out
        column = {e: j for j, e in enumerate(employee_ids)}
        where = np.array([column.get(e, -1) for e in ids])
        sims, rows = search(index, queries, min(depth, len(ids)), self.spec)  # (n_tasks, k) each
        for t in range(len(queries)):
            keep = rows[t] >= 0
            cols = where[rows[t][keep]]
            ok = cols >= 0
            out[t, cols[ok]] = sims[t][keep][ok]
        return out
