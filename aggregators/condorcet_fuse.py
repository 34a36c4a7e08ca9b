"""Condorcet-fuse (Montague and Aslam 2002): sort the candidates by pairwise majority."""

from __future__ import annotations

from collections.abc import Callable
from functools import cmp_to_key
from operator import gt, lt

import numpy as np

from aggregators._common import candidates, check_inputs
from aggregators._pairwise import copeland_counts, task_ranks, vote_margins


def condorcet_fuse(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rank each task's candidates by sorting them with the pairwise-majority comparator.

    Montague and Aslam (CIKM 2002) sort the candidates with the comparator "``x`` comes before
    ``y`` when more aspects prefer ``x`` than ``y``". The aspect votes are those of
    :func:`aggregators.copeland.copeland` (unranked items score below ranked ones; an aspect
    that ranks neither item or ties them abstains; equal votes make the pair a tie).

    When the majority relation is transitive, which includes every profile with a Condorcet
    ordering, the sorted order is unique up to ties and equals the Copeland order. When it has
    cycles, a comparison sort's output depends on the algorithm and the starting order. To be
    deterministic we start from the Copeland order (ties by item index) and use Python's
    stable sort (Timsort), which also makes the transitive case cost only ``c - 1`` comparisons.
    The fused score of the item at 0-based position ``p`` is ``c - p`` for ``c`` candidates; a
    run of consecutive items that are pairwise tied by the majority shares the mean score.

    Relation to ranx ``fuse(method="condorcet")`` (same paper): ranx counts an aspect that
    ranks neither item, or ties them, as a vote for the *second* item, breaks equal votes in
    favour of the first (so it never reports ties), and starts sorting from a Python ``set``
    of document ids, whose order changes with ``PYTHONHASHSEED``. The two agree whenever every
    aspect ranks every candidate without ties, the number of aspects is odd and the majority
    relation has no cycle (then the order is unique); the tests check exactly that.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, higher = better,
            ``NaN`` = not ranked by that aspect.
        weights: optional ``(m_aspects,)`` non-negative aspect weights (weighted votes, as in
            weighted Condorcet of Wu 2013); ``None`` weighs every aspect 1.

    Returns:
        ``(n_tasks, n_items)`` scores ``c - position``, higher = better; ``NaN`` for items no
        aspect ranks.

    Example:
        >>> s = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[2.0, 3.0, 1.0]]])
        >>> condorcet_fuse(s).tolist()  # item 1 beats 0 (2-1) and 2 (3-0); 0 beats 2 (2-1)
        [[2.0, 3.0, 1.0]]
    """
    scores, weights = check_inputs(scores, weights)
    is_candidate = candidates(scores)
    fused = np.full(is_candidate.shape, np.nan)
    for t, (keep, ranks) in enumerate(task_ranks(scores)):
        fused[t, keep] = _sorted_scores(ranks, weights)
    return fused


def _sorted_scores(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Comparator sort of one task's candidates; returns ``c - position`` with tie sharing.

    Args:
        ranks: ``(m, c)`` the candidates' ranks in each aspect (``_pairwise.task_ranks``).
        weights: ``(m,)`` aspect weights.
    """
    c = ranks.shape[1]
    if c == 0:
        return np.empty(0)
    start = np.argsort(-copeland_counts(ranks, weights), kind="stable")
    # Timsort leaves a list that is one non-descending run untouched after c - 1 comparisons:
    # check that run condition vectorised and only sort when some item beats its predecessor
    if (vote_margins(ranks, weights, start[1:], start[:-1]) > 0).any():
        by_majority = cmp_to_key(_comparator(ranks, weights))
        start = np.asarray(sorted(start.tolist(), key=by_majority), dtype=np.int64)
    points = c - np.arange(c, dtype=float)
    group = _tie_groups(ranks, weights, start)
    group_mean = np.bincount(group, weights=points) / np.bincount(group)
    result = np.empty(c)
    result[start] = group_mean[group]
    return result


def _comparator(ranks: np.ndarray, weights: np.ndarray) -> Callable[[int, int], int]:
    """Majority comparator over candidate positions (negative: the first comes first).

    Its signs equal those of ``_pairwise.vote_margins``: integer vote counts when the weights
    are equal, otherwise the same aspect-by-aspect float sums.
    """
    columns = [tuple(col) for col in ranks.T.tolist()]  # per candidate, its rank in each aspect
    if np.all(weights == weights[0]):

        def compare(x: int, y: int) -> int:
            vote = sum(map(gt, columns[x], columns[y])) - sum(map(lt, columns[x], columns[y]))
            return -1 if vote > 0 else (1 if vote < 0 else 0)

        return compare
    weight_list = weights.tolist()

    def compare_weighted(x: int, y: int) -> int:
        vote = 0.0
        for w, a, b in zip(weight_list, columns[x], columns[y], strict=True):
            vote += w * ((a > b) - (a < b))
        return -1 if vote > 0 else (1 if vote < 0 else 0)

    return compare_weighted


def _tie_groups(ranks: np.ndarray, weights: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Group id per position: a run of consecutive items that are pairwise tied by majority.

    A group grows while the next item ties every member (so an item that a member beats starts
    a new group even when it ties its predecessor).
    """
    tied_with_previous = vote_margins(ranks, weights, order[1:], order[:-1]) == 0  # (c - 1,)
    if not tied_with_previous.any():
        return np.arange(order.size)
    group = np.zeros(order.size, dtype=np.int64)
    start = 0
    for p in range(1, order.size):
        members = order[start:p]
        tied = vote_margins(ranks, weights, members, np.full(members.size, order[p])) == 0
        if not (tied_with_previous[p - 1] and tied.all()):
            start = p
        group[p] = group[p - 1] + (start == p)
    return group
