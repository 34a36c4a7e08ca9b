"""CombMAX (Fox and Shaw 1994) over min-max normalised aspect scores."""

from __future__ import annotations

import numpy as np

from aggregators._common import check_inputs
from aggregators._normalise import min_max


def combmax(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The best normalised score any aspect gives the item.

    ``combmax(x) = max_a w_a * norm_a(x)`` with the per-task, per-aspect min-max normalisation of
    :func:`aggregators.combsum.combsum` (``(s - min) / (max - min)`` over the items the aspect
    ranks, 1 when all equal). An employee strong in one aspect ranks high even when the other
    aspects say little (the opposite bias of CombMNZ). Missing aspects: an aspect that does not
    rank the item takes no part in the maximum. Ties need no rule (equal scores stay equal).
    Items no aspect ranks get ``NaN``. Equals ranx ``fuse(method="max", norm="min-max")``.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights; an aspect of weight 0
            takes no part. ``None`` = all 1. (A maximum is not a sum: an aspect of weight 2 scales
            its scores, which is not the same as counting it twice.)

    Returns:
        ``(n_tasks, n_items)`` fused scores, higher = better; ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[0.2, 0.6, 0.4]], [[0.9, np.nan, 0.1]]])  # 2 aspects, 1 task, 3 items
        >>> np.allclose(combmax(s), [[max(0.0, 1.0), 1.0, max(0.5, 0.0)]])
        True
    """
    scores, weights = check_inputs(scores, weights)
    points = min_max(scores) * weights[:, None, None]  # (m_aspects, n_tasks, n_items), NaN where unranked
    ranked = ~np.isnan(points) & (weights > 0)[:, None, None]  # an aspect of weight 0 takes no part
    fused = np.where(ranked, points, -np.inf).max(axis=0)  # (n_tasks, n_items)
    return np.where(ranked.any(axis=0), fused, np.nan)
