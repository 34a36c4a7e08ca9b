"""CombSUM (Fox and Shaw 1994) over min-max normalised aspect scores."""

from __future__ import annotations

import numpy as np

from aggregators._common import check_inputs, weighted_sum
from aggregators._normalise import min_max


def combsum(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum over aspects of the min-max normalised scores.

    Each aspect's scores are rescaled per task to ``[0, 1]`` over the items it ranks
    (:func:`aggregators._normalise.min_max`: ``(s - min) / (max - min)``, 1 when all equal), then
    ``combsum(x) = sum_a w_a * norm_a(x)``. Missing aspects: an aspect that does not rank the
    item contributes 0, the normalised score of its worst ranked item. Ties need no rule
    (equal scores stay equal). Items no aspect ranks get ``NaN``. Equals ranx
    ``fuse(method="sum", norm="min-max")`` (up to ranx's rule for all-equal scores).

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights (weighted CombSUM, the
            ``wsum`` of ranx); ``None`` = all 1.

    Returns:
        ``(n_tasks, n_items)`` fused scores, higher = better; ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[0.2, 0.6, 0.4]], [[0.9, np.nan, 0.1]]])  # 2 aspects, 1 task, 3 items
        >>> np.allclose(combsum(s), [[0.0 + 1.0, 1.0 + 0.0, 0.5 + 0.0]])
        True
    """
    scores, weights = check_inputs(scores, weights)
    points = np.nan_to_num(min_max(scores), nan=0.0)
    return weighted_sum(points, weights, scores)
