"""Kernels shared by the aggregators: input checks, candidate sets, tie-aware per-aspect ranks.

Conventions (every aggregator follows them):

- ``scores`` is ``(m_aspects, n_tasks, n_items)``, higher = better; ``NaN`` means the aspect does
  not rank the item for the task (the employee lacks the aspect, or the item is outside that
  aspect's top-k).
- The **candidates** of a task are the items ranked by at least one aspect. Items ranked by no
  aspect are not retrieved by the fusion either: their fused score is ``NaN``.
- An item an aspect does not rank sits, for that aspect, below every item it ranks, tied with
  the aspect's other unranked candidates.
- Equal scores within an aspect are ties: rank-based methods give tied items the average of
  the ranks (or points) they span.
"""

from __future__ import annotations

import numpy as np

from bench.core.ranks import tie_counts


def check_inputs(scores: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``scores`` and ``weights``; return them as float arrays (weights default to 1).

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores, ``NaN`` = not ranked.
        weights: ``(m_aspects,)`` non-negative finite aspect weights, or ``None`` for all ones.

    Returns:
        ``(scores, weights)`` as float64 arrays.

    Raises:
        ValueError: naming the bad shape or value and how to fix it.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 3:
        raise ValueError(
            f"scores must have shape (m_aspects, n_tasks, n_items), got shape {scores.shape}; "
            "stack the per-aspect (n_tasks, n_items) score matrices with np.stack"
        )
    if np.isinf(scores).any():
        a, t, i = np.argwhere(np.isinf(scores))[0]
        raise ValueError(f"scores[{a}, {t}, {i}] is infinite; use NaN for an item an aspect does not rank")
    m = scores.shape[0]
    if weights is None:
        return scores, np.ones(m)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (m,):
        raise ValueError(f"weights must have shape ({m},) (one per aspect), got {weights.shape}")
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or not (weights > 0).any():
        raise ValueError(
            f"weights must be finite, >= 0 and not all 0, got {weights.tolist()}; "
            "give each aspect a weight such as 1.0"
        )
    return scores, weights


def candidates(scores: np.ndarray) -> np.ndarray:
    """Items ranked by at least one aspect, per task.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)``.

    Returns:
        bool ``(n_tasks, n_items)``.
    """
    return ~np.all(np.isnan(scores), axis=0)


def aspect_counts(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per aspect and task: items beaten, items tied, and the sizes of the rankings.

    Unranked candidates of an aspect count as beaten by each item the aspect ranks.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)``.

    Returns:
        ``(beaten, tied, n_ranked, n_candidates)``: ``beaten`` and ``tied`` are
        ``(m, n_tasks, n_items)`` (for a ranked item: candidates strictly below it, and ranked
        items with an equal score, itself included; 0 for unranked items); ``n_ranked`` is
        ``(m, n_tasks, 1)`` items each aspect ranks; ``n_candidates`` is ``(1, n_tasks, 1)``.
    """
    below, tied = tie_counts(scores)
    ranked = ~np.isnan(scores)
    n_ranked = ranked.sum(axis=-1, keepdims=True)  # (m, n_tasks, 1)
    n_candidates = candidates(scores).sum(axis=-1)[None, :, None]  # (1, n_tasks, 1)
    beaten = np.where(ranked, below + (n_candidates - n_ranked), 0)
    return beaten, tied, n_ranked, n_candidates


def weighted_sum(points: np.ndarray, weights: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Weighted sum of per-aspect points over aspects; ``NaN`` outside the candidates.

    Args:
        points: ``(m_aspects, n_tasks, n_items)`` per-aspect points.
        weights: ``(m_aspects,)``.
        scores: the aggregator's input (defines the candidates).

    Returns:
        ``(n_tasks, n_items)`` fused scores.
    """
    fused = np.tensordot(weights, points, axes=1)  # (n_tasks, n_items)
    return np.where(candidates(scores), fused, np.nan)
