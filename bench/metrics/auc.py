"""ROC AUC of a task's judged candidates (Mann-Whitney form)."""

from __future__ import annotations

import numpy as np

from bench.core.ranks import tie_counts
from bench.metrics._ranking import RankedTasks


def auc(ranked: RankedTasks) -> np.ndarray:
    """Probability that a random relevant judged item outscores a random non-relevant one.

    Over the task's judged items only (grade > 0 = positive, otherwise negative), whatever the
    ``unjudged`` mode; a judged item the system did not retrieve scores ``-inf`` (below every
    retrieved item, tied with the other unretrieved ones). Ties count 1/2, which equals
    scikit-learn's ``roc_auc_score``:
    ``AUC = (sum of the positives' average ranks - P (P + 1) / 2) / (P N)``.
    A task without both classes gets ``NaN`` and is left out of the mean. Scores are compared
    in double precision, as scikit-learn does (the ranking metrics use trec_eval's single
    precision; the two differ only for scores within about 1e-7 relative of each other).

    Args:
        ranked: the tasks' judgments in rank order.

    Returns:
        ``(n_tasks,)`` AUC per task, ``NaN`` where undefined.

    Example: positive scores {0.9, 0.4}, negative {0.5, 0.1}: of the 4 pairs the positive wins
    3, so ``AUC = 3/4``.
    """
    values = ranked.judged_scores  # (n_tasks, n_items), NaN = unjudged
    below, tied = tie_counts(values)
    average_rank = below + (tied + 1) / 2  # ascending, 1-based, ties averaged
    positive = ranked.judged_relevant
    n_pos = positive.sum(axis=-1)
    n_neg = (~np.isnan(values)).sum(axis=-1) - n_pos
    u = np.where(positive, average_rank, 0.0).sum(axis=-1) - n_pos * (n_pos + 1) / 2
    pairs = n_pos * n_neg
    return np.divide(u, pairs, out=np.full(u.shape, np.nan), where=pairs > 0)
