"""Lexical baselines: BM25 equals rank_bm25's BM25Okapi, TF-IDF equals scikit-learn's cosine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rank_bm25 import BM25Okapi
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from bench.core.errors import ConfigError
from models.lexical import BM25Scorer, TfidfScorer, bm25_tokenize, get_lexical

WORDS = ["kiln", "glaze", "oak", "veneer", "audit", "weld", "Tile", "the", "and", "QA"]
texts = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join)


def rank_bm25_scores(queries: list[str], docs: list[str]) -> np.ndarray:
    bm25 = BM25Okapi([bm25_tokenize(d) for d in docs])
    return np.array([bm25.get_scores(bm25_tokenize(q)) for q in queries])


def test_bm25_by_hand() -> None:
    docs = ["kiln kiln glaze", "oak", "oak veneer"]
    # N = 3, avgdl = 6 / 3 = 2; df(kiln) = 1, df(oak) = 2
    idf_kiln = math.log(3 - 1 + 0.5) - math.log(1 + 0.5)
    idf_oak_raw = math.log(3 - 2 + 0.5) - math.log(2 + 0.5)  # negative: floored to eps * mean idf
    idf_glaze = idf_veneer = idf_kiln
    eps = 0.25 * (idf_kiln + idf_glaze + idf_oak_raw + idf_veneer) / 4
    k1, b = 1.5, 0.75
    norm = [k1 * (1 - b + b * dl / 2) for dl in (3, 1, 2)]
    kiln_d0 = idf_kiln * 2 * (k1 + 1) / (2 + norm[0])
    oak = [0.0, eps * (k1 + 1) / (1 + norm[1]), eps * (k1 + 1) / (1 + norm[2])]
    expected = np.array([[kiln_d0 + 0, oak[1], oak[2]]])  # query "kiln oak"
    expected_twice = np.array([[0.0, 2 * oak[1], 2 * oak[2]]])  # query "oak Oak": counted twice
    np.testing.assert_allclose(
        BM25Scorer().score(["kiln oak", "oak Oak"], docs), np.vstack([expected, expected_twice]), rtol=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(docs=st.lists(texts, min_size=1, max_size=12), queries=st.lists(texts, min_size=1, max_size=5))
def test_bm25_equals_rank_bm25(docs: list[str], queries: list[str]) -> None:
    ours = BM25Scorer().score(queries, docs)
    assert ours.shape == (len(queries), len(docs))
    if not any(bm25_tokenize(d) for d in docs):  # rank_bm25 divides by zero on an empty vocabulary
        assert (ours == 0).all()
        return
    np.testing.assert_allclose(ours, rank_bm25_scores(queries, docs), rtol=1e-12, atol=1e-12)


def test_bm25_unknown_terms_and_empty_inputs() -> None:
    docs = ["oak veneer", "kiln"]
    assert (BM25Scorer().score(["granite"], docs) == 0).all()
    assert BM25Scorer().score([], docs).shape == (0, 2)
    assert BM25Scorer().score(["oak"], []).shape == (1, 0)


@settings(max_examples=40, deadline=None)
@given(docs=st.lists(texts, min_size=1, max_size=10), queries=st.lists(texts, min_size=1, max_size=4))
def test_tfidf_equals_sklearn_cosine(docs: list[str], queries: list[str]) -> None:
    ours = TfidfScorer().score(queries, docs)
    vectorizer = TfidfVectorizer()
    try:
        d = vectorizer.fit_transform(docs)
    except ValueError:  # no document has a 2+ character word
        assert (ours == 0).all()
        return
    np.testing.assert_allclose(
        ours, cosine_similarity(vectorizer.transform(queries), d), rtol=1e-12, atol=1e-12
    )


def test_registry() -> None:
    assert isinstance(get_lexical("bm25"), BM25Scorer) and get_lexical("tfidf").name == "tfidf"
    with pytest.raises(ConfigError, match="bm25, tfidf"):
        get_lexical("bm26")
