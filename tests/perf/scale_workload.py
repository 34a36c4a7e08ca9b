"""The scale workload, run in its own process so that its peak memory is its own.

``python -m tests.perf.scale_workload SPEC.npz OUT.json``: 100,000 simulated employees x 5
aspects and 500 tasks, vectors drawn from ``SPEC.npz`` (``mean (dim,)``, ``factor (dim, dim)``:
``x = normalise(mean + z @ factor.T)``, ``z`` standard normal); per aspect an HNSW index
(:func:`bench.run.retrieval.build_index`) and its top-1000 per task; the per-task union of those
candidates fused by the paper's aggregators; and exact inner-product search (``IndexFlatIP``) for
the recall@100 of the approximate top-100. Writes times (s), recall and peak memory to OUT.json.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

N_EMPLOYEES, N_ASPECTS, N_TASKS, TOP_K, RECALL_AT = 100_000, 5, 500, 1000, 100
FUSED = ("condorcet", "borda", "rrf", "combsum", "combmnz")


def sample(spec: dict[str, np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, dim)`` unit vectors with the spec's mean and covariance (before normalising)."""
    z = rng.standard_normal((n, spec["factor"].shape[1]), dtype=np.float32)  # (n, dim)
    x = spec["mean"] + z @ spec["factor"].T  # (n, dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def union_scores(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-aspect top-k lists to the aggregators' ``(m, n_tasks, n_candidates)`` input.

    Args:
        scores: ``(m, n_tasks, k)`` scores of the retrieved employees.
        ids: ``(m, n_tasks, k)`` their employee ids (-1 = none).

    Returns:
        ``(fused input with NaN where an aspect did not retrieve a candidate, widest union)``;
        the columns of task ``t`` are its sorted candidate ids.
    """
    m, n_tasks, _ = ids.shape
    unions = [np.unique(ids[:, t][ids[:, t] >= 0]) for t in range(n_tasks)]
    width = max(len(u) for u in unions)
    out = np.full((m, n_tasks, width), np.nan)
    for t, u in enumerate(unions):
        for a in range(m):
            keep = ids[a, t] >= 0
            out[a, t, np.searchsorted(u, ids[a, t][keep])] = scores[a, t][keep]
    return out, width


def main(spec_path: str, out_path: str) -> None:
    import faiss

    from aggregators import get_aggregator
    from bench.run.retrieval import IndexSpec, build_index, search

    tracemalloc.start()
    spec = dict(np.load(spec_path))
    rng = np.random.default_rng(0)
    index_spec = IndexSpec(kind="hnsw", top_k=TOP_K, hnsw_m=16, ef_construction=40, ef_search=128)
    times = {"generate": 0.0, "build": 0.0, "search": 0.0, "exact": 0.0}
    top_scores, top_ids, recalls = [], [], []
    for _ in range(N_ASPECTS):
        start = time.perf_counter()
        docs, queries = sample(spec, N_EMPLOYEES, rng), sample(spec, N_TASKS, rng)
        times["generate"] += time.perf_counter() - start
        start = time.perf_counter()
        index = build_index(docs, index_spec)
        times["build"] += time.perf_counter() - start
        start = time.perf_counter()
        scores, ids = search(index, queries, TOP_K, index_spec)  # (n_tasks, k) each
        times["search"] += time.perf_counter() - start
        start = time.perf_counter()
        exact = faiss.IndexFlatIP(docs.shape[1])
        exact.add(docs)
        _, truth = exact.search(queries, RECALL_AT)  # (n_tasks, 100)
        times["exact"] += time.perf_counter() - start
        hits = [np.intersect1d(ids[t, :RECALL_AT], truth[t]).size for t in range(N_TASKS)]
        recalls.append(float(np.mean(hits)) / RECALL_AT)
        top_scores.append(scores)
        top_ids.append(ids)
        del index, exact, docs
    start = time.perf_counter()
    fused_input, width = union_scores(np.stack(top_scores), np.stack(top_ids))
    times["union"] = time.perf_counter() - start
    fuse_times = {}
    for name in FUSED:
        start = time.perf_counter()
        get_aggregator(name)(fused_input)
        fuse_times[name] = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    result = {
        "times": times,
        "fuse": fuse_times,
        "recall_at_100": recalls,
        "candidates_max": width,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_traced_mb": traced_peak / 2**20,
        "index": {
            "kind": "hnsw",
            "M": index_spec.hnsw_m,
            "ef_construction": index_spec.ef_construction,
            "ef_search": max(index_spec.ef_search, TOP_K),
        },
    }
    Path(out_path).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:3])
