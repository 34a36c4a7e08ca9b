"""``REPORT.md`` of a grid (or single run) directory, from stored results only.

Reads ``grid.json`` (provenance and job statuses) and each job's ``results.json``; writes
``REPORT.md``, ``results.csv`` and ``plots/*.png``. Nothing is recomputed, so
``teamform report DIR`` re-renders a finished grid in seconds. Numbers only: no employee text.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.io import atomic_write_text
from bench.metrics import significance
from reports import plots
from reports.examples import examples_section
from reports.grid import Job, load_grid, per_task_vector, table_rows
from reports.study import KEY_METRIC, REPORT_METRICS, SECTIONS
from reports.tables import LEGEND, MARK_R, MARK_T, Row, markdown_table
from reports.team import team_section


def best_baseline(jobs: list[Job]) -> tuple[str, dict[str, Any]] | None:
    """The baseline system with the highest mean key metric (the reference of every table)."""
    candidates = [
        (name, system)
        for job in jobs
        if job.status == "ok" and job.study.get("baseline")
        for name, system in job.results.get("systems", {}).items()
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[1]["mean"].get(KEY_METRIC, -math.inf))


def significance_marks(
    rows: list[Row], systems: list[dict[str, Any]], reference: dict[str, Any], tasks: list[str]
) -> None:
    """Fill ``row.marks`` with Holm-corrected t-test / randomisation marks against ``reference``."""
    for metric in REPORT_METRICS:
        ref = per_task_vector(reference, metric, tasks)
        t_p, r_p, index = [], [], []
        for i, system in enumerate(systems):
            if system is reference:
                continue
            vec = per_task_vector(system, metric, tasks)
            keep = ~(np.isnan(vec) | np.isnan(ref))
            if keep.sum() < 3:
                continue
            t_p.append(significance.paired_t_test(vec[keep], ref[keep]))
            r_p.append(significance.randomisation_test(vec[keep], ref[keep], seed=0))
            index.append(i)
        if not index:
            continue
        t_adj, r_adj = significance.holm(np.array(t_p)), significance.holm(np.array(r_p))
        for i, tp, rp in zip(index, t_adj, r_adj, strict=True):
            rows[i].marks[metric] = (MARK_T if tp < 0.05 else "") + (MARK_R if rp < 0.05 else "")


def section_table(
    jobs: list[Job], section: str, reference: tuple[str, dict[str, Any]] | None, tasks: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    entries = table_rows(jobs, section)
    if not entries:
        return "", []
    rows, systems, records = [], [], []
    ref_system = reference[1] if reference else None
    entries_with_ref = list(entries)
    if ref_system is not None and all(s is not ref_system for _, _, s in entries):
        entries_with_ref.insert(0, (None, reference[0], ref_system))
    for job, name, system in entries_with_ref:
        label = name if job is None or not job.study.get("label") else f"{job.study['label']}: {name}"
        key = system["mean"].get(KEY_METRIC)
        vec = per_task_vector(system, KEY_METRIC, tasks)
        vec = vec[~np.isnan(vec)]
        ci = significance.bootstrap_ci(vec, seed=0) if len(vec) >= 3 else None
        delta = None
        if ref_system is not None and key is not None and ref_system["mean"].get(KEY_METRIC):
            delta = key / ref_system["mean"][KEY_METRIC] - 1.0
        rows.append(
            Row(
                label,
                {m: system["mean"].get(m, float("nan")) for m in REPORT_METRICS},
                ci=ci,
                delta=delta,
                is_reference=system is ref_system,
            )
        )
        systems.append(system)
        records.append(
            {
                "section": section,
                "job": None if job is None else job.id,
                "system": name,
                "label": label,
                **{m: system["mean"].get(m) for m in REPORT_METRICS},
            }
        )
    if ref_system is not None:
        significance_marks(rows, systems, ref_system, tasks)
    return markdown_table(rows, REPORT_METRICS, KEY_METRIC, with_delta=ref_system is not None), records


def provenance_block(provenance: dict[str, Any]) -> str:
    keys = {
        "code_version": "code version",
        "dataset": "dataset",
        "dataset_hash": "dataset hash",
        "model": "model",
        "llm_backend": "LLM backend",
        "profile": "profile",
        "seeds": "seed",
        "date": "date",
        "wall_clock_s": "wall-clock",
        "device": "device",
    }
    lines = ["| provenance | |", "|---|---|"]
    for key, title in keys.items():
        if key in provenance:
            value = provenance[key]
            if key == "wall_clock_s":
                value = f"{float(value):.0f} s"
            lines.append(f"| {title} | {value} |")
    return "\n".join(lines)


def influence_block(jobs: list[Job], tasks: list[str]) -> str:
    """Influence of each synthetic subset (Springer et al. (2025), section 3) over the 2^3 subset jobs."""
    runs = []
    for job in jobs:
        for spec in job.study.get("influence_runs", []) if job.status == "ok" else []:
            system = job.results.get("systems", {}).get(spec["system"])
            if system is not None:
                runs.append(
                    (
                        set(spec["subsets"]),
                        per_task_vector(system, KEY_METRIC, tasks),
                        system["mean"].get(KEY_METRIC),
                    )
                )
    if len(runs) < 2:
        return ""
    combos = ["| training data | " + f"{KEY_METRIC} |", "|---|---:|"]
    combos += [f"| {' + '.join(sorted(r[0])) or 'none (base model)'} | {r[2]:.3f} |" for r in runs]
    lines = [
        "\n".join(combos),
        "",
        f"| subset | runs with / without | influence on {KEY_METRIC} | p (two-sided t) |",
        "|---|---:|---:|---:|",
    ]
    for subset in ("labels", "curriculums", "negatives"):
        with_ = [r for r in runs if subset in r[0]]
        without = [r for r in runs if subset not in r[0]]
        if not with_ or not without:
            continue
        influence = float(np.mean([r[2] for r in with_]) - np.mean([r[2] for r in without]))
        diff = np.nanmean([r[1] for r in with_], axis=0) - np.nanmean([r[1] for r in without], axis=0)
        diff = diff[~np.isnan(diff)]
        p = significance.paired_t_test(diff, np.zeros_like(diff)) if len(diff) >= 3 else float("nan")
        lines.append(f"| {subset} | {len(with_)} / {len(without)} | {influence:+.4f} | {p:.3g} |")
    lines += ["", "Negatives alone add no positive pairs to train on, so that run is the base model."]
    return "\n".join(lines)


def render_report(directory: str | Path, show_examples: bool = False) -> Path:
    """Write ``REPORT.md``, ``results.csv`` and ``plots/`` for a grid or run directory."""

    directory = Path(directory)
    grid, jobs = load_grid(directory)
    provenance = grid.get("provenance", {})
    ok = [j for j in jobs if j.status == "ok"]
    tasks = sorted(
        {t for j in ok for s in j.results.get("systems", {}).values() for t in s.get("per_task", {})}
    )
    reference = best_baseline(jobs)
    out = ["# teamform-bench report", ""]
    if show_examples:
        out += [
            (
                "> **This report shows employee text** (`report.show_examples=true`). "
                "It holds personal data: do not share it."
            ),
            "",
        ]
    out += [provenance_block(provenance), ""]
    if provenance.get("dataset") == "onet":
        out += [
            (
                "Data: O*NET 29.3 Database by the U.S. Department of Labor, "
                "Employment and Training Administration, National Center for O*NET Development, "
                "used under CC BY 4.0."
            ),
            "",
        ]
    if reference:
        out += [f"Reference (best baseline by {KEY_METRIC}): `{reference[0]}`.", ""]
    out += [LEGEND, ""]
    records: list[dict[str, Any]] = []
    images = plots.render_all(directory, jobs, tasks, reference)
    for section in SECTIONS:
        table, rows = (
            section_table(jobs, section.id, reference, tasks)
            if section.id not in ("influence", "rq7")
            else ("", [])
        )
        if section.id == "influence":
            table = influence_block(jobs, tasks)
        skipped = [
            j
            for j in jobs
            if j.status == "skipped" and j.results.get("study", {}).get("section") == section.id
        ]
        image = images.get(section.id)
        if not table and not image and not skipped:
            continue
        out += [f"## {section.title}", "", f"*{section.question}* ({section.source})", ""]
        if table:
            out += [table, ""]
        if image:
            out += [f"![{section.title}]({image.relative_to(directory).as_posix()})", ""]
        records += rows
    missing = {s.id for s in SECTIONS} - {r["section"] for r in records} - {"influence", "rq7"}
    not_ok = [j for j in jobs if j.status != "ok"]
    if not_ok or missing:
        out += [
            "## Failed and skipped jobs",
            "",
            "| job | experiment | status | reason |",
            "|---|---|---|---|",
        ]
        out += [f"| {j.id} | {j.experiment} | {j.status} | {j.reason.replace('|', '/')} |" for j in not_ok]
        out.append("")
    skipped_systems = [(j, s) for j in ok for s in j.results.get("skipped", [])]
    if (
        skipped_systems
    ):  # systems a job could not score (an API unreachable, weights missing, a raising aggregator)
        out += ["## Skipped systems", "", "| job | experiment | system | reason |", "|---|---|---|---|"]
        for job, item in skipped_systems:
            system = item["system"] + (f" ({item['metric']})" if item.get("metric") else "")
            out.append(f"| {job.id} | {job.experiment} | `{system}` | {item['reason'].replace('|', '/')} |")
        out.append("")
    out += team_section(directory, jobs, reference)
    for key in ("main", "eureka", "training"):
        if key in images:
            out += [f"![{key}]({images[key].relative_to(directory).as_posix()})", ""]
    if show_examples:  # personal data, only when asked (the banner at the top says so)
        out += examples_section(directory, jobs)
    out += ["The same numbers are in `results.csv`; per-task values are in each job's `results.json`.", ""]
    if records:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        atomic_write_text(directory / "results.csv", buffer.getvalue())
    path = directory / "REPORT.md"
    atomic_write_text(path, "\n".join(out))
    return path
