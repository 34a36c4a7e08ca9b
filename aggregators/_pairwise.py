"""Pairwise-majority kernel shared by Copeland and Condorcet-fuse (O(n^2 m) per task)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from aggregators._common import aspect_counts


def pairwise_wins(scores: np.ndarray, weights: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per task, the weighted number of aspects preferring each candidate of every pair.

    ``wins[x, y] = sum_a w_a * [s_a(x) > s_a(y)]`` over the task's candidates, where an item an
    aspect does not rank scores below all the items it ranks. An aspect that ranks neither
    item, or gives both the same score, votes for neither (abstains). A weighted majority of
    aspects prefers ``x`` to ``y`` when ``wins[x, y] > wins[y, x]``.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)``, ``NaN`` = not ranked.
        weights: ``(m_aspects,)`` non-negative aspect weights.

    Yields:
        One ``(candidates, wins)`` per task: the item indices of the task's candidates
        (``(c_t,)``, items ranked by at least one aspect) and the ``(c_t, c_t)`` matrix over them.
        When all weights are equal ``wins`` holds plain vote counts (int8 for up to 127
        aspects), which compare the same way.
    """
    beaten, _, _, _ = aspect_counts(scores)  # order-preserving ints; unranked candidates = 0
    beaten = np.where(np.isnan(scores), -1, beaten)  # (m, n_tasks, n_items); unranked -1 < ranked
    rank_type = np.int16 if scores.shape[2] < np.iinfo(np.int16).max else np.int64
    beaten = beaten.astype(rank_type)
    equal = bool(np.all(weights == weights[0])) and scores.shape[0] <= np.iinfo(np.int8).max
    used = np.flatnonzero(weights > 0)
    for t in range(scores.shape[1]):
        keep = np.flatnonzero(~np.all(np.isnan(scores[:, t]), axis=0))
        ranks = beaten[:, t][:, keep]  # (m, c_t)
        wins = np.zeros((keep.size, keep.size), dtype=np.int8 if equal else float)
        for a in used:
            beats = ranks[a][:, None] > ranks[a][None, :]  # (c_t, c_t): x beats y in aspect a
            if equal:
                wins += beats
            else:
                wins += weights[a] * beats
        yield keep, wins
