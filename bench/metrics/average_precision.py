"""Average precision (thesis eq. 2.13; trec_eval ``map``)."""

from __future__ import annotations

import numpy as np

from bench.metrics._ranking import RankedTasks


def average_precision(ranked: RankedTasks) -> np.ndarray:
    """``AP = (1 / n) * sum_k P(k) * rel(k)`` over the ranked list, ``n`` = relevant items.

    ``rel(k)`` is 1 when the item at rank ``k`` has grade > 0 and ``P(k)`` the precision of the
    top ``k``. ``n`` counts every relevant item in the qrels, retrieved or not, so relevant
    items the system misses lower AP. A task with no relevant item gets 0 (as trec_eval).

    Args:
        ranked: the tasks' judgments in rank order (:func:`bench.metrics._ranking.rank_tasks`).

    Returns:
        ``(n_tasks,)`` AP per task.

    Example (relevant items at ranks 1 and 3, a third relevant item never retrieved):
        ``AP = (1/1 + 2/3) / 3 = 0.5556``.
    """
    relevant = ranked.relevant
    precision = np.cumsum(relevant, axis=-1) / np.arange(1, relevant.shape[-1] + 1)
    total = (precision * relevant).sum(axis=-1)
    return np.divide(total, ranked.num_relevant, out=np.zeros(total.shape), where=ranked.num_relevant > 0)
