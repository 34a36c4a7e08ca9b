"""Copeland's pairwise-majority Condorcet method (Copeland 1951)."""

from __future__ import annotations

import numpy as np

from aggregators._common import candidates, check_inputs
from aggregators._pairwise import copeland_counts, task_ranks


def copeland(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Majority wins minus majority losses over all pairs of candidates.

    For each pair of candidates ``(x, y)`` of a task, the aspects vote: an aspect prefers the
    item it scores higher; an item it does not rank (``NaN``) scores below all the items it
    ranks; an aspect that ranks neither item, or ties them, abstains. ``x`` wins the pair when
    the (weighted) votes for ``x`` outnumber those for ``y``; equal votes are a draw.
    ``copeland(x) = #pairs won - #pairs lost``. Unlike the paper's Condorcet score
    (:func:`aggregators.condorcet.condorcet`, which sums the votes themselves), only the
    majority outcome of each pair counts, so the Condorcet winner, when it exists, is always
    ranked first. Cost ``O(n^2 m)`` bit operations per task, done 64 pairs per word when the
    weights are equal (:mod:`aggregators._pairwise`).

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights (a vote from aspect
            ``a`` counts ``weights[a]``); ``None`` weighs every aspect 1.

    Returns:
        ``(n_tasks, n_items)`` Copeland scores in ``[-(c - 1), c - 1]`` for ``c`` candidates;
        ``NaN`` for items no aspect ranks.

    Example:
        >>> s = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[2.0, 1.0, 3.0]]])
        >>> copeland(s).tolist()  # a Condorcet cycle: every item wins one pair and loses one
        [[0.0, 0.0, 0.0]]
    """
    scores, weights = check_inputs(scores, weights)
    is_candidate = candidates(scores)
    fused = np.full(is_candidate.shape, np.nan)
    for t, (keep, ranks) in enumerate(task_ranks(scores)):
        fused[t, keep] = copeland_counts(ranks, weights)
    return fused
