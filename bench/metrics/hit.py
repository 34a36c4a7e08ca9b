"""Hit rate at a cutoff (thesis eq. 2.14; trec_eval ``success_k``)."""

from __future__ import annotations

import numpy as np

from bench.metrics._ranking import RankedTasks


def hit(ranked: RankedTasks, k: int) -> np.ndarray:
    """``HR@k`` = 1 if at least one relevant item (grade > 0) is in the top ``k``, else 0.

    Args:
        ranked: the tasks' judgments in rank order.
        k: the cutoff (>= 1).

    Returns:
        ``(n_tasks,)`` 0/1 per task.

    Example: relevant items at ranks 3 and 7 give ``HR@5 = 1`` and ``HR@2 = 0``.
    """
    return ranked.relevant[:, :k].any(axis=-1).astype(float)
