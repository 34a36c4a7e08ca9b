"""The one registry of aggregator names (:data:`AGGREGATORS`) and its look-up."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from aggregators.borda import borda
from aggregators.combmax import combmax
from aggregators.combmnz import combmnz
from aggregators.combsum import combsum
from aggregators.condorcet import condorcet
from aggregators.condorcet_fuse import condorcet_fuse
from aggregators.copeland import copeland
from aggregators.rrf import rrf
from bench.core.errors import unknown_choice


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
    "combmax": combmax,
}


def get_aggregator(name: str) -> Aggregator:
    """Look up an aggregator by its registry name.

    Args:
        name: a key of :data:`AGGREGATORS`, e.g. ``"condorcet"``.

    Returns:
        The aggregator function.

    Raises:
        bench.core.errors.ConfigError: for an unknown name, listing the valid ones.
    """
    try:
        return AGGREGATORS[name]
    except KeyError:
        raise unknown_choice("aggregator", name, AGGREGATORS) from None
