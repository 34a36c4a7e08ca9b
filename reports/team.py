"""The report's team section: the benchmark's systems used to staff projects (greedy vs exact).

For projects made of the evaluation tasks (grouped by their project), each system staffs every
project from its run file (``runs/*.trec``, the top ``eval.trec_depth`` per task): **greedy**
gives each task its top candidate (the paper's top-1 per task, a person may get several tasks);
**exact** gives each task one person and each person at most one task of the project, maximising
the total score (:func:`bench.team.assign.assign`). The table shows the share of tasks whose
person is judged relevant under each, and the cost of the constraint (greedy minus exact).
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.errors import TeamformError
from bench.metrics.trec import read_run, system_filename
from bench.team.assign import InfeasibleTeam, TeamConstraints, assign
from reports.examples import job_dirs, load_run_dataset
from reports.grid import Job, table_rows

# Tasks per project when the data's projects have one evaluation task each.
BLOCK = 4


def staff(run: dict[str, dict[str, float]], tasks: list[str], solver: str) -> dict[str, str]:
    """``task -> employee`` for one project's tasks from a run (``task -> employee -> score``)."""
    candidates = sorted({e for t in tasks for e in run.get(t, {})})
    if not candidates:
        return {}
    scores = np.array(
        [[run.get(t, {}).get(e, math.nan) for e in candidates] for t in tasks]
    )  # (n_tasks, n_cand)
    try:
        picks = assign(scores, candidates, tasks, TeamConstraints(), solver).picks
    except InfeasibleTeam:  # fewer candidates in the run files than tasks in the project
        return {}
    return {t: candidates[p[0]] for t, p in zip(tasks, picks, strict=True) if p}


def team_rows(
    run: dict[str, dict[str, float]], projects: dict[str, list[str]], qrels: dict[str, dict[str, int]]
) -> dict[str, float]:
    """Share of tasks staffed with a relevant person, greedy and exact, over every project."""
    hits = {"greedy": 0, "exact": 0}
    n = 0
    for tasks in projects.values():
        for solver in hits:
            picked = staff(run, tasks, solver)
            hits[solver] += sum(qrels.get(t, {}).get(e, 0) > 0 for t, e in picked.items())
        n += len(tasks)
    return {k: v / n for k, v in hits.items()} if n else {}


def team_section(
    directory: Path,
    jobs: list[Job],
    reference: tuple[str, dict[str, Any]] | None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[str]:
    """Markdown lines of the team section (nothing when the grid has no judged tasks to staff).

    ``exclude``: task ids never staffed here (the dev tasks of ``eval.dev_split``).
    """
    rows = [(j, name) for j, name, _ in table_rows(jobs, "rq1")]
    if reference is not None:
        owner = next((j for j in jobs if reference[0] in j.results.get("systems", {})), None)
        if owner is not None:
            rows.insert(0, (owner, reference[0]))
    if not rows:
        return []
    dirs = job_dirs(directory)
    try:
        dataset = load_run_dataset(dirs.get(rows[0][0].id, directory / rows[0][0].id))
    except (TeamformError, OSError, KeyError):
        return []
    judged = [t for t in dataset.tasks if dataset.qrels.get(t.id) and t.id not in exclude]
    projects: dict[str, list[str]] = defaultdict(list)
    for task in judged:
        projects[task.project].append(task.id)
    projects = {p: ts for p, ts in projects.items() if len(ts) > 1}
    grouped = "grouped by their project"
    if len(projects) < 2:  # one task per project (the demo): staff blocks of consecutive evaluation tasks
        ids = [t.id for t in judged]
        projects = {
            f"block {i // BLOCK + 1}": ids[i : i + BLOCK] for i in range(0, len(ids) - BLOCK + 1, BLOCK)
        }
        grouped = f"in blocks of {BLOCK} in task order, as the data's projects have one evaluation task each"
    if not projects:
        return []
    lines = [
        "## Teams: staffing the evaluation projects",
        "",
        f"{len(projects)} projects of the evaluation tasks ({sum(map(len, projects.values()))} tasks, "
        f"{grouped}). Greedy gives "
        "each task its top candidate (a person may take several tasks of a project); exact gives each task "
        "one person and each person at most one task, maximising the total score. Cells: share of tasks "
        "whose person is judged relevant.",
        "",
        "| system | greedy | exact | cost of the constraint |",
        "|---|---|---|---|",
    ]
    seen = set()
    for job, name in rows:
        if name in seen:
            continue
        seen.add(name)
        path = dirs.get(job.id, directory / job.id) / "runs" / system_filename(name)
        if not path.exists():
            continue
        shares = team_rows(read_run(path), projects, dataset.qrels)
        if shares:
            mark = " (ref.)" if reference and name == reference[0] else ""
            lines.append(
                f"| `{name}`{mark} | {shares['greedy']:.3f} | {shares['exact']:.3f} | "
                f"{shares['greedy'] - shares['exact']:+.3f} |"
            )
    return [*lines, ""] if len(lines) > 6 else []
