"""A system's scores for every task as arrays, convertible from and to pytrec_eval-style dicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.metrics._ranking import trec_order, trec_tiebreak


@dataclass(frozen=True)
class Run:
    """Scores of items for tasks: ``scores[t, i]`` is the score of ``item_ids[i]`` for ``task_ids[t]``.

    Higher = better; ``NaN`` or ``-inf`` = the item was not retrieved for the task.

    Attributes:
        task_ids: ``n_tasks`` unique task ids.
        item_ids: ``n_items`` unique item (employee) ids.
        scores: ``(n_tasks, n_items)`` float array.

    Example:
        >>> run = Run.from_dict({"t1": {"e1": 0.5, "e2": 0.9}, "t2": {"e2": 0.1}})
        >>> run.item_ids, run.scores.tolist()
        (['e1', 'e2'], [[0.5, 0.9], [nan, 0.1]])
        >>> run.to_dict()["t2"]
        {'e2': 0.1}
    """

    task_ids: Sequence[str]
    item_ids: Sequence[str]
    scores: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "task_ids", [str(t) for t in self.task_ids])
        object.__setattr__(self, "item_ids", [str(i) for i in self.item_ids])
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=float))
        shape = (len(self.task_ids), len(self.item_ids))
        if self.scores.shape != shape:
            raise ValueError(
                f"Run scores have shape {self.scores.shape} but there are {shape[0]} task ids and "
                f"{shape[1]} item ids; pass scores shaped (n_tasks, n_items)"
            )
        for kind, ids in (("task", self.task_ids), ("item", self.item_ids)):
            if len(set(ids)) != len(ids):
                duplicate = next(i for i in ids if ids.count(i) > 1)
                raise ValueError(f"Run has duplicate {kind} id {duplicate!r}; ids must be unique")

    @classmethod
    def from_dict(cls, run: Mapping[str, Mapping[str, float]]) -> Run:
        """Build a Run from ``task_id -> {item_id: score}`` (pytrec_eval's run format).

        Args:
            run: scores per task; absent items are not retrieved.

        Returns:
            The Run, items in first-seen order.
        """
        seen: dict = {}
        for ranking in run.values():
            seen.update(dict.fromkeys(ranking))
        index = {item: i for i, item in enumerate(seen)}
        scores = np.full((len(run), len(index)), np.nan)  # (n_tasks, n_items)
        for row, ranking in enumerate(run.values()):
            columns = np.fromiter(map(index.__getitem__, ranking), dtype=np.int64, count=len(ranking))
            scores[row, columns] = np.fromiter(ranking.values(), dtype=float, count=len(ranking))
        return cls(list(run), list(index), scores)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """The retrieved items of each task as ``task_id -> {item_id: score}``."""
        retrieved = ~np.isnan(self.scores) & (self.scores != -np.inf)
        return {
            task: {self.item_ids[i]: float(self.scores[t, i]) for i in np.flatnonzero(retrieved[t])}
            for t, task in enumerate(self.task_ids)
        }

    def truncate(self, depth: int) -> Run:
        """Keep each task's top ``depth`` items in trec_eval's order (score, then id descending).

        Args:
            depth: how many items to keep per task (a TREC run file keeps e.g. the top 100).

        Returns:
            A new Run where the other items are not retrieved (``NaN``).
        """
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        retrieved = ~np.isnan(self.scores) & (self.scores != -np.inf)
        order = trec_order(self.scores, trec_tiebreak(self.item_ids))
        keep = np.zeros(self.scores.shape, dtype=bool)
        np.put_along_axis(keep, order[:, :depth], True, axis=-1)
        return Run(self.task_ids, self.item_ids, np.where(keep & retrieved, self.scores, np.nan))
