"""Normalised discounted cumulative gain at a cutoff (thesis eq. 2.15-2.17)."""

from __future__ import annotations

import numpy as np

from bench.metrics._ranking import RankedTasks


def _dcg(grades: np.ndarray, k: int) -> np.ndarray:
    """``sum_{i=1..k} (2^rel(i) - 1) / log2(i + 1)`` per row (eq. 2.16)."""
    top = grades[:, :k]  # (n_tasks, min(k, n_items))
    discount = 1.0 / np.log2(np.arange(2, top.shape[-1] + 2))
    return (np.exp2(top) - 1.0) @ discount


def ndcg(ranked: RankedTasks, k: int) -> np.ndarray:
    """``nDCG@k = DCG@k / IDCG@k`` with gain ``2^rel - 1`` and discount ``log2(i + 1)``.

    The ideal DCG (eq. 2.17) ranks the task's judged items by grade, so relevant items the
    system never retrieved still count in the ideal. Grades below 0 count as 0. A task with no
    relevant item gets 0 (as trec_eval). trec_eval's ``ndcg_cut_k`` uses the linear gain
    ``rel``; it equals this metric when given the qrels ``2^grade - 1`` (equal for 0/1 labels).

    Args:
        ranked: the tasks' judgments in rank order.
        k: the cutoff (>= 1).

    Returns:
        ``(n_tasks,)`` nDCG@k per task.

    Example (grades 0, 2, 1 at ranks 1-3; qrels grades {2, 1}; k = 3):
        ``DCG = 0/1 + 3/log2(3) + 1/2``, ``IDCG = 3/1 + 1/log2(3)``, ``nDCG = 0.6201``.
    """
    dcg = _dcg(ranked.grades, k)
    ideal = _dcg(ranked.ideal_grades, k)
    return np.divide(dcg, ideal, out=np.zeros(dcg.shape), where=ideal > 0)
