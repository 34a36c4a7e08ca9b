"""The candidate pool of the labelling stage: each task's top-k employees by a base retriever.

Drummond and Veloso (2024), section 4.2: "we use Stella-400M to generate the 20 best-ranked
employees for each task"; pairs then take the employee from that pool with probability 1/2 and
uniformly otherwise. Two retrievers rank the concatenated profiles: the base embedding encoder
(anything with ``encode_queries(texts)`` and ``encode_documents(texts)`` returning one vector per
text, e.g. :class:`models.encoder.Encoder`; cosine similarity) or TF-IDF (scikit-learn, cosine),
the fast lexical fallback for tests (``synth.label_pool_encoder=tfidf``).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first (ties: lower index first).

    Args:
        scores: ``(n_queries, n_documents)`` similarities.
        k: pool size (clipped to the number of documents).

    Returns:
        ``(n_queries, min(k, n_documents))`` integer array.

    Example:
        >>> top_k_indices(np.array([[0.1, 0.9, 0.5], [1.0, 0.0, 1.0]]), 2).tolist()
        [[1, 2], [0, 2]]
    """
    k = min(k, scores.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")  # (n_queries, n_documents)
    return order[:, :k]


def _normalise(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def tfidf_scores(queries: list[str], documents: list[str]) -> np.ndarray:
    """Cosine similarities of TF-IDF vectors fit on the documents: ``(n_queries, n_documents)``."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
    docs = vectorizer.fit_transform(documents)
    return (vectorizer.transform(queries) @ docs.T).toarray()


def encoder_scores(encoder: Any, queries: list[str], documents: list[str]) -> np.ndarray:
    """Cosine similarities of the encoder's query and document embeddings."""
    q = _normalise(encoder.encode_queries(queries))  # (n_queries, dim)
    d = _normalise(encoder.encode_documents(documents))  # (n_documents, dim)
    return q @ d.T


def top_k_pool(
    queries: dict[str, str], documents: dict[str, str], k: int, encoder: Any = None
) -> dict[str, list[str]]:
    """``query id -> [document id, ...]`` of the ``k`` best documents per query.

    Args:
        queries: ``task id -> query text``.
        documents: ``employee id -> profile text``.
        k: pool size.
        encoder: an embedding encoder, or ``None`` for TF-IDF.

    Example:
        >>> top_k_pool({"t": "glaze kiln"}, {"a": "payroll audit", "b": "kiln glaze line"}, 1)
        {'t': ['b']}
    """
    qids, dids = list(queries), list(documents)
    if not qids or not dids:
        return {q: [] for q in qids}
    texts_q, texts_d = [queries[q] for q in qids], [documents[d] for d in dids]
    scores = tfidf_scores(texts_q, texts_d) if encoder is None else encoder_scores(encoder, texts_q, texts_d)
    best = top_k_indices(scores, k)
    return {q: [dids[j] for j in row] for q, row in zip(qids, best, strict=True)}
