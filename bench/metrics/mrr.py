"""Reciprocal rank of the first relevant item (trec_eval ``recip_rank``)."""

from __future__ import annotations

import numpy as np

from bench.metrics._ranking import RankedTasks


def mrr(ranked: RankedTasks) -> np.ndarray:
    """``1 / rank`` of the first relevant item (grade > 0); 0 when none is retrieved.

    Averaged over tasks by :func:`bench.metrics.mean`, this is the mean reciprocal rank.

    Args:
        ranked: the tasks' judgments in rank order.

    Returns:
        ``(n_tasks,)`` reciprocal rank per task.

    Example: first relevant item at rank 4 gives ``1/4 = 0.25``.
    """
    relevant = ranked.relevant
    if relevant.shape[-1] == 0:
        return np.zeros(relevant.shape[0])
    first = np.argmax(relevant, axis=-1)  # 0-based rank of the first True (0 if none)
    return np.where(relevant.any(axis=-1), 1.0 / (first + 1), 0.0)
