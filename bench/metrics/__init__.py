"""Ranking metrics (thesis section 2.3; ``docs/design.md`` section 6), one file each, one registry.

:data:`METRICS` is the only place metric names live. A name is a registry key, followed by
``@k`` for the metrics that take a cutoff: ``ap``, ``ndcg@5``, ``hit@5``, ``recall@10``,
``mrr``, ``auc``. Every value equals trec_eval's (``map``, ``ndcg_cut_k`` on ``2^grade - 1``
gains, ``success_k``, ``recall_k``, ``recip_rank``) and AUC equals scikit-learn's
``roc_auc_score``; the tests check both.

Example:
    >>> per_task = evaluate({"t1": {"e1": 0.9, "e2": 0.5}}, {"t1": {"e2": 1}}, ["mrr", "ndcg@5"])
    >>> mean(per_task)["mrr"]
    0.5
"""

from __future__ import annotations

from bench.metrics.evaluate import evaluate, evaluate_arrays, mean
from bench.metrics.registry import METRICS, Metric, parse_metric
from bench.metrics.run import Run

__all__ = ["METRICS", "Metric", "Run", "evaluate", "evaluate_arrays", "mean", "parse_metric"]
