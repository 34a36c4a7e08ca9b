"""Rank aggregators: fuse per-aspect employee rankings into one ranking per task.

Every aggregator is a function ``fn(scores, weights=None) -> fused`` where ``scores`` is
``(m_aspects, n_tasks, n_items)`` (higher = better, ``NaN`` = the aspect does not rank the
item) and ``fused`` is ``(n_tasks, n_items)`` (higher = better, ``NaN`` = not retrieved).
:data:`AGGREGATORS` is the only place their names live; configs, the CLI, reports and tests
look them up with :func:`get_aggregator`. Weights for the weighted variants are fit on
development tasks with :func:`aggregators.weights.fit_weights`.

Example:
    >>> import numpy as np
    >>> scores = np.array([[[0.9, 0.1]], [[0.4, 0.8]], [[0.7, 0.2]]])  # 3 aspects, 1 task, 2 items
    >>> get_aggregator("borda")(scores).tolist()
    [[2.0, 1.0]]
"""

from __future__ import annotations

from aggregators.registry import AGGREGATORS, Aggregator, get_aggregator
from aggregators.weights import fit_weights

__all__ = ["AGGREGATORS", "Aggregator", "fit_weights", "get_aggregator"]
