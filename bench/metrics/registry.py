"""The one registry of metric names (:data:`METRICS`) and the parser of ``name@k``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bench.core.errors import ConfigError, unknown_choice
from bench.metrics._ranking import RankedTasks
from bench.metrics.auc import auc
from bench.metrics.average_precision import average_precision
from bench.metrics.hit import hit
from bench.metrics.mrr import mrr
from bench.metrics.ndcg import ndcg
from bench.metrics.recall import recall


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        fn: the kernel, ``fn(ranked)`` or ``fn(ranked, k)``, returning ``(n_tasks,)`` values.
        takes_cutoff: whether the name must end in ``@k``.
        trec_name: trec_eval's name (``k`` appended for cutoff metrics), or ``""``.
    """

    fn: Callable[..., np.ndarray]
    takes_cutoff: bool
    trec_name: str

    def compute(self, ranked: RankedTasks, k: int | None) -> np.ndarray:
        """Per-task values for cutoff ``k`` (``None`` for metrics without one)."""
        return self.fn(ranked, k) if self.takes_cutoff else self.fn(ranked)


METRICS: dict[str, Metric] = {
    "ap": Metric(average_precision, False, "map"),
    "ndcg": Metric(ndcg, True, "ndcg_cut_"),
    "hit": Metric(hit, True, "success_"),
    "recall": Metric(recall, True, "recall_"),
    "mrr": Metric(mrr, False, "recip_rank"),
    "auc": Metric(auc, False, ""),
}


def parse_metric(name: str) -> tuple[Metric, int | None]:
    """Split a metric name such as ``"ndcg@5"`` into its registered metric and cutoff.

    Args:
        name: ``<key>`` or ``<key>@<k>`` with a key of :data:`METRICS` and ``k >= 1``.

    Returns:
        ``(metric, k)``; ``k`` is ``None`` for metrics without a cutoff.

    Raises:
        bench.core.errors.ConfigError: unknown key, missing / unexpected / invalid cutoff.

    Example:
        >>> parse_metric("ndcg@5")[1]
        5
    """
    key, _, cutoff = str(name).partition("@")
    if key not in METRICS:
        raise unknown_choice("metric", key, METRICS)
    metric = METRICS[key]
    if not metric.takes_cutoff:
        if cutoff:
            raise ConfigError(f"metric {name!r} takes no cutoff; write {key!r}")
        return metric, None
    if not cutoff:
        raise ConfigError(f"metric {name!r} needs a cutoff; write e.g. '{key}@5'")
    if not cutoff.isdigit() or int(cutoff) < 1:
        raise ConfigError(f"metric {name!r} has an invalid cutoff; write '{key}@k' with k >= 1")
    return metric, int(cutoff)
