"""Why each person got each task: fused and per-aspect ranks, the runners-up, a displaced top candidate.

Ranks are 1-based ordinal ranks of one task's row of scores, higher score first, ties broken by
employee order (lower index first), counted among every employee with a score for that task
(``team.exclude`` people included: a rank says where a person stands, not who could be picked).
A rank is ``rank(e) = 1 + #{f: s_f > s_e} + #{f < e: s_f = s_e}``, computed with whole-row numpy
comparisons (``O(m k n)`` per task for ``k`` assignees), never a Python loop over employees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.team.assign import Assignment, TeamConstraints, descending_order

_CORE_KEYS = ("project", "system", "solver", "objective", "constraints", "tasks")


def ranks_of(scores: np.ndarray, columns: Sequence[int]) -> np.ndarray:
    """Ordinal ranks of some columns in every row of ``scores``.

    Args:
        scores: ``(..., n_employees)`` float, higher is better, NaN = no score.
        columns: ``(k,)`` employee indices.

    Returns:
        ``(..., k)`` int64: 1-based ranks, ties by lower index; 0 where the score is NaN.

    Example:
        >>> ranks_of(np.array([[0.5, 0.9, 0.5, np.nan]]), [0, 1, 2, 3]).tolist()
        [[2, 1, 3, 0]]
    """
    scores = np.asarray(scores, dtype=float)
    columns = np.asarray(columns, dtype=np.int64)  # (k,)
    mine = scores[..., columns][..., None]  # (..., k, 1)
    row = scores[..., None, :]  # (..., 1, n)
    before = np.arange(scores.shape[-1])[None, :] < columns[:, None]  # (k, n)
    ranks = 1 + np.count_nonzero(row > mine, axis=-1) + np.count_nonzero((row == mine) & before, axis=-1)
    return np.where(np.isnan(mine[..., 0]), 0, ranks)  # (..., k)


@dataclass(frozen=True)
class _Context:
    """What every task's explanation reads."""

    assignment: Assignment
    task_ids: list[str]
    employee_ids: list[str]
    constraints: TeamConstraints | None
    holders: dict[int, int]  # employee index -> first task index that has them
    caps: np.ndarray | None  # (n_employees,) effective capacity, when constraints are known


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _holders(assignment: Assignment) -> dict[int, int]:
    """Employee index -> the first task (in task order) that has them."""
    holders: dict[int, int] = {}
    for t, row in enumerate(assignment.picks):
        for e in row:
            holders.setdefault(e, t)
    return holders


def _reason(
    person: str, taken_by: str | None, cap: int | None, c: TeamConstraints | None, solver: str
) -> str:
    if taken_by is not None:
        limit = f"{person} takes at most {cap} task{'s' if cap != 1 else ''} and " if cap is not None else ""
        return f"{limit}giving {person} to {taken_by} gave a higher total fused score"
    if c is not None and person in c.exclude:
        return "in team.exclude"
    if cap == 0:
        return f"{person} has capacity 0"
    if c is not None and c.require:
        return "left out so that every team.require person gets a task"
    return f"not assigned to any task by the {solver} solver"


def _displaced(t: int, fused: np.ndarray, order: np.ndarray, ctx: _Context) -> dict | None:
    """The task's top fused candidate when it was not given to the task (a tie with a pick is no loss)."""
    top = int(order[0])
    picks = ctx.assignment.picks[t]
    if np.isnan(fused[top]) or top in picks or fused[top] <= max(fused[e] for e in picks):
        return None
    holder = ctx.holders.get(top)
    taken_by = None if holder is None else ctx.task_ids[holder]
    person = ctx.employee_ids[top]
    cap = None if ctx.caps is None else int(ctx.caps[top])
    return {
        "employee_id": person,
        "fused_score": float(fused[top]),
        "taken_by": taken_by,
        "reason": _reason(person, taken_by, cap, ctx.constraints, ctx.assignment.solver),
    }


def _next(t: int, fused: np.ndarray, order: np.ndarray, ctx: _Context, n_next: int) -> list[dict]:
    """The best ``n_next`` candidates by fused score not given this task."""
    ordered = fused[order]  # (n_employees,) descending, NaN last
    open_ = ~np.isnan(ordered) & ~np.isin(order, ctx.assignment.picks[t])
    if ctx.caps is not None:
        open_ &= ctx.caps[order] > 0
    rows = []
    for position in np.flatnonzero(open_)[:n_next].tolist():
        e = int(order[position])
        holder = ctx.holders.get(e)
        rows.append(
            {
                "employee_id": ctx.employee_ids[e],
                "fused_score": float(ordered[position]),
                "rank": position + 1,
                "assigned_to": None if holder is None else ctx.task_ids[holder],
            }
        )
    return rows


def _assigned(
    t: int, aspect_scores: np.ndarray, aspect_names: Sequence[str], fused: np.ndarray, ctx: _Context
) -> list[dict]:
    picks = ctx.assignment.picks[t]
    fused_ranks = ranks_of(fused, picks)  # (k,)
    aspect_ranks = ranks_of(aspect_scores[:, t, :], picks)  # (m, k)
    rows = []
    for j, e in enumerate(picks):
        aspects = {
            name: {"rank": int(aspect_ranks[a, j]) or None, "score": _number(aspect_scores[a, t, e])}
            for a, name in enumerate(aspect_names)
        }
        rows.append(
            {
                "employee_id": ctx.employee_ids[e],
                "fused_score": float(fused[e]),
                "rank": int(fused_ranks[j]),
                "aspects": aspects,
            }
        )
    return rows


def explain_tasks(
    aspect_scores: np.ndarray,
    aspect_names: Sequence[str],
    fused: np.ndarray,
    assignment: Assignment,
    task_ids: Sequence[str],
    employee_ids: Sequence[str],
    constraints: TeamConstraints | None = None,
    n_next: int = 3,
) -> list[dict]:
    """The ``tasks`` list of ``team.json``: assignees with ranks, the next candidates, a displaced top.

    Args:
        aspect_scores: per-aspect scores ``(m_aspects, n_tasks, n_employees)``, NaN = no score.
        aspect_names: the ``m_aspects`` names.
        fused: fused scores ``(n_tasks, n_employees)`` the assignment was made from.
        assignment: the team.
        task_ids: the ``n_tasks`` ids.
        employee_ids: the ``n_employees`` ids.
        constraints: when given, excluded and capacity-0 people are left out of ``next`` and the
            ``displaced`` reason names the limit that applied.
        n_next: how many runners-up to list per task.

    Returns:
        One dict per task: ``task``, ``assigned`` (``employee_id``, ``fused_score``, ``rank``,
        ``aspects`` {name: {``rank``, ``score``}}), ``next`` (``employee_id``, ``fused_score``,
        ``rank``, ``assigned_to``) and ``displaced`` (None, or ``employee_id``, ``fused_score``,
        ``taken_by``, ``reason``).

    Example:
        >>> fused = np.array([[0.9, 0.8], [0.7, 0.1]])  # (n_tasks, n_employees)
        >>> team = Assignment(picks=[[1], [0]], objective=1.5, solver="exact")
        >>> rows = explain_tasks(fused[None], ["role"], fused, team, ["t1", "t2"], ["e1", "e2"])
        >>> rows[0]["assigned"][0]["rank"], rows[0]["displaced"]["taken_by"], rows[1]["displaced"]
        (2, 't2', None)
    """
    aspect_scores = np.asarray(aspect_scores, dtype=float)
    fused = np.asarray(fused, dtype=float)
    shape = (len(task_ids), len(employee_ids))
    if fused.shape != shape or aspect_scores.shape != (len(aspect_names), *shape):
        raise ValueError(
            f"scores {aspect_scores.shape} / fused {fused.shape} do not match "
            f"{len(aspect_names)} aspects x {shape[0]} tasks x {shape[1]} employees"
        )
    caps = None if constraints is None else constraints.caps(list(employee_ids))
    ctx = _Context(assignment, list(task_ids), list(employee_ids), constraints, _holders(assignment), caps)
    order = descending_order(fused)  # (n_tasks, n_employees)
    return [
        {
            "task": task_ids[t],
            "assigned": _assigned(t, aspect_scores, aspect_names, fused[t], ctx),
            "next": _next(t, fused[t], order[t], ctx, n_next),
            "displaced": _displaced(t, fused[t], order[t], ctx),
        }
        for t in range(shape[0])
    ]


def team_document(
    project: str,
    system: str,
    solver: str,
    objective: float,
    tasks: list,
    constraints: TeamConstraints | Mapping,
    extra: Mapping | None = None,
) -> dict:
    """The whole ``team.json``: run facts, constraints, the explained tasks, then ``extra`` keys.

    Args:
        project: the project title.
        system: the ranking system, ``{encoder}/{view}``.
        solver: ``team.solver``.
        objective: the assignment's total fused score.
        tasks: :func:`explain_tasks` output.
        constraints: the constraints (or their dict form).
        extra: more keys (e.g. ``comparison``); they may not replace the keys above.

    Returns:
        A JSON-ready dict.

    Example:
        >>> doc = team_document("App", "minilm/borda", "exact", 1.5, [], TeamConstraints(),
        ...                     {"n_employees": 2})
        >>> list(doc)
        ['project', 'system', 'solver', 'objective', 'constraints', 'tasks', 'n_employees']
    """
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_CORE_KEYS))
    if clash:
        raise ValueError(f"extra keys {clash} would replace team.json's own keys")
    as_dict = constraints.as_dict() if isinstance(constraints, TeamConstraints) else dict(constraints)
    doc = {
        "project": project,
        "system": system,
        "solver": solver,
        "objective": float(objective),
        "constraints": as_dict,
        "tasks": list(tasks),
    }
    doc.update(extra)
    return doc
