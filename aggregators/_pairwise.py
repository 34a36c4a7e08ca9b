"""Pairwise-majority kernels shared by Copeland and Condorcet-fuse.

The aspects vote on every pair of a task's candidates: ``votes(x, y) = sum_a w_a * [r_a(x) >
r_a(y)]``, where ``r_a`` ranks the items aspect ``a`` ranks by score and puts the ones it does
not rank below them, all tied. An aspect that ranks neither item, or ties them, votes for
neither (abstains). ``x`` wins the pair when ``votes(x, y) > votes(y, x)``.

With equal weights the Copeland counts use bitsets: per aspect, the set of items each item
beats is a prefix of that aspect's sorted order, so a cumulative OR over one-hot rows builds all
of them in ``O(c^2 / 64)`` words; bit-sliced counters add the ``m`` aspects and compare the two
vote counts of every pair at once. That is ``O(m c^2 / 64)`` word operations per task instead
of ``O(m c^2)`` comparisons. Unequal weights use the dense ``(c, c)`` vote matrix.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from aggregators._common import aspect_counts

WORD = 64


def task_ranks(scores: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per task: the candidates' item indices and their integer ranks in every aspect.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)``, ``NaN`` = not ranked.

    Yields:
        ``(keep, ranks)``: ``keep`` ``(c_t,)`` item indices of the task's candidates (ranked by
        at least one aspect); ``ranks`` ``(m, c_t)`` int64, higher = better, equal for ties,
        ``-1`` for the candidates an aspect does not rank (below all it ranks).
    """
    beaten, _, _, _ = aspect_counts(scores)  # order-preserving ints; unranked candidates = 0
    ranks = np.where(np.isnan(scores), -1, beaten)  # (m, n_tasks, n_items)
    is_candidate = ~np.all(np.isnan(scores), axis=0)  # (n_tasks, n_items)
    for t in range(scores.shape[1]):
        keep = np.flatnonzero(is_candidate[t])
        yield keep, ranks[:, t][:, keep]


def vote_margins(ranks: np.ndarray, weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``votes(x, y) - votes(y, x)`` for arrays of pairs (positive: a majority prefers ``x``).

    Computed as ``sum_a w_a * sign(r_a(x) - r_a(y))`` accumulated aspect by aspect, the same
    floating-point operations as :func:`copeland_counts`' dense kernel and Condorcet-fuse's
    comparator, so all three agree on every sign (the margin of ``(y, x)`` is exactly the
    negated margin of ``(x, y)``).

    Args:
        ranks: ``(m, c)`` ranks of one task (:func:`task_ranks`).
        weights: ``(m,)`` aspect weights.
        x: ``(p,)`` candidate positions.
        y: ``(p,)`` candidate positions.

    Returns:
        ``(p,)`` weighted margins.
    """
    margin = np.zeros(np.shape(x))
    for w, r in zip(weights.tolist(), ranks, strict=True):
        margin += w * np.sign(r[x] - r[y])
    return margin


def copeland_counts(ranks: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Pairs won minus pairs lost by each candidate of one task.

    Args:
        ranks: ``(m, c)`` ranks of one task (:func:`task_ranks`).
        weights: ``(m,)`` aspect weights.

    Returns:
        ``(c,)`` int64 Copeland scores.
    """
    if ranks.shape[1] == 0:
        return np.zeros(0, dtype=np.int64)
    used = weights > 0
    if np.all(weights[used] == weights[used][0]):
        return _copeland_bitsets(ranks[used])
    margin = np.zeros((ranks.shape[1],) * 2)  # (c, c): weighted margin of row over column
    for w, r in zip(weights.tolist(), ranks, strict=True):
        margin += w * np.sign(r[:, None] - r[None, :])
    return np.count_nonzero(margin > 0, axis=1) - np.count_nonzero(margin < 0, axis=1)


def _copeland_bitsets(ranks: np.ndarray) -> np.ndarray:
    """Unweighted Copeland scores from bitsets (see the module docstring)."""
    m, c = ranks.shape
    planes = int(m).bit_length()  # bits of a vote count in 0..m
    won = [np.zeros((c, -(-c // WORD)), dtype=np.uint64) for _ in range(planes)]  # bit-sliced
    lost = [np.zeros_like(won[0]) for _ in range(planes)]
    for r in ranks:
        beats, beaten_by = _aspect_bitsets(r)
        _add_bit(won, beats)
        _add_bit(lost, beaten_by)
    greater = np.zeros_like(won[0])  # x has more votes than y
    smaller = np.zeros_like(won[0])
    equal = ~np.zeros_like(won[0])
    for w, ell in zip(reversed(won), reversed(lost), strict=True):  # most significant first
        greater |= equal & w & ~ell
        smaller |= equal & ~w & ell
        equal &= ~(w ^ ell)
    return _popcount_rows(greater) - _popcount_rows(smaller)


def _aspect_bitsets(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one aspect: per item, the bitset of items it beats and of items that beat it.

    Args:
        r: ``(c,)`` ranks, higher = better, equal = tied.

    Returns:
        Two ``(c, words)`` uint64 arrays indexed by item.
    """
    c = r.size
    order = np.argsort(r, kind="stable")  # ascending rank
    ordered = r[order]
    one_hot = np.zeros((c, -(-c // WORD)), dtype=np.uint64)  # (position, word)
    one_hot[np.arange(c), order // WORD] = np.left_shift(np.uint64(1), (order % WORD).astype(np.uint64))
    below = np.zeros_like(one_hot)  # below[p]: items at positions < p
    np.bitwise_or.accumulate(one_hot[:-1], axis=0, out=below[1:])
    above = np.zeros_like(one_hot)  # above[p]: items at positions > p
    np.bitwise_or.accumulate(one_hot[:0:-1], axis=0, out=above[-2::-1])
    position = np.arange(c)
    starts = np.ones(c, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    group_first = np.maximum.accumulate(np.where(starts, position, 0))  # first slot of the tie run
    ends = np.ones(c, dtype=bool)
    ends[:-1] = starts[1:]
    group_last = np.minimum.accumulate(np.where(ends, position, c - 1)[::-1])[::-1]
    beats = np.empty_like(one_hot)
    beaten_by = np.empty_like(one_hot)
    beats[order] = below[group_first]
    beaten_by[order] = above[group_last]
    return beats, beaten_by


def _add_bit(counter: list[np.ndarray], bits: np.ndarray) -> None:
    """Add a 0/1 bitset to a bit-sliced counter in place (ripple carry, least significant first)."""
    carry = bits
    for j, plane in enumerate(counter):
        counter[j] = plane ^ carry
        carry = plane & carry


def _popcount_rows(bitsets: np.ndarray) -> np.ndarray:
    """Number of set bits per row of a ``(rows, words)`` uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(bitsets).sum(axis=1, dtype=np.int64)
    return np.unpackbits(bitsets.view(np.uint8), axis=1).sum(axis=1, dtype=np.int64)
