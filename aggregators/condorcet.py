"""The paper's Condorcet score (thesis Algorithm 2), computed in O(n m log n) from ranks."""

from __future__ import annotations

import numpy as np

from aggregators._common import aspect_counts, check_inputs, weighted_sum


def condorcet(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Row sums of the pairwise-win matrix of thesis Algorithm 2 (section 4.4.1, Fig. 2.5).

    Algorithm 2 fills ``M[i, j] = #aspects where item i's score > item j's score`` and scores
    item ``i`` with ``sum_j M[i, j]``. Swapping the two sums gives
    ``score(i) = sum_a #{j : s_a(j) < s_a(i)}``: per aspect, the number of items ``i`` beats
    strictly. One sort per aspect and task counts that, so the cost is ``O(n m log n)`` per task
    instead of the algorithm's ``O(n^2 m)``; the tests keep the literal Algorithm 2 as reference.

    **Equals the Borda count when there are no ties.** The Borda count gives an item, per
    aspect, the number of items ranked below it (:func:`aggregators.borda.borda`, a tie
    counting half). Without ties, "ranked below" and "strictly lower score" are the same set,
    so both scores are equal item by item. With ties they differ: here a tie earns nothing
    (Algorithm 2 uses strict ``>``), in Borda it earns half a point.

    Missing aspects: an item an aspect does not rank (``NaN``) is treated as scoring below
    every item the aspect ranks, so it loses to all of them and beats nobody in that aspect
    (as if ``NaN`` were ``-inf`` in Algorithm 2). Items no aspect ranks get ``NaN``.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative weights: a win in aspect ``a`` counts
            ``weights[a]`` (weighted Condorcet, Wu 2013). ``None`` counts every win as 1.

    Returns:
        ``(n_tasks, n_items)`` Condorcet scores, higher = better; ``NaN`` for items no aspect
        ranks.

    Example:
        >>> s = np.array([[[0.9, 0.5, 0.1]], [[0.2, 0.8, 0.4]]])  # 2 aspects, 1 task, 3 items
        >>> condorcet(s).tolist()  # item 0 beats 2 then 0; item 1 beats 1 then 2; item 2: 0, 1
        [[2.0, 3.0, 1.0]]
    """
    scores, weights = check_inputs(scores, weights)
    beaten, _, _, _ = aspect_counts(scores)
    return weighted_sum(beaten.astype(float), weights, scores)
