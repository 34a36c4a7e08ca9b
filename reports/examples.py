"""Opt-in examples of employee text for ``REPORT.md`` (``report.show_examples=true``).

Off by default: a report holds ids and numbers only. When the user opts in, the report shows, for
the first :data:`N_TASKS` judged tasks, the :data:`TOP` employees the best system ranked first,
with one aspect of their text (``role`` when the data has it) cut at :data:`MAX_CHARS`
characters. Rankings come from the job's ``runs/*.trec`` file and texts from the dataset its
saved ``config.yaml`` names, so nothing is recomputed; the report says at its top that it holds
personal data (:func:`reports.render.render_report`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from bench.core.errors import TeamformError
from bench.data import load_dataset
from bench.metrics.trec import system_filename
from reports.study import KEY_METRIC

N_TASKS = 2
TOP = 3
MAX_CHARS = 300


def job_dirs(directory: Path) -> dict[str, Path]:
    """``job id -> run directory`` of a grid (``grid.json``) or of a single run (``"."``)."""
    grid_file = directory / "grid.json"
    if not grid_file.exists():
        return {".": directory}
    jobs = json.loads(grid_file.read_text()).get("jobs", [])
    return {str(j["job"]): directory / str(j.get("dir", j["job"])) for j in jobs}


def best_system(jobs: list[Any]) -> tuple[Any, str, dict[str, Any]] | None:
    """``(job, system name, system results)`` with the highest mean key metric over finished jobs."""
    candidates = [
        (job, name, system)
        for job in jobs
        if job.status == "ok"
        for name, system in job.results.get("systems", {}).items()
    ]
    scored = [c for c in candidates if not math.isnan(float(c[2]["mean"].get(KEY_METRIC, math.nan)))]
    return max(scored, key=lambda c: c[2]["mean"][KEY_METRIC]) if scored else None


def ranked(run_file: Path) -> dict[str, list[str]]:
    """``task_id -> [employee_id, ...]`` in the rank order the TREC file states."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for line in run_file.read_text().splitlines():
        task, _, employee, rank, _, _ = line.split()
        rows.setdefault(task, []).append((int(rank), employee))
    return {task: [e for _, e in sorted(items)] for task, items in rows.items()}


def cell(text: str) -> str:
    """One markdown table cell: one line, pipes escaped, cut at :data:`MAX_CHARS`."""
    flat = " ".join(text.split()).replace("|", "\\|")
    return flat if len(flat) <= MAX_CHARS else flat[: MAX_CHARS - 1].rstrip() + "…"


def load_run_dataset(run_dir: Path) -> Any:
    """The dataset a run evaluated, rebuilt from the ``data`` section of its ``config.yaml``."""
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    return load_dataset(OmegaConf.create(config["data"]))


def examples_section(directory: Path, jobs: list[Any]) -> list[str]:
    """Markdown lines of the examples section (a note instead when they cannot be shown)."""
    title = ["## Examples (employee text, opted in)", ""]
    best = best_system(jobs)
    if best is None:
        return [*title, "No finished system to show examples of.", ""]
    job, name, system = best
    run_dir = job_dirs(directory).get(job.id, directory / job.id)
    run_file = run_dir / "runs" / system_filename(name)
    try:
        dataset = load_run_dataset(run_dir)
        order = ranked(run_file)
    except (OSError, KeyError, ValueError, TeamformError) as error:
        reason = " ".join(str(error).split())[:200]
        return [
            *title,
            f"Examples unavailable: the dataset or run file of `{name}` could not be read ({reason}).",
            "",
        ]
    if dataset.hash != job.results.get("dataset", {}).get("hash", dataset.hash):
        return [
            *title,
            f"Examples unavailable: the dataset changed since `{name}` was evaluated (hash {dataset.hash}).",
            "",
        ]
    aspect = "role" if "role" in dataset.aspects else dataset.aspects[0]
    employees = {e.id: e for e in dataset.employees}
    tasks = dataset.task_by_id
    lines = [
        *title,
        f"Top {TOP} employees of the best system, `{name}` (by {KEY_METRIC}), for {N_TASKS} judged tasks: "
        f"their `{aspect}` text, cut at {MAX_CHARS} characters.",
        "",
    ]
    for task_id in [t for t in sorted(system.get("per_task", {})) if t in order and t in tasks][:N_TASKS]:
        grades = dataset.qrels.get(task_id, {})
        lines += [
            f"**{task_id}**: {cell(tasks[task_id].query)}",
            "",
            f"| rank | employee | grade | {aspect} |",
            "|---:|---|---:|---|",
        ]
        for rank, employee_id in enumerate(order[task_id][:TOP], 1):
            text = employees[employee_id].aspects.get(aspect, "") if employee_id in employees else ""
            grade = grades.get(employee_id, "-")
            lines.append(f"| {rank} | {employee_id} | {grade} | {cell(text)} |")
        lines.append("")
    return lines
