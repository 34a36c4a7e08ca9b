"""Graded ground truth of the simulated enterprise and the judged pairs the annotators saw.

Grade of employee ``e`` for a task needing skills ``s_1..s_k`` (most important first) with weights
``w = (1.0, 0.8, 0.6)[:k]``::

    cover(e) = sum_i w_i * level(e, s_i) / sum_i w_i
    grade(e) = 2  if every s_i is held and cover(e) >= STRONG
               1  elif cover(e) >= PARTIAL
               0  otherwise

Seniority caps the grade at 1 where the person is at the wrong level for the task: a lead task
held by a Senior (individual contributor) or Supervisor, or a hands-on task held by a Director.

Judged pairs follow the paper's annotator application (Lima (2024, thesis), section
4.1.2): for each task, half of the candidates come from a short list of likely-relevant people
(the thesis used the base model's top 10; here the top ``pool_size`` by the hidden cover, so the
pool has true positives and near misses) and half uniformly from everyone.
"""

from __future__ import annotations

import numpy as np

from bench.data.demo.tasks import NEED_WEIGHTS, TaskSpec

STRONG = 0.6
PARTIAL = 0.45
LEAD_MIN_RANK = 3  # Coordinator and above may lead
HANDS_ON_MAX_RANK = 4  # Directors do not do hands-on work


def cover(levels: np.ndarray, needs: tuple[int, ...]) -> np.ndarray:
    """Weighted mean level over a task's needs, ``(n_employees,)``.

    Args:
        levels: ``(n_employees, n_skills)`` competence levels, 0 = not held.
        needs: taxonomy columns, most important first.
    """
    w = np.asarray(NEED_WEIGHTS[: len(needs)])
    return levels[:, list(needs)] @ w / w.sum()  # (n_employees,)


def grades(levels: np.ndarray, ranks: np.ndarray, task: TaskSpec) -> np.ndarray:
    """Graded relevance 0/1/2 of every employee for ``task`` (module docstring formula).

    Args:
        levels: ``(n_employees, n_skills)`` competence levels.
        ranks: ``(n_employees,)`` seniority ranks, 1 = Senior ... 5 = Director.
        task: the task and its hidden needs.
    """
    c = cover(levels, task.needs)
    held_all = (levels[:, list(task.needs)] > 0).all(axis=1)
    g = np.where(held_all & (c >= STRONG), 2, np.where(c >= PARTIAL, 1, 0))
    wrong_level = ranks < LEAD_MIN_RANK if task.lead else ranks > HANDS_ON_MAX_RANK
    return np.where(wrong_level, np.minimum(g, 1), g)


def likely_pool(levels: np.ndarray, ranks: np.ndarray, task: TaskSpec, size: int) -> list[int]:
    """Rows of the ``size`` employees the annotator app would show first (grade, then cover)."""
    key = grades(levels, ranks, task) + cover(levels, task.needs)
    order = np.lexsort((np.arange(len(key)), -key))  # best first, ties by row
    return [int(i) for i in order[:size]]


def judged_rows(
    rng: np.random.Generator,
    levels: np.ndarray,
    ranks: np.ndarray,
    task: TaskSpec,
    n_pairs: int,
    pool_size: int,
) -> list[int]:
    """Employees (rows) judged for one task: half from the likely pool, half uniformly.

    The returned rows are distinct; at least one has a positive grade whenever any employee
    does (the annotator asks for another candidate until they find one).
    """
    n = levels.shape[0]
    n_pairs = min(n_pairs, n)
    pool = likely_pool(levels, ranks, task, pool_size)
    from_pool = [pool[int(i)] for i in rng.permutation(len(pool))[: min(len(pool), (n_pairs + 1) // 2)]]
    chosen = list(from_pool)
    taken = np.zeros(n, dtype=bool)
    taken[chosen] = True
    rest = np.flatnonzero(~taken)
    extra = rng.choice(rest, size=min(len(rest), n_pairs - len(chosen)), replace=False)
    chosen += [int(i) for i in extra]
    g = grades(levels, ranks, task)
    if not (g[chosen] > 0).any() and (g > 0).any():
        chosen[0] = pool[0]
    return chosen
