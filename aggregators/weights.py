"""Fit aspect weights of an aggregator on labelled development tasks (coordinate search)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aggregators.registry import Aggregator, get_aggregator
from bench.metrics.evaluate import evaluate_arrays
from bench.metrics.registry import parse_metric

DEFAULT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


def fit_weights(
    scores: np.ndarray,
    grades: np.ndarray,
    metric: str = "ndcg@5",
    aggregator: str | Aggregator = "borda",
    grid: Sequence[float] = DEFAULT_GRID,
    rounds: int = 3,
    item_ids: Sequence[str] | None = None,
    unjudged: str = "nonrelevant",
) -> np.ndarray:
    """Aspect weights that maximise the mean of ``metric`` of the fused ranking on dev tasks.

    Coordinate search (the supervised-fusion recipe of Wu 2013 and Liu et al. 2007, thesis
    section 2.5.2): start from equal weights; for each aspect in turn try every value of
    ``grid`` with the other weights fixed and keep a value only if it strictly improves the
    mean metric over the tasks; repeat for ``rounds`` passes or until a pass changes nothing.
    The mean never decreases, so the result is never worse than equal weights on these tasks.
    Fit on development tasks only and report the test tasks with the returned weights.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)`` per-aspect scores of the dev tasks.
        grades: ``(n_tasks, n_items)`` graded judgments of the dev tasks, ``NaN`` = unjudged.
        metric: a metric name of :data:`bench.metrics.METRICS` (``"ndcg@5"``, ``"ap"``, ...).
        aggregator: a registry name or an aggregator function taking ``weights``.
        grid: candidate weight values (>= 0).
        rounds: maximum number of passes over the aspects.
        item_ids: column ids for trec_eval's tie-break (see
            :func:`bench.metrics.evaluate_arrays`).
        unjudged: ``"nonrelevant"`` or ``"condensed"``.

    Returns:
        ``(m_aspects,)`` weights, at least one of them > 0.

    Example:
        >>> s = np.array([[[0.9, 0.1, 0.2]], [[0.1, 0.9, 0.8]]])  # aspect 0 is the useful one
        >>> fit_weights(s, np.array([[1.0, 0.0, 0.0]]), metric="mrr", grid=(0.0, 1.0)).tolist()
        [1.0, 0.0]
    """
    fuse = get_aggregator(aggregator) if isinstance(aggregator, str) else aggregator
    parse_metric(metric)  # fail early on a bad name
    if rounds < 1 or any(not np.isfinite(v) or v < 0 for v in grid):
        raise ValueError(f"need rounds >= 1 and finite grid values >= 0, got {rounds}, {list(grid)}")

    def objective(weights: np.ndarray) -> float:
        values = evaluate_arrays(fuse(scores, weights), grades, [metric], item_ids, unjudged)[metric]
        return float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("-inf")

    weights = np.ones(np.shape(scores)[0])
    best = objective(weights)
    for _ in range(rounds):
        improved = False
        for aspect in range(weights.size):
            for value in grid:
                trial = weights.copy()
                trial[aspect] = value
                if value == weights[aspect] or not (trial > 0).any():
                    continue
                value_of_trial = objective(trial)
                if value_of_trial > best:
                    best, weights, improved = value_of_trial, trial, True
        if not improved:
            break
    return weights
