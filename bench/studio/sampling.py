"""Which task-employee pairs the annotators judge, as the paper's annotation application did.

A share ``top_share`` of the pairs comes from the top-k of a chosen system (spread evenly over the
tasks), the rest uniformly from every task-employee pair of the database; pairs already judged in
the input labels are never drawn. A share ``overlap`` of the sample is marked *shared*: every
annotator sees those (their agreement is measured on them); each other pair goes to one annotator.
The whole draw, and the order the pairs are shown in, follow from ``seed`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError
from bench.studio.services import RankTopK
from bench.studio.settings import LabelSettings

TOP, UNIFORM, TEAM = "top", "uniform", "team"
# Below this many task-employee pairs the uniform draw enumerates them; above, it rejects.
ENUMERATE_LIMIT = 200_000


@dataclass(frozen=True)
class SampledPair:
    """One pair to judge: where it came from (hidden from annotators) and whether it is shared."""

    task_id: str
    employee_id: str
    source: str
    shared: bool


def sample_pairs(dataset: Dataset, settings: LabelSettings, rank_top_k: RankTopK | None) -> list[SampledPair]:
    """Draw ``settings.n_pairs`` pairs (fewer if the data has fewer unjudged ones), in shown order.

    Args:
        dataset: the employees, evaluation tasks and input labels (excluded from the draw).
        settings: ``n_pairs``, ``top_share``, ``top_k``, ``overlap`` and ``seed``.
        rank_top_k: the chosen system's top-k; needed when ``top_share > 0``.

    Returns:
        The pairs in the order annotators see them.

    Raises:
        ConfigError: ``top_share > 0`` without a ranking system.

    Example:
        >>> pairs = sample_pairs(dataset, LabelSettings(n_pairs=20, top_share=0), None)  # doctest: +SKIP
        >>> sum(p.shared for p in pairs)  # doctest: +SKIP
        4
    """
    rng = np.random.default_rng(settings.seed)
    judged = {(t, e) for t, row in dataset.qrels.items() for e in row}
    n_top = round(settings.top_share * settings.n_pairs)
    top: list[tuple[str, str]] = []
    if n_top:
        if rank_top_k is None:
            raise ConfigError(
                f"label.top_share={settings.top_share} needs the top-k of a system (label.system), but none "
                "was given; set label.top_share=0 to sample uniformly"
            )
        ranking = rank_top_k([t.id for t in dataset.tasks], settings.top_k)
        top = _spread_over_tasks(dataset, ranking, settings.top_k, judged, n_top, rng)
    taken = judged | set(top)
    uniform = _uniform(dataset, taken, settings.n_pairs - len(top), rng)
    pairs = [(t, e, TOP) for t, e in top] + [(t, e, UNIFORM) for t, e in uniform]
    n_shared = round(settings.overlap * len(pairs))
    shared = set(rng.choice(len(pairs), size=n_shared, replace=False).tolist()) if n_shared else set()
    order = rng.permutation(len(pairs)).tolist()
    return [SampledPair(*pairs[i], shared=i in shared) for i in order]


def _spread_over_tasks(
    dataset: Dataset,
    ranking: dict[str, list[str]],
    k: int,
    judged: set[tuple[str, str]],
    n: int,
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Up to ``n`` unjudged top-k pairs, taken round-robin over the tasks in a random order."""
    known = set(dataset.employee_ids)
    per_task: list[list[tuple[str, str]]] = []
    for task in dataset.tasks:
        ids = list(dict.fromkeys(ranking.get(task.id, [])))[:k]
        unknown = [e for e in ids if e not in known]
        if unknown:
            raise ValueError(
                f"rank_top_k returned unknown employee id(s) for task {task.id!r}: {unknown[:3]}"
            )
        pool = [(task.id, e) for e in ids if (task.id, e) not in judged]
        per_task.append([pool[i] for i in rng.permutation(len(pool)).tolist()])
    per_task = [per_task[i] for i in rng.permutation(len(per_task)).tolist()]
    chosen: list[tuple[str, str]] = []
    depth = 0
    while len(chosen) < n and any(depth < len(pool) for pool in per_task):
        for pool in per_task:
            if depth < len(pool) and len(chosen) < n:
                chosen.append(pool[depth])
        depth += 1
    return chosen


def _uniform(
    dataset: Dataset, taken: set[tuple[str, str]], n: int, rng: np.random.Generator
) -> list[tuple[str, str]]:
    """``n`` pairs drawn uniformly without replacement from the task-employee pairs not ``taken``."""
    tasks, employees = [t.id for t in dataset.tasks], dataset.employee_ids
    total = len(tasks) * len(employees)
    if n <= 0 or total == 0:
        return []
    if total <= ENUMERATE_LIMIT or n * 2 >= total - len(taken):
        free = [(t, e) for t in tasks for e in employees if (t, e) not in taken]
        picks = rng.choice(len(free), size=min(n, len(free)), replace=False).tolist() if free else []
        return [free[i] for i in picks]
    chosen: dict[tuple[str, str], None] = {}
    while len(chosen) < n:
        for index in rng.integers(0, total, size=2 * (n - len(chosen))).tolist():
            pair = (tasks[index // len(employees)], employees[index % len(employees)])
            if pair not in taken and pair not in chosen:
                chosen[pair] = None
                if len(chosen) == n:
                    break
    return list(chosen)
