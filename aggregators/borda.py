"""Borda count (de Borda 1781; BordaFuse of Aslam and Montague 2001)."""

from __future__ import annotations

import numpy as np

from aggregators._common import aspect_counts, check_inputs, weighted_sum


def borda(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum over aspects of the number of candidates each aspect ranks below the item.

    Per aspect ``a`` and task, with ``n`` candidates (items ranked by at least one aspect):
    an item at 1-based rank ``r`` of the aspect gets ``n - r`` points (the number of candidates
    below it). Ties: tied items share the average of the points of the positions they span,
    i.e. ``points = (#strictly below) + (#tied others) / 2``. Missing aspects: the candidates
    an aspect does not rank are tied below all the items it ranks, so each gets the average of
    the remaining points, ``(u - 1) / 2`` for ``u`` unranked candidates. Items no aspect ranks
    get ``NaN``.

    Relation to ranx ``fuse(method="bordafuse")``: ranx gives ``n - r + 1`` points and
    ``(n - len(run) + 1) / 2`` to unranked candidates, exactly one point per aspect more than
    here, so without score ties the two rankings are identical and the scores differ by the
    constant ``m``. With score ties ranx gives tied items distinct points in the order its run
    happens to list them; here they share the average. Without ties this equals
    :func:`aggregators.condorcet.condorcet` (the paper's Algorithm 2).

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights (weighted Borda,
            Liu et al. 2007); ``None`` weighs every aspect 1.

    Returns:
        ``(n_tasks, n_items)`` Borda scores, higher = better; ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[0.9, 0.5, 0.5]], [[0.2, np.nan, 0.4]]])  # 2 aspects, 1 task, 3 items
        >>> borda(s).tolist()  # aspect 0 gives 2, 0.5, 0.5; aspect 1 gives 1, 0 (unranked), 2
        [[3.0, 0.5, 2.5]]
    """
    scores, weights = check_inputs(scores, weights)
    beaten, tied, n_ranked, n_candidates = aspect_counts(scores)
    unranked_points = (n_candidates - n_ranked - 1) / 2  # (m, n_tasks, 1)
    points = np.where(np.isnan(scores), unranked_points, beaten + (tied - 1) / 2)
    return weighted_sum(points, weights, scores)
