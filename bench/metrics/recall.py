"""Recall at a cutoff (trec_eval ``recall_k``)."""

from __future__ import annotations

import numpy as np

from bench.metrics._ranking import RankedTasks


def recall(ranked: RankedTasks, k: int) -> np.ndarray:
    """Relevant items in the top ``k`` divided by all relevant items in the qrels.

    A task with no relevant item gets 0 (as trec_eval).

    Args:
        ranked: the tasks' judgments in rank order.
        k: the cutoff (>= 1).

    Returns:
        ``(n_tasks,)`` recall@k per task.

    Example: 2 of 4 relevant items in the top 10 give ``recall@10 = 2/4``.
    """
    found = ranked.relevant[:, :k].sum(axis=-1).astype(float)
    return np.divide(found, ranked.num_relevant, out=np.zeros(found.shape), where=ranked.num_relevant > 0)
