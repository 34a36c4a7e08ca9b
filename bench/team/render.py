"""TEAM.md from a ``team.json`` document, and the greedy-against-exact comparison it can show.

Task texts are shown (they describe work, not people). Employee profile text is personal data
(DESIGN §7): it appears only when the caller passes ``employee_texts`` (``team.show_text=true``).
Every piece of text goes through :func:`cell`, so no pipe or newline can break a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.team.assign import TeamConstraints, assign


def cell(text: object) -> str:
    """Text made safe for one markdown table cell: whitespace runs to one space, ``\\`` and ``|`` escaped.

    Example:
        >>> cell("a | b\\nc")
        'a \\\\| b c'
    """
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def _num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.{digits}f}"


def _aspects(aspects: Mapping[str, Mapping]) -> str:
    """``role 1 (0.71), goals n/a``: rank then score per aspect."""
    parts = []
    for name, entry in aspects.items():
        if entry.get("rank") is None:
            parts.append(f"{name} n/a")
        else:
            parts.append(f"{name} {entry['rank']} ({_num(entry.get('score'), 2)})")
    return ", ".join(parts)


def _constraints(c: Mapping) -> str:
    def ids(key: str) -> str:
        return ", ".join(c.get(key) or []) or "none"

    text = f"per_task={c.get('per_task')}, max_tasks_per_person={c.get('max_tasks_per_person')}"
    text += f", exclude: {ids('exclude')}, require: {ids('require')}"
    if c.get("capacity"):
        text += f", own capacity: {len(c['capacity'])} people"
    return cell(text)


def _header(team: Mapping) -> list[str]:
    lines = [
        f"# Team: {cell(team.get('project', ''))}",
        "",
        f"- **Project:** {cell(team.get('project', ''))}",
        f"- **System:** `{cell(team.get('system', ''))}`"
        + (f" ({cell(team['chosen'])})" if team.get("chosen") else ""),
        f"- **Solver:** {cell(team.get('solver', ''))}",
        f"- **Objective:** {_num(team.get('objective'), 4)} (total fused score of the assignees)",
        f"- **Constraints:** {_constraints(team.get('constraints') or {})}",
    ]
    comparison = team.get("comparison")
    if comparison:
        differ = ", ".join(cell(t) for t in comparison.get("differing_tasks", []))
        lines.append(
            f"- **Greedy vs exact:** exact {_num(comparison['exact'], 4)}, greedy "
            f"{_num(comparison['greedy'], 4)}; {comparison['n_differing']} task(s) differ"
            + (f" ({differ})" if differ else "")
            + " (greedy is the paper's top-1 per task: it ignores the per-person limits, so its total"
            " can be higher)"
        )
    return lines + [""]


def _assignments(tasks: Sequence[Mapping], task_texts: Mapping[str, str] | None) -> list[str]:
    text_col = task_texts is not None
    head = "| task | " + ("task text | " if text_col else "") + "employee | fused | rank | aspects |"
    lines = ["## Assignments", "", head, "|" + "---|" * (6 if text_col else 5)]
    for task in tasks:
        for person in task["assigned"]:
            text = f"{cell(task_texts.get(task['task'], ''))} | " if text_col else ""
            lines.append(
                f"| {cell(task['task'])} | {text}{cell(person['employee_id'])} | "
                f"{_num(person['fused_score'])} | {person['rank']} | {cell(_aspects(person['aspects']))} |"
            )
    return lines + [""]


def _runners_up(tasks: Sequence[Mapping]) -> list[str]:
    lines = ["## Next candidates", "", "| task | next by fused score |", "|---|---|"]
    for task in tasks:
        parts = []
        for person in task["next"]:
            where = f", on {person['assigned_to']}" if person.get("assigned_to") else ""
            parts.append(
                f"{person['employee_id']} {_num(person['fused_score'])} (rank {person['rank']}{where})"
            )
        lines.append(f"| {cell(task['task'])} | {cell(', '.join(parts)) or 'none'} |")
    return lines + [""]


def _displaced(tasks: Sequence[Mapping]) -> list[str]:
    lines = []
    for task in tasks:
        gone = task.get("displaced")
        if not gone:
            continue
        where = f"went to {gone['taken_by']}" if gone.get("taken_by") else "was not assigned"
        lines.append(
            cell(
                f"- {task['task']}'s top candidate {gone['employee_id']} "
                f"({_num(gone['fused_score'])}) {where}: {gone.get('reason', '')}"
            )
        )
    return ["## Displaced", "", *lines, ""] if lines else []


def _profiles(tasks: Sequence[Mapping], employee_texts: Mapping[str, Mapping[str, str]]) -> list[str]:
    people = dict.fromkeys(p["employee_id"] for task in tasks for p in task["assigned"])
    lines = ["## Profiles", "", "| employee | aspect | text |", "|---|---|---|"]
    for person in people:
        for aspect, text in (employee_texts.get(person) or {}).items():
            lines.append(f"| {cell(person)} | {cell(aspect)} | {cell(text)} |")
    return lines + [""]


def render_team_md(
    team: Mapping,
    task_texts: Mapping[str, str] | None = None,
    employee_texts: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """TEAM.md for a ``team.json`` document (:func:`bench.team.explain.team_document`).

    Args:
        team: the document.
        task_texts: task id -> task text, shown in the assignment table when given.
        employee_texts: employee id -> {aspect: text}; personal data, pass it only with
            ``team.show_text=true``. Without it no profile text is written.

    Returns:
        The markdown text.

    Example:
        >>> doc = {"project": "App", "system": "bm25/concat", "solver": "exact", "objective": 0.8,
        ...        "constraints": {"per_task": 1}, "tasks": [{"task": "p1", "assigned": [
        ...        {"employee_id": "e1", "fused_score": 0.8, "rank": 1, "aspects": {}}],
        ...        "next": [], "displaced": None}]}
        >>> "| p1 | UI | e1 | 0.800 | 1 |  |" in render_team_md(doc, {"p1": "UI"})
        True
    """
    tasks = team.get("tasks") or []
    lines = _header(team) + _assignments(tasks, task_texts) + _runners_up(tasks) + _displaced(tasks)
    if employee_texts is not None:
        lines += _profiles(tasks, employee_texts)
    return "\n".join(lines).rstrip("\n") + "\n"


def compare_solvers(
    fused: np.ndarray,
    employee_ids: Sequence[str],
    task_ids: Sequence[str],
    constraints: TeamConstraints | None = None,
) -> dict:
    """Greedy against exact on the same scores, JSON-ready (``team.json``'s ``comparison`` key).

    Args:
        fused: fused scores ``(n_tasks, n_employees)``.
        employee_ids: the column ids.
        task_ids: the row ids.
        constraints: the team constraints, used by both solvers.

    Returns:
        ``{"exact": objective, "greedy": objective, "differing_tasks": [ids of tasks whose set of
        picks differs], "n_differing": int}``. Greedy may give one person several tasks, so its
        objective can exceed the exact one when per-person limits bind.

    Example:
        >>> compare_solvers(np.array([[0.9, 0.8], [0.7, 0.1]]), ["e1", "e2"], ["t1", "t2"])
        {'exact': 1.5, 'greedy': 1.6, 'differing_tasks': ['t1'], 'n_differing': 1}
    """
    exact = assign(fused, employee_ids, task_ids, constraints, "exact")
    greedy = assign(fused, employee_ids, task_ids, constraints, "greedy")
    differing = [
        task_ids[t]
        for t, (a, b) in enumerate(zip(exact.picks, greedy.picks, strict=True))
        if set(a) != set(b)
    ]
    return {
        "exact": exact.objective,
        "greedy": greedy.objective,
        "differing_tasks": differing,
        "n_differing": len(differing),
    }
