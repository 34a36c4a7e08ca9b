"""FAISS retrieval and the per-aspect / concat score arrays of the systems."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.dataset import Dataset, Employee, Task
from bench.core.errors import ConfigError
from bench.run.retrieval import IndexSpec, build_index, keep_top_k, score_matrix, search
from bench.run.systems import score_systems
from models.lexical import BM25Scorer


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_top_k_equals_numpy_argsort() -> None:
    rng = np.random.default_rng(0)
    docs, queries = unit(rng, 300, 16), unit(rng, 20, 16)
    scores, ids = search(build_index(docs), queries, 10)
    exact = queries @ docs.T  # (20, 300)
    np.testing.assert_array_equal(ids, np.argsort(-exact, axis=1)[:, :10])
    np.testing.assert_allclose(scores, np.take_along_axis(exact, ids, axis=1), atol=1e-5)


def test_score_matrix_full_and_top_k() -> None:
    rng = np.random.default_rng(1)
    docs = rng.standard_normal((50, 8)).astype(np.float32) * 3  # not unit: the index normalises
    queries = rng.standard_normal((7, 8)).astype(np.float32)
    cos = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
        docs / np.linalg.norm(docs, axis=1, keepdims=True)
    ).T
    full = score_matrix(queries, docs)
    assert full.dtype == np.float32 and not np.isnan(full).any()
    np.testing.assert_allclose(full, cos, atol=1e-5)
    top = score_matrix(queries, docs, IndexSpec(top_k=5))
    assert (np.isfinite(top).sum(axis=1) == 5).all()
    kept = np.isfinite(top)
    for row in range(7):
        assert set(np.flatnonzero(kept[row])) == set(np.argsort(-cos[row])[:5])
    np.testing.assert_allclose(top[kept], cos[kept], atol=1e-5)


@pytest.mark.parametrize(
    "spec",
    [
        IndexSpec(kind="hnsw"),
        IndexSpec(kind="hnsw", hnsw_m=16, ef_search=64),
        IndexSpec(kind="ivf", ivf_nlist=32, ivf_nprobe=16),
    ],
)
def test_approximate_index_recall(spec: IndexSpec) -> None:
    rng = np.random.default_rng(2)
    docs, queries = unit(rng, 4000, 32), unit(rng, 100, 32)
    truth = np.argsort(-(queries @ docs.T), axis=1)[:, :10]
    _, ids = search(build_index(docs, spec), queries, 10, spec)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, truth, strict=True)])
    assert recall >= 0.9, f"{spec.kind} recall@10 = {recall:.3f}"


def test_keep_top_k_sets_the_rest_to_nan() -> None:
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [np.nan, 0.2, 0.3, 0.1]])
    np.testing.assert_array_equal(
        np.isfinite(keep_top_k(scores, 2)), [[False, True, False, True], [False, True, True, False]]
    )
    np.testing.assert_array_equal(keep_top_k(scores, None), scores.astype(np.float32))


def test_bad_index_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="eval.index"):
        IndexSpec(kind="annoy")
    with pytest.raises(ConfigError, match="eval.top_k"):
        IndexSpec(top_k=0)


# ---- systems --------------------------------------------------------------------------------------
def tiny_dataset() -> Dataset:
    employees = [
        Employee("e1", {"role": "kiln operator", "goals": "learn glaze chemistry"}),
        Employee("e2", {"role": "oak veneer buyer"}),  # no goals
        Employee("e3", {}),  # no aspect at all
        Employee("e4", {"role": "welder", "goals": "certify in tig welding of steel frames"}),
    ]
    tasks = [Task("t1", "Kiln retrofit", "Plan glaze trials"), Task("t2", "Frames", "Weld steel frames")]
    return Dataset("tiny", employees, tasks, {"t1": {"e1": 1}, "t2": {"e4": 1}}, aspects=["role", "goals"])


class HashEncoder:
    """Test double of a dense encoder: bag-of-words vectors over a fixed vocabulary."""

    name = "hash"
    vocab = ["kiln", "glaze", "oak", "veneer", "weld", "steel", "frames", "project", "task", "certify"]

    def __init__(self, max_tokens: int = 100) -> None:
        self.max_tokens, self.calls = max_tokens, []

    def _vec(self, text: str) -> np.ndarray:
        words = text.lower().replace(".", " ").replace(":", " ").split()
        return np.array([sum(w.startswith(v) for w in words) for v in self.vocab], dtype=np.float32) + 0.01

    def encode_queries(self, texts):  # noqa: ANN001, ANN201
        self.calls.append(("query", len(texts)))
        return np.stack([self._vec(t) for t in texts])

    def encode_documents(self, texts):  # noqa: ANN001, ANN201
        self.calls.append(("document", len(texts)))
        return np.stack([self._vec(t) for t in texts])

    def count_truncated(self, texts, kind):  # noqa: ANN001, ANN201
        return sum(len(t.split()) > self.max_tokens for t in texts)


def test_without_concat_the_concatenations_are_never_encoded() -> None:
    """A job whose views do not show the concatenated profile skips its (longest) texts."""
    data, enc = tiny_dataset(), HashEncoder()
    result = score_systems(data, enc, with_concat=False)
    assert enc.calls == [("query", 2), ("document", 3 + 2)]  # the aspects only
    assert np.isnan(result.concat).all() and result.concat.dtype == np.float32
    np.testing.assert_array_equal(result.per_aspect, score_systems(data, HashEncoder()).per_aspect)
    assert result.summary()["concat_texts"] == 0


def test_per_aspect_scores_shape_and_nan_for_missing_aspects() -> None:
    data, enc = tiny_dataset(), HashEncoder(max_tokens=5)
    result = score_systems(data, enc)
    assert result.per_aspect.shape == (2, 2, 4) and result.per_aspect.dtype == np.float32
    assert result.concat.shape == (2, 4) and result.concat.dtype == np.float32
    assert enc.calls == [("query", 2), ("document", 3 + 2 + 3)]  # queries once, all documents in one call
    role, goals = result.per_aspect
    assert np.isnan(role[:, 2]).all() and np.isfinite(role[:, [0, 1, 3]]).all()
    assert np.isnan(goals[:, [1, 2]]).all() and np.isfinite(goals[:, [0, 3]]).all()
    assert np.isnan(result.concat[:, 2]).all() and np.isfinite(result.concat[:, [0, 1, 3]]).all()
    # values: cosine of the query and the aspect text
    q = enc._vec(data.tasks[1].query)
    d = enc._vec("certify in tig welding of steel frames")
    assert goals[1, 3] == pytest.approx(q @ d / np.linalg.norm(q) / np.linalg.norm(d), abs=1e-6)
    assert np.nanargmax(role[0]) == 0 and np.nanargmax(role[1]) == 3
    # concat of e4 = "role: welder\ngoals: certify ... frames" (8 words > 5): truncated
    assert (result.concat_truncated, result.concat_texts) == (2, 3)
    assert result.summary()["concat_truncated_share"] == pytest.approx(2 / 3)


def test_aspect_choice_and_top_k() -> None:
    data = tiny_dataset()
    only_role = score_systems(data, HashEncoder(), aspects=["role"], index=IndexSpec(top_k=1))
    assert only_role.aspects == ["role"] and only_role.per_aspect.shape == (1, 2, 4)
    assert (np.isfinite(only_role.per_aspect).sum(axis=2) == 1).all()
    assert (np.isfinite(only_role.concat).sum(axis=1) == 1).all()
    with pytest.raises(ConfigError, match="skills"):
        score_systems(data, HashEncoder(), aspects=["skills"])
    with pytest.raises(ConfigError, match="empty"):
        score_systems(data, HashEncoder(), aspects=[])


def test_lexical_systems() -> None:
    data = tiny_dataset()
    result = score_systems(data, BM25Scorer())
    expected = BM25Scorer().score(
        [t.query for t in data.tasks], ["kiln operator", "oak veneer buyer", "welder"]
    )
    np.testing.assert_allclose(result.per_aspect[0][:, [0, 1, 3]], expected.astype(np.float32))
    assert (
        np.isnan(result.per_aspect[0][:, 2]).all()
        and result.concat_truncated == 0
        and result.scorer == "bm25"
    )
    top = score_systems(data, BM25Scorer(), index=IndexSpec(top_k=2))
    assert (np.isfinite(top.per_aspect[0]).sum(axis=1) == 2).all()


def test_aspect_with_its_own_scorer() -> None:
    data, shared, special = tiny_dataset(), HashEncoder(), HashEncoder()
    result = score_systems(data, shared, aspect_scorers={"goals": special})
    assert shared.calls == [("query", 2), ("document", 3 + 3)]  # role + concat
    assert special.calls == [("query", 2), ("document", 2)]  # goals only
    np.testing.assert_array_equal(result.per_aspect, score_systems(data, HashEncoder()).per_aspect)
    with pytest.raises(ConfigError, match="own scorer"):
        score_systems(data, shared, aspects=["role"], aspect_scorers={"goals": special})
