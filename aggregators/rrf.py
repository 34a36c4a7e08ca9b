"""Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009)."""

from __future__ import annotations

import numpy as np

from aggregators._common import check_inputs, weighted_sum
from bench.core.ranks import tie_counts

DEFAULT_K = 60


def rrf(scores: np.ndarray, weights: np.ndarray | None = None, k: float = DEFAULT_K) -> np.ndarray:
    """Sum over aspects of ``1 / (k + rank)``, ``rank`` the 1-based rank in the aspect.

    ``rrf(x) = sum_a w_a / (k + r_a(x))`` (Cormack et al. 2009, with ``k = 60``). Ties: tied
    items share their average rank (``r = #above + (#tied + 1) / 2``). Missing aspects: an
    aspect that does not rank the item contributes 0, as in the original method. Items no
    aspect ranks get ``NaN``. Without ties this equals ranx ``fuse(method="rrf")``.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights; ``None`` = all 1.
        k: the rank offset; larger values flatten the contribution of the top ranks.

    Returns:
        ``(n_tasks, n_items)`` fused scores, higher = better; ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[0.9, 0.5]], [[np.nan, 0.7]]])  # 2 aspects, 1 task, 2 items
        >>> np.allclose(rrf(s), [[1 / 61, 1 / 62 + 1 / 61]])
        True
    """
    scores, weights = check_inputs(scores, weights)
    if not k >= 0:
        raise ValueError(f"rrf k must be >= 0, got {k}; the usual value is {DEFAULT_K}")
    below, tied = tie_counts(scores)
    n_ranked = (~np.isnan(scores)).sum(axis=-1, keepdims=True)  # (m, n_tasks, 1)
    rank = n_ranked - below - (tied - 1) / 2  # average 1-based rank from the top
    points = np.where(np.isnan(scores), 0.0, 1.0 / (k + rank))
    return weighted_sum(points, weights, scores)
