"""Dense retrieval with FAISS: one index per aspect, full or top-k score matrices.

The default index is exact inner product (``IndexFlatIP``) on L2-normalised vectors, i.e.
cosine similarity. For large employee bases ``kind="hnsw"`` (graph) or ``kind="ivf"``
(inverted lists) trade a little recall for speed. A retrieval result is a dense score matrix
``(n_queries, n_docs)`` float32 with NaN for documents not retrieved (outside the top k, or
missed by an approximate index): the per-aspect input format of the aggregators.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.core.errors import ConfigError, unknown_choice

INDEX_KINDS: tuple[str, ...] = ("flat", "hnsw", "ivf")


@dataclass(frozen=True)
class IndexSpec:
    """How to index and search one aspect (``eval.index`` and its parameters).

    Attributes:
        kind: ``flat`` (exact), ``hnsw`` or ``ivf`` (approximate).
        top_k: documents kept per query; ``None`` ranks all of them.
        normalize: L2-normalise vectors first (inner product = cosine).
        hnsw_m: HNSW graph degree.
        ef_construction: HNSW build-time candidate list.
        ef_search: HNSW search-time candidate list (raised to ``k`` when smaller).
        ivf_nlist: IVF cells; ``None`` = ``min(round(sqrt(n)), n // 39)``, at least 1.
        ivf_nprobe: IVF cells visited per query.
    """

    kind: str = "flat"
    top_k: int | None = None
    normalize: bool = True
    hnsw_m: int = 32
    ef_construction: int = 200
    ef_search: int = 128
    ivf_nlist: int | None = None
    ivf_nprobe: int = 16

    def __post_init__(self) -> None:
        if self.kind not in INDEX_KINDS:
            raise unknown_choice("eval.index", self.kind, INDEX_KINDS)
        if self.top_k is not None and int(self.top_k) < 1:
            raise ConfigError(
                f"eval.top_k must be a positive integer or null (rank everyone), not {self.top_k!r}"
            )


def _as_matrix(vectors: np.ndarray, normalize: bool) -> np.ndarray:
    import faiss

    x = np.ascontiguousarray(vectors, dtype=np.float32)  # (n, dim), FAISS needs C-contiguous float32
    if normalize and len(x):
        x = x.copy()
        faiss.normalize_L2(x)
    return x


def build_index(docs: np.ndarray, spec: IndexSpec = IndexSpec()):  # noqa: ANN201 - faiss.Index
    """An inner-product FAISS index over document vectors ``(n_docs, dim)``."""
    import faiss

    x = _as_matrix(docs, spec.normalize)
    n, dim = x.shape
    if spec.kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
    else:
        # default: sqrt(n) cells, with the >= 39 training points per cell FAISS asks for
        nlist = spec.ivf_nlist or min(round(math.sqrt(n)), n // 39)
        nlist = max(1, min(nlist, n))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(x)
        index.nprobe = min(spec.ivf_nprobe, nlist)
    index.add(x)
    return index


def search(
    index, queries: np.ndarray, k: int, spec: IndexSpec = IndexSpec()
) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The ``k`` best documents per query: ``(scores (n_q, k) float32, ids (n_q, k) int64)``.

    Ids are -1 (score -inf) where an approximate index returns fewer than ``k`` documents.
    """
    if spec.kind == "hnsw":
        index.hnsw.efSearch = max(spec.ef_search, k)
    return index.search(_as_matrix(queries, spec.normalize), k)


def score_matrix(queries: np.ndarray, docs: np.ndarray, spec: IndexSpec = IndexSpec()) -> np.ndarray:
    """Retrieval scores of every query against every document, NaN where not retrieved.

    Args:
        queries: ``(n_queries, dim)`` vectors.
        docs: ``(n_docs, dim)`` vectors.
        spec: index kind, ``top_k`` and parameters.

    Returns:
        ``(n_queries, n_docs)`` float32: the inner products (cosines when normalised) of the
        retrieved documents, NaN for the others.

    Example:
        >>> score_matrix(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), IndexSpec(top_k=1))
        array([[ 1., nan],
               [nan,  1.]], dtype=float32)
    """
    n_q, n_d = len(queries), len(docs)
    out = np.full((n_q, n_d), np.nan, dtype=np.float32)
    if n_q == 0 or n_d == 0:
        return out
    k = n_d if spec.top_k is None else min(int(spec.top_k), n_d)
    scores, ids = search(build_index(docs, spec), queries, k, spec)
    rows = np.broadcast_to(np.arange(n_q)[:, None], ids.shape)  # (n_q, k)
    hit = ids >= 0
    out[rows[hit], ids[hit]] = scores[hit]
    return out


def keep_top_k(scores: np.ndarray, k: int | None) -> np.ndarray:
    """Set all but the ``k`` highest finite scores of each row to NaN (``None``: keep all).

    Ties at the cut keep the lower document index. Used for scorers without an index (BM25,
    TF-IDF), so every system takes part in top-k experiments the same way.
    """
    scores = np.array(scores, dtype=np.float32)  # (n_q, n_d), a copy
    if k is None or k >= scores.shape[1]:
        return scores
    order = np.argsort(np.where(np.isnan(scores), np.inf, -scores), axis=1, kind="stable")  # best first
    drop = order[:, int(k) :]  # (n_q, n_d - k)
    np.put_along_axis(scores, drop, np.nan, axis=1)
    return scores
