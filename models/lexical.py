"""Lexical baselines of the paper's Table 1: BM25 (Okapi) and TF-IDF with cosine similarity.

Both score every query against every document in one vectorised step:
``score(queries, docs) -> (n_queries, n_docs)`` float64.

- **BM25**: ``rank_bm25.BM25Okapi`` (k1 = 1.5, b = 0.75, epsilon = 0.25) computes the IDF
  table; the per-document term weights go into a sparse matrix ``W (n_docs, vocab)`` with
  ``W[d, t] = idf(t) * tf(t, d) (k1 + 1) / (tf(t, d) + k1 (1 - b + b |d| / avgdl))``, and the
  scores are ``Q @ W.T`` where ``Q[q, t]`` counts term ``t`` in query ``q``. This is exactly
  ``BM25Okapi.get_scores`` (which sums the same terms once per query token), up to float
  summation order.
- **TF-IDF**: scikit-learn's ``TfidfVectorizer`` (its defaults: lowercase, tokens of 2+ word
  characters, smoothed IDF, L2-normalised rows) fitted on the documents; the score is the
  cosine of the query and document vectors (0 for a text with no known term).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from bench.core.errors import unknown_choice

_TOKEN = re.compile(r"\w+")


def bm25_tokenize(text: str) -> list[str]:
    """The BM25 tokeniser: lowercase, then maximal runs of Unicode word characters.

    No stemming and no stop words, so results depend on nothing but the text.

    Example:
        >>> bm25_tokenize("Project: Kiln-retrofit. Task: Plan 2 shifts")
        ['project', 'kiln', 'retrofit', 'task', 'plan', '2', 'shifts']
    """
    return _TOKEN.findall(text.lower())


class BM25Scorer:
    """BM25 Okapi scores of queries against documents (``rank_bm25`` parameters).

    Args:
        k1: term-frequency saturation.
        b: document-length normalisation.
        epsilon: floor of negative IDFs, as a fraction of the mean IDF (rank_bm25's rule).
    """

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25) -> None:
        self.k1, self.b, self.epsilon = k1, b, epsilon

    def score(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_docs)`` BM25 scores; all 0 when the documents have no terms."""
        from rank_bm25 import BM25Okapi

        corpus = [bm25_tokenize(d) for d in docs]
        if not any(corpus):
            return np.zeros((len(queries), len(docs)))
        bm25 = BM25Okapi(corpus, k1=self.k1, b=self.b, epsilon=self.epsilon)
        vocab = {term: j for j, term in enumerate(bm25.idf)}
        idf = np.array([bm25.idf[t] for t in vocab])  # (vocab,)
        doc_len = np.array(bm25.doc_len, dtype=np.float64)  # (n_docs,)
        rows, cols, tfs = [], [], []
        for d, freqs in enumerate(bm25.doc_freqs):
            rows += [d] * len(freqs)
            cols += [vocab[t] for t in freqs]
            tfs += list(freqs.values())
        rows_a, cols_a, tf = np.array(rows), np.array(cols), np.array(tfs, dtype=np.float64)
        norm = self.k1 * (1 - self.b + self.b * doc_len[rows_a] / bm25.avgdl)
        weights = idf[cols_a] * (tf * (self.k1 + 1) / (tf + norm))
        w = sp.csr_matrix((weights, (rows_a, cols_a)), shape=(len(docs), len(vocab)))  # (n_docs, vocab)
        return (self._query_counts(queries, vocab) @ w.T).toarray()  # (n_queries, n_docs)

    @staticmethod
    def _query_counts(queries: Sequence[str], vocab: dict[str, int]) -> sp.csr_matrix:
        """``(n_queries, vocab)`` counts of each known term in each query."""
        rows, cols, counts = [], [], []
        for q, text in enumerate(queries):
            for term, count in Counter(t for t in bm25_tokenize(text) if t in vocab).items():
                rows.append(q)
                cols.append(vocab[term])
                counts.append(count)
        return sp.csr_matrix(
            (np.array(counts, dtype=np.float64), (rows, cols)), shape=(len(queries), len(vocab))
        )


class TfidfScorer:
    """Cosine similarity of TF-IDF vectors fitted on the documents (scikit-learn).

    Args:
        sublinear_tf: use ``1 + log(tf)`` (scikit-learn option; off as in its default).
    """

    name = "tfidf"

    def __init__(self, sublinear_tf: bool = False) -> None:
        self.sublinear_tf = sublinear_tf

    def score(self, queries: Sequence[str], docs: Sequence[str]) -> np.ndarray:
        """``(n_queries, n_docs)`` cosines in [0, 1]; all 0 when the documents have no terms."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(sublinear_tf=self.sublinear_tf)
        try:
            d = vectorizer.fit_transform(list(docs))  # (n_docs, vocab), rows L2-normalised
        except ValueError:  # empty vocabulary: no document has a term
            return np.zeros((len(queries), len(docs)))
        q = vectorizer.transform(list(queries))  # (n_queries, vocab)
        return (q @ d.T).toarray()  # unit rows: the dot product is the cosine


# The one mapping of lexical baseline names (they are also the encoder part of system names).
LEXICAL: dict[str, type] = {"bm25": BM25Scorer, "tfidf": TfidfScorer}


def get_lexical(name: str, **params: float) -> BM25Scorer | TfidfScorer:
    """Build a lexical scorer by name; unknown names list the valid ones."""
    if name not in LEXICAL:
        raise unknown_choice("lexical baseline", name, LEXICAL)
    return LEXICAL[name](**params)
