"""Ranking metrics: :func:`bench.metrics.evaluate` against pytrec_eval (trec_eval) and ranx.

The same run (500 tasks x 1,000 scored employees, no score ties) and qrels (60 judged employees
per task, grades 0-3, a few relevant ones never retrieved) go to all three; every per-task value
of AP, nDCG@5, nDCG@10, Hit@5, MRR, Recall@10 and Recall@100 must agree within 1e-9 before
timing. Each library gets its fastest input: ours a :class:`bench.metrics.Run` and the qrels dict,
pytrec_eval a ``RelevanceEvaluator`` built beforehand (qrels parsed once, gains ``2^grade - 1``
for nDCG) and the run dict, ranx ``Qrels`` and ``Run`` objects built beforehand (numba compiled
by a warm-up call). Ours parses the qrels on every call. Target: ours at least as fast (1x).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.perf.timing import interleaved, median, paired_ratio, record

pytestmark = pytest.mark.perf

N_TASKS, N_ITEMS, N_JUDGED, ROUNDS, TARGET = 500, 1000, 60, 5, 1.0
OURS = ["ap", "ndcg@5", "ndcg@10", "hit@5", "mrr", "recall@10", "recall@100"]
TREC = dict(
    zip(
        OURS,
        ["map", "ndcg_cut_5", "ndcg_cut_10", "success_5", "recip_rank", "recall_10", "recall_100"],
        strict=True,
    )
)
RANX = dict(
    zip(
        OURS,
        ["map", "ndcg_burges@5", "ndcg_burges@10", "hit_rate@5", "mrr", "recall@10", "recall@100"],
        strict=True,
    )
)


@pytest.fixture(scope="module")
def metric_data():
    rng = np.random.default_rng(0)
    items = [f"e{i}" for i in range(N_ITEMS)]
    scores = rng.random((N_TASKS, N_ITEMS))
    tasks = [f"t{t}" for t in range(N_TASKS)]
    run = {task: dict(zip(items, row.tolist(), strict=True)) for task, row in zip(tasks, scores, strict=True)}
    qrels = {}
    for task in tasks:
        judged = rng.choice(N_ITEMS, N_JUDGED, replace=False)
        grades = rng.choice(4, N_JUDGED, p=[0.6, 0.2, 0.12, 0.08])
        grades[0] = max(grades[0], 1)  # every task has a relevant employee
        qrels[task] = {items[i]: int(g) for i, g in zip(judged, grades, strict=True)}
        qrels[task][f"x{task}"] = 2  # relevant but never retrieved
    return run, qrels


def test_metrics_vs_pytrec_eval(benchmark, metric_data) -> None:
    import pytrec_eval

    from bench.metrics import Run, evaluate

    run, qrels = metric_data
    ours_run = Run.from_dict(run)
    evaluator = pytrec_eval.RelevanceEvaluator(
        {t: {i: 2**g - 1 for i, g in j.items()} for t, j in qrels.items()}, set(TREC.values())
    )
    ours, theirs = evaluate(ours_run, qrels, OURS), evaluator.evaluate(run)
    worst = max(abs(ours[t][m] - theirs[t][TREC[m]]) for t in qrels for m in OURS)
    agree = set(ours) == set(theirs) and worst <= 1e-9
    assert agree, f"metrics differ from pytrec_eval by {worst:.2e}"
    ours_s, peer_s = interleaved(
        benchmark, lambda: evaluate(ours_run, qrels, OURS), lambda: evaluator.evaluate(run), ROUNDS
    )
    ratio = paired_ratio(ours_s, peer_s)
    record(
        benchmark,
        f"metrics: 7 metrics, {N_TASKS} tasks x {N_ITEMS:,} employees (vs pytrec_eval)",
        ours=f"{median(ours_s):.3f} s",
        peer=f"{median(peer_s):.3f} s (pytrec_eval)",
        ratio=ratio,
        target=f">= {TARGET:g}x",
        holds=ratio >= TARGET,
        agree=agree,
        detail=f"{N_TASKS * len(OURS)} per-task values, max abs diff {worst:.1e}",
        ours_s=ours_s,
        peer_s=peer_s,
    )


def test_metrics_vs_ranx(benchmark, metric_data) -> None:
    import ranx

    from bench.metrics import Run, evaluate

    run, qrels = metric_data
    ours_run = Run.from_dict(run)
    ranx_qrels, ranx_run = ranx.Qrels(qrels), ranx.Run(run)
    names = list(RANX.values())

    def peer() -> dict:
        return ranx.evaluate(ranx_qrels, ranx_run, names, return_mean=False, save_results_in_run=False)

    ours, theirs = evaluate(ours_run, qrels, OURS), peer()  # also the numba warm-up
    order = sorted(qrels)  # ranx returns per-query arrays in sorted query-id order
    worst = max(
        float(np.abs(np.asarray(theirs[RANX[m]]) - np.array([ours[t][m] for t in order])).max()) for m in OURS
    )
    agree = worst <= 1e-9
    assert agree, f"metrics differ from ranx by {worst:.2e}"
    ours_s, peer_s = interleaved(benchmark, lambda: evaluate(ours_run, qrels, OURS), peer, ROUNDS)
    ratio = paired_ratio(ours_s, peer_s)
    record(
        benchmark,
        f"metrics: 7 metrics, {N_TASKS} tasks x {N_ITEMS:,} employees (vs ranx)",
        ours=f"{median(ours_s):.3f} s",
        peer=f"{median(peer_s):.3f} s (ranx)",
        ratio=ratio,
        target=f">= {TARGET:g}x",
        holds=ratio >= TARGET,
        agree=agree,
        detail=f"{N_TASKS * len(OURS)} per-task values, max abs diff {worst:.1e}",
        ours_s=ours_s,
        peer_s=peer_s,
    )
