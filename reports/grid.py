"""A finished grid or run directory as the report reads it: its jobs and their results."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.errors import DataError


@dataclass
class Job:
    """One job of a grid: its status and, when it finished, its results."""

    id: str
    experiment: str
    status: str
    overrides: list[str] = field(default_factory=list)
    reason: str = ""
    wall_s: float | None = None
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def study(self) -> dict[str, Any]:
        return self.results.get("study", {})


def load_grid(directory: Path) -> tuple[dict[str, Any], list[Job]]:
    """Read ``grid.json`` and the jobs' ``results.json`` (a run directory counts as a one-job grid)."""
    directory = Path(directory)
    grid_file = directory / "grid.json"
    if grid_file.exists():
        grid = json.loads(grid_file.read_text())
    elif (directory / "results.json").exists():
        grid = {"provenance": {}, "jobs": [{"job": ".", "experiment": "run", "status": "ok", "dir": "."}]}
    else:
        raise DataError(
            directory,
            "holds neither grid.json nor results.json",
            fix="pass a directory written by `teamform grid` or `teamform eval`",
        )
    jobs = []
    for spec in grid["jobs"]:
        job = Job(
            id=str(spec["job"]),
            experiment=spec.get("experiment", ""),
            status=spec.get("status", "unknown"),
            overrides=spec.get("overrides", []),
            reason=spec.get("reason", ""),
            wall_s=spec.get("wall_s"),
        )
        results_file = directory / spec.get("dir", job.id) / "results.json"
        if job.status == "ok" and results_file.exists():
            job.results = json.loads(results_file.read_text())
        elif job.status == "ok":
            job.status, job.reason = "failed", f"no results.json in {results_file.parent.name}"
        jobs.append(job)
    if len(jobs) == 1 and not grid.get("provenance") and jobs[0].results:
        grid["provenance"] = jobs[0].results.get("provenance", {})
    return grid, jobs


def per_task_vector(system: dict[str, Any], metric: str, tasks: list[str]) -> np.ndarray:
    per_task = system.get("per_task", {})
    return np.array([per_task.get(t, {}).get(metric, np.nan) for t in tasks], dtype=float)


def table_rows(jobs: list[Job], section: str) -> list[tuple[Job, str, dict[str, Any]]]:
    """The (job, system name, system results) pairs an experiment contributes to ``section``.

    An experiment's ``study.tables[section]`` lists glob patterns: one with a ``/`` matches the
    whole system name (``minilm/*``), one without matches the view (``condorcet``, ``*``); a
    pattern starting with ``!`` excludes what it matches.
    """
    out = []
    for job in jobs:
        views = job.study.get("tables", {}).get(section)
        if job.status != "ok" or views is None:
            continue
        for name, system in job.results.get("systems", {}).items():
            view = name.split("/", 1)[1] if "/" in name else name

            def hit(pattern: str, name: str = name, view: str = view) -> bool:
                return fnmatch.fnmatchcase(name if "/" in pattern else view, pattern)

            if any(hit(p) for p in views if not p.startswith("!")) and not any(
                hit(p[1:]) for p in views if p.startswith("!")
            ):
                out.append((job, name, system))
    return out
