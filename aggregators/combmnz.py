"""CombMNZ (Fox and Shaw 1994) over min-max normalised aspect scores."""

from __future__ import annotations

import numpy as np

from aggregators._common import check_inputs, weighted_sum
from aggregators._normalise import min_max


def combmnz(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """CombSUM times the number of aspects that rank the item.

    ``combmnz(x) = |{a : w_a > 0, a ranks x}| * sum_a w_a * norm_a(x)`` with the per-task,
    per-aspect min-max normalisation of :func:`aggregators.combsum.combsum` (``(s - min) /
    (max - min)`` over the items the aspect ranks, 1 when all equal; an aspect that does not
    rank the item contributes 0 to the sum and is not counted). It rewards items that many
    aspects retrieve, which matters with top-k aspect rankings and with employees missing
    aspects. Items no aspect ranks get ``NaN``. Equals ranx ``fuse(method="mnz",
    norm="min-max")`` without weights.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights; an aspect of weight 0
            neither adds score nor counts. ``None`` = all 1.

    Returns:
        ``(n_tasks, n_items)`` fused scores, higher = better; ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[0.2, 0.6, 0.4]], [[0.9, np.nan, 0.1]]])  # 2 aspects, 1 task, 3 items
        >>> np.allclose(combmnz(s), [[2 * (0.0 + 1.0), 1 * (1.0 + 0.0), 2 * (0.5 + 0.0)]])
        True
    """
    scores, weights = check_inputs(scores, weights)
    points = np.nan_to_num(min_max(scores), nan=0.0)
    counted = (~np.isnan(scores)) & (weights > 0)[:, None, None]
    return weighted_sum(points, weights, scores) * counted.sum(axis=0)
