"""The declared dev/test split of the evaluation tasks (``eval.dev_split``).

Anything tuned on evaluation labels (Eureka's fitness, the weights of weighted aggregators,
a hyper-parameter search) reads only the *dev* tasks; the report scores only the *test* tasks.
The split is a pure function of the judged task ids, the fraction and the seed, so every job of a
grid, the synthesis pipeline and the report draw the same one without talking to each other.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError


@dataclass(frozen=True)
class DevSplit:
    """``eval.dev_split``: the share of judged evaluation tasks held out for tuning, and its seed."""

    fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.fraction) < 1.0:
            raise ConfigError(
                f"eval.dev_split.fraction={self.fraction} must be in [0, 1): the share of judged "
                "evaluation tasks held out for tuning (0: none; the rest are scored)"
            )

    @classmethod
    def of(cls, value: DevSplit | Mapping[str, Any] | None) -> DevSplit:
        """A split from its config mapping (``None``: no dev tasks)."""
        if value is None:
            return cls()
        if isinstance(value, DevSplit):
            return value
        unknown = set(value) - {"fraction", "seed"}
        if unknown:
            raise ConfigError(
                f"eval.dev_split has unknown key(s) {sorted(unknown)}; it takes fraction and seed"
            )
        return cls(fraction=float(value.get("fraction", 0.0)), seed=int(value.get("seed", 0)))

    def split(self, judged_task_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """``(dev ids, test ids)``, each sorted: the ``ceil(fraction * n)`` tasks first by a seeded hash.

        Example:
            >>> dev, test = DevSplit(0.25, seed=0).split(["t1", "t2", "t3", "t4"])
            >>> len(dev), len(test), sorted(dev + test)
            (1, 3, ['t1', 't2', 't3', 't4'])
            >>> DevSplit(0.0).split(["t1", "t2"])
            ([], ['t1', 't2'])
        """
        ids = sorted(set(judged_task_ids))
        n_dev = math.ceil(self.fraction * len(ids)) if self.fraction > 0 else 0
        order = sorted(ids, key=lambda t: hashlib.sha256(f"{self.seed}:{t}".encode()).hexdigest())
        dev = set(order[:n_dev])
        return sorted(dev), [t for t in ids if t not in dev]

    def split_dataset(self, dataset: Dataset) -> tuple[list[str], list[str]]:
        """:meth:`split` of ``dataset``'s judged evaluation tasks (those with at least one label)."""
        return self.split(t.id for t in dataset.tasks if dataset.qrels.get(t.id))

    def record(self, dataset: Dataset) -> dict[str, Any]:
        """What ``results.json`` keeps under ``split``: fraction, seed, the dev ids, the test count."""
        dev, test = self.split_dataset(dataset)
        return {"fraction": self.fraction, "seed": self.seed, "dev": dev, "test": len(test)}
