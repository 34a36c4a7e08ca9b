"""Turn a fused score matrix into a team: constraints, an exact solver and the paper's greedy baseline.

Every task needs ``team.per_task`` different people; a person takes at most
``team.max_tasks_per_person`` tasks (or their own ``capacity`` from the employees file); people in
``team.exclude`` are never picked; people in ``team.require`` get at least one task each. NaN in the
score matrix means "not a candidate for that task".

- ``exact`` maximises the total fused score of the picks subject to all of that: a b-matching on
  the bipartite task/employee graph. The one-to-one case goes to ``linear_sum_assignment``, every
  other case to ``milp`` (HiGHS). The constraint matrix is a bipartite incidence matrix, so the
  LP relaxation is already integral; ``milp`` is asked for a zero optimality gap.
- ``greedy`` is the paper's application: each task independently takes its top ``per_task``
  candidates. It honours NaN, ``team.exclude`` and a capacity of 0 (eligibility of one person
  for one task) and ignores what couples tasks: ``team.max_tasks_per_person``, capacities above
  0 and ``team.require``. One person may therefore be picked for several tasks.

Ties: between equal scores the lower employee index wins (greedy picks, the order of ``picks``).
``exact`` is exact in the objective; among optimal teams with tied scores it may return any one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp

from bench.core.errors import ConfigError, TeamformError, unknown_choice

SOLVERS = ("exact", "greedy")  # the names users type as team.solver


class InfeasibleTeam(TeamformError):
    """The team constraints cannot be met; the one-line message names the ``team.*`` key and the fix."""


def _ids(key: str, value: object) -> tuple[str, ...]:
    """A tuple of distinct employee ids from a list (a bare string counts as one id)."""
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        value = [value]
    try:
        items = [str(item) for item in value]  # type: ignore[union-attr]
    except TypeError:
        raise ConfigError(f"team.{key} must be a list of employee ids, got {value!r}") from None
    return tuple(dict.fromkeys(items))


@dataclass(frozen=True)
class TeamConstraints:
    """What a team must satisfy (the ``team.*`` keys; ``capacity`` comes from the employees file).

    Args:
        per_task: people per task (``team.per_task``), >= 1.
        max_tasks_per_person: the most tasks one person takes (``team.max_tasks_per_person``), >= 1.
        capacity: per-employee most tasks, overriding ``max_tasks_per_person`` for those people;
            0 means "takes no task". The reserved ``capacity`` key of the custom data format.
        exclude: employee ids never picked (``team.exclude``).
        require: employee ids that must each get at least one task (``team.require``).

    Example:
        >>> c = TeamConstraints(per_task=2, capacity={"e2": 3}, exclude=["e1"])
        >>> c.caps(["e1", "e2", "e3"]).tolist()
        [0, 3, 1]
    """

    per_task: int = 1
    max_tasks_per_person: int = 1
    capacity: Mapping[str, int] | None = field(default=None, hash=False)
    exclude: Sequence[str] = ()
    require: Sequence[str] = ()

    def __post_init__(self) -> None:
        for key in ("per_task", "max_tasks_per_person"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"team.{key} must be an integer >= 1, got {value!r}")
            object.__setattr__(self, key, int(value))
        object.__setattr__(self, "exclude", _ids("exclude", self.exclude))
        object.__setattr__(self, "require", _ids("require", self.require))
        if self.capacity is not None:
            capacity = {str(k): v for k, v in dict(self.capacity).items()}
            for person, cap in capacity.items():
                if isinstance(cap, bool) or not isinstance(cap, (int, np.integer)) or cap < 0:
                    raise ConfigError(f"capacity of employee {person!r} must be an integer >= 0, got {cap!r}")
            object.__setattr__(self, "capacity", {k: int(v) for k, v in capacity.items()})

    def caps(self, employee_ids: Sequence[str]) -> np.ndarray:
        """Most tasks per employee, ``(n_employees,)`` int64: 0 for excluded people."""
        caps = np.full(len(employee_ids), self.max_tasks_per_person, dtype=np.int64)  # (n_employees,)
        index = {e: i for i, e in enumerate(employee_ids)}
        for person, cap in (self.capacity or {}).items():
            if person in index:
                caps[index[person]] = cap
        for person in self.exclude:
            if person in index:
                caps[index[person]] = 0
        return caps

    def as_dict(self) -> dict:
        """JSON-ready form for ``team.json``; ``capacity`` lists only entries that differ from the default."""
        capacity = {k: v for k, v in (self.capacity or {}).items() if v != self.max_tasks_per_person}
        return {
            "per_task": self.per_task,
            "max_tasks_per_person": self.max_tasks_per_person,
            "exclude": list(self.exclude),
            "require": list(self.require),
            "capacity": capacity,
        }


@dataclass
class Assignment:
    """A team: ``picks[t]`` are the employee indices given task ``t``, best score first."""

    picks: list[list[int]]
    objective: float  # sum of the picked fused scores
    solver: str


def _unknown(key: str, ids: Sequence[str], index: Mapping[str, int]) -> None:
    unknown = [person for person in ids if person not in index]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise InfeasibleTeam(
            f"{key}: unknown employee id {unknown[0]!r}{more}; use ids of the employees file"
        )


def check_counts(
    n_tasks: int,
    n_employees: int,
    constraints: TeamConstraints,
    employee_ids: Sequence[str],
    solver: str = "exact",
) -> np.ndarray:
    """Refuse a request that is infeasible by counts and ids alone, before any model loads.

    Args:
        n_tasks: number of tasks of the project.
        n_employees: number of employees.
        constraints: the team constraints.
        employee_ids: the ``n_employees`` ids, in score-matrix column order.
        solver: ``team.solver``; ``greedy`` skips the checks of per-person limits it ignores.

    Returns:
        The effective capacity per employee, ``(n_employees,)`` int64 (0: takes no task).

    Raises:
        InfeasibleTeam: one line naming the ``team.*`` key and the fix.

    Example:
        >>> check_counts(5, 9, TeamConstraints(per_task=2, exclude=["e0", "e1"]), [f"e{i}" for i in range(9)])
        Traceback (most recent call last):
        ...
        bench.team.assign.InfeasibleTeam: team.per_task=2 needs 10 seats but only 7 people can take tasks \
(9 employees, 2 excluded); lower team.per_task or raise team.max_tasks_per_person
    """
    if solver not in SOLVERS:
        raise unknown_choice("team.solver", solver, SOLVERS)
    if len(employee_ids) != n_employees:
        raise ValueError(f"{len(employee_ids)} employee ids for {n_employees} employees")
    if n_tasks < 1:
        raise InfeasibleTeam("the project has no tasks; add at least one task to team.project")
    index = {person: i for i, person in enumerate(employee_ids)}
    if len(index) != n_employees:
        twice = next(person for i, person in enumerate(employee_ids) if index[person] != i)
        raise InfeasibleTeam(f"employee id {twice!r} appears more than once; give every employee its own id")
    c, p = constraints, constraints.per_task
    _unknown("team.exclude", c.exclude, index)
    _unknown("team.require", c.require, index)
    _unknown("capacity", list(c.capacity or {}), index)
    caps = np.minimum(c.caps(employee_ids), n_tasks)  # (n_employees,) a person takes a task once
    for person in c.require:
        if person in c.exclude:
            raise InfeasibleTeam(
                f"team.require: {person} is also in team.exclude; remove it from one of them"
            )
        if caps[index[person]] == 0:
            raise InfeasibleTeam(
                f"team.require: {person} has capacity 0; raise it or drop {person} from team.require"
            )
    people, excluded = int(np.count_nonzero(caps)), len(c.exclude)
    who = f"({n_employees} employees, {excluded} excluded)"
    persons = "1 person" if people == 1 else f"{people} people"
    if p > people:
        raise InfeasibleTeam(
            f"team.per_task={p} needs {p} different people per task but only {persons} "
            f"can take tasks {who}; lower team.per_task or shorten team.exclude"
        )
    if solver == "greedy":
        return caps
    seats, total = n_tasks * p, int(caps.sum())
    if seats > total:
        in_all = "" if total == people else f", {total} seats in all"
        raise InfeasibleTeam(
            f"team.per_task={p} needs {seats} seats but only {persons} can take tasks"
            f"{in_all} {who}; lower team.per_task or raise team.max_tasks_per_person"
        )
    if len(c.require) > seats:
        raise InfeasibleTeam(
            f"team.require names {len(c.require)} people but the {n_tasks} tasks have only "
            f"{seats} seats; drop names from team.require or raise team.per_task"
        )
    return caps


def descending_order(scores: np.ndarray) -> np.ndarray:
    """Column indices of each row by descending score: ties by lower index, NaN last.

    Example:
        >>> descending_order(np.array([[0.2, np.nan, 0.5, 0.5]])).tolist()
        [[2, 3, 0, 1]]
    """
    scores = np.asarray(scores, dtype=float)
    missing = np.isnan(scores)
    position = np.broadcast_to(np.arange(scores.shape[-1]), scores.shape)
    return np.lexsort((position, -np.where(missing, 0.0, scores), missing), axis=-1)


def _greedy(scores: np.ndarray, per_task: int) -> list[list[int]]:
    """Top ``per_task`` candidates of each task on its own; ``scores`` ``(n_tasks, n_employees)``,
    NaN masked."""
    return descending_order(scores)[:, :per_task].tolist()


def _kept(scores: np.ndarray, per_task: int, required: np.ndarray) -> np.ndarray:
    """Entries an optimal team can be found among, ``(n_tasks, n_employees)`` bool.

    Each task keeps its top ``n_tasks * per_task`` candidates plus every required person: an
    optimal team using another entry (t, e) can swap e for someone in t's top list who is neither
    in t nor full (at most ``per_task - 1 + (n_tasks - 1) * per_task`` people are), without loss.
    """
    n_tasks, n = scores.shape
    limit = min(n, n_tasks * per_task)
    keep = np.zeros(scores.shape, dtype=bool)
    np.put_along_axis(keep, descending_order(scores)[:, :limit], True, axis=-1)
    keep[:, required] = True
    return keep & ~np.isnan(scores)


def _one_to_one(scores: np.ndarray, keep: np.ndarray) -> list[list[int]] | None:
    """``linear_sum_assignment`` on the kept columns; None when no full matching exists."""
    cols = np.flatnonzero(keep.any(axis=0))
    cost = np.where(keep[:, cols], -np.nan_to_num(scores[:, cols]), np.inf)  # (n_tasks, n_kept)
    try:
        rows, picked = linear_sum_assignment(cost)
    except ValueError:  # "cost matrix is infeasible"
        return None
    if rows.size < scores.shape[0]:  # fewer kept people than tasks: scipy matches only some rows
        return None
    picks: list[list[int]] = [[] for _ in range(scores.shape[0])]
    for t, j in zip(rows.tolist(), picked.tolist(), strict=True):
        picks[t].append(int(cols[j]))
    return picks


def _milp(
    scores: np.ndarray, keep: np.ndarray, caps: np.ndarray, per_task: int, required: np.ndarray
) -> list[list[int]] | None:
    """Binary x[t, e] over the kept entries: max sum s·x, sum_e x = per_task, lb_e <= sum_t x <= cap_e."""
    n_tasks = scores.shape[0]
    tasks, people = np.nonzero(keep)  # (n_vars,) each
    cols, column = np.unique(people, return_inverse=True)
    n_vars = tasks.size
    ones = np.ones(n_vars)
    by_task = sparse.csr_array((ones, (tasks, np.arange(n_vars))), shape=(n_tasks, n_vars))
    by_person = sparse.csr_array((ones, (column, np.arange(n_vars))), shape=(cols.size, n_vars))
    lower = np.isin(cols, required).astype(float)
    result = milp(
        -scores[tasks, people],
        integrality=ones,
        bounds=Bounds(0, 1),
        constraints=[
            LinearConstraint(by_task, per_task, per_task),
            LinearConstraint(by_person, lower, caps[cols].astype(float)),
        ],
        options={"mip_rel_gap": 0.0},
    )
    if result.status == 2:
        return None
    if result.status != 0 or result.x is None:
        raise TeamformError(
            f"the exact solver stopped without a team ({result.message}); "
            "use team.solver=greedy or fewer tasks"
        )
    chosen = result.x > 0.5
    picks: list[list[int]] = [[] for _ in range(n_tasks)]
    for t, e in zip(tasks[chosen].tolist(), people[chosen].tolist(), strict=True):
        picks[t].append(int(e))
    return picks


def _exact(scores: np.ndarray, caps: np.ndarray, c: TeamConstraints, required: np.ndarray) -> list[list[int]]:
    keep = _kept(scores, c.per_task, required)
    if c.per_task == 1 and caps.max() <= 1 and required.size == 0:
        picks = _one_to_one(scores, keep)
    else:
        picks = _milp(scores, keep, caps, c.per_task, required)
    if picks is not None:
        return picks
    if required.size and _milp(scores, keep, caps, c.per_task, required[:0]) is not None:
        raise InfeasibleTeam(
            "team.require: the required people cannot all get a task within the seats of the "
            "tasks they are candidates for; drop names from team.require or raise team.per_task"
        )
    raise InfeasibleTeam(
        f"team.per_task={c.per_task}: the tasks' candidates cannot fill every seat within their "
        "task limits; raise team.max_tasks_per_person or lower team.per_task"
    )


def assign(
    fused: np.ndarray,
    employee_ids: Sequence[str],
    task_ids: Sequence[str],
    constraints: TeamConstraints | None = None,
    solver: str = "exact",
) -> Assignment:
    """Pick ``per_task`` people for every task from the fused scores.

    Args:
        fused: fused scores ``(n_tasks, n_employees)``, higher is better, NaN = not a candidate.
        employee_ids: the column ids.
        task_ids: the row ids (named in error messages).
        constraints: team constraints (default: one person per task, one task per person).
        solver: ``"exact"`` (maximum total score) or ``"greedy"`` (top candidates per task).

    Returns:
        The :class:`Assignment`; ``objective`` sums the picked fused scores.

    Raises:
        InfeasibleTeam: the constraints cannot be met (one line naming the key and the fix).

    Example:
        >>> s = np.array([[0.9, 0.8], [0.7, 0.1]])  # (n_tasks, n_employees)
        >>> (assign(s, ["e1", "e2"], ["t1", "t2"]).picks,
        ...  assign(s, ["e1", "e2"], ["t1", "t2"], solver="greedy").picks)
        ([[1], [0]], [[0], [0]])
    """
    c = constraints or TeamConstraints()
    fused = np.asarray(fused, dtype=float)
    if fused.shape != (len(task_ids), len(employee_ids)):
        raise ValueError(
            f"fused scores {fused.shape} for {len(task_ids)} tasks x {len(employee_ids)} employees"
        )
    if np.isinf(fused).any():
        raise ValueError("fused scores must be finite or NaN")
    caps = check_counts(len(task_ids), len(employee_ids), c, employee_ids, solver)
    scores = np.where(caps[None, :] > 0, fused, np.nan)  # (n_tasks, n_employees) candidates only
    counts = np.count_nonzero(~np.isnan(scores), axis=1)  # (n_tasks,)
    short = np.flatnonzero(counts < c.per_task)
    if short.size:
        t = int(short[0])
        fix = " or shorten team.exclude" if c.exclude else ""
        noun = "candidate" if counts[t] == 1 else "candidates"
        raise InfeasibleTeam(
            f"task {task_ids[t]} has only {counts[t]} {noun} for team.per_task={c.per_task}; "
            f"lower team.per_task{fix}"
        )
    if solver == "greedy":
        picks = _greedy(scores, c.per_task)
    else:
        index = {person: i for i, person in enumerate(employee_ids)}
        required = np.array([index[p] for p in c.require], dtype=np.int64)
        for person, e in zip(c.require, required.tolist(), strict=True):
            if np.isnan(scores[:, e]).all():
                raise InfeasibleTeam(
                    f"team.require: {person} is not a candidate for any task (no score); "
                    "drop it from team.require"
                )
        picks = _exact(scores, caps, c, required)
    picks = [sorted(row, key=lambda e, t=t: (-fused[t, e], e)) for t, row in enumerate(picks)]
    objective = math.fsum(float(fused[t, e]) for t, row in enumerate(picks) for e in row)
    return Assignment(picks=picks, objective=objective, solver=solver)
