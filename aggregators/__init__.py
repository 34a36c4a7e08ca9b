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

from typing import Protocol

import numpy as np

from aggregators.borda import borda
from aggregators.combmnz import combmnz
from aggregators.combsum import combsum
from aggregators.condorcet import condorcet
from aggregators.condorcet_fuse import condorcet_fuse
from aggregators.copeland import copeland
from aggregators.rrf import rrf
from bench.errors import unknown_choice


class Aggregator(Protocol):
    """A rank fusion method: ``(m_aspects, n_tasks, n_items)`` scores to ``(n_tasks, n_items)``."""

    def __call__(self, scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray: ...


AGGREGATORS: dict[str, Aggregator] = {
    "condorcet": condorcet,
    "borda": borda,
    "copeland": copeland,
    "condorcet_fuse": condorcet_fuse,
    "rrf": rrf,
    "combsum": combsum,
    "combmnz": combmnz,
}


def get_aggregator(name: str) -> Aggregator:
    """Look up an aggregator by its registry name.

    Args:
        name: a key of :data:`AGGREGATORS`, e.g. ``"condorcet"``.

    Returns:
        The aggregator function.

    Raises:
        bench.errors.ConfigError: for an unknown name, listing the valid ones.
    """
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise unknown_choice("aggregator", name, AGGREGATORS) from None


from aggregators.weights import fit_weights  # noqa: E402  (uses the registry above)

__all__ = ["AGGREGATORS", "Aggregator", "fit_weights", "get_aggregator"]
