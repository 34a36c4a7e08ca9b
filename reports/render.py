"""``REPORT.md`` of a grid (or single run) directory, from stored results only.

Reads ``grid.json`` (provenance and job statuses) and each job's ``results.json``; writes
``REPORT.md``, ``results.csv`` and ``plots/*.png``. Nothing is recomputed, so
``teamform report DIR`` re-renders a finished grid in seconds. Numbers only: no employee text.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from bench.core.errors import ConfigError
from bench.core.io import atomic_write_text
from bench.metrics import significance
from reports import plots
from reports.examples import examples_section
from reports.grid import Job, load_grid, per_task_vector, table_rows
from reports.seeds import merge_seeds
from reports.study import KEY_METRIC, REPORT_METRICS, SECTIONS
from reports.tables import LEGEND, MARK_R, MARK_T, Row, markdown_table
from reports.team import team_section


def best_baseline(jobs: list[Job]) -> tuple[str, dict[str, Any]] | None:
    """The baseline system with the highest mean key metric *on the scored tasks*.

    Chosen by looking at the tasks it is scored on, so it is never the reference of marks and
    deltas; the report shows it as an extra, labelled row.
    """
    candidates = [
        (name, system)
        for job in jobs
        if job.status == "ok" and job.study.get("baseline")
        for name, system in job.results.get("systems", {}).items()
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[1]["mean"].get(KEY_METRIC, -math.inf))


def declared_reference(provenance: dict[str, Any], override: str | None = None) -> tuple[str | None, str]:
    """``(reference pattern, where it was declared)``: ``override`` (``teamform report DIR
    report.reference=...``), else what the grid declared before it ran (``report.reference``), else
    the base model's concatenated profile."""
    if override:
        return override, "report.reference given to `teamform report`"
    if provenance.get("reference"):
        return str(provenance["reference"]), "report.reference, declared before the grid ran"
    if provenance.get("model"):
        return f"{provenance['model']}/concat", "default: the base model's concatenated profile"
    return None, "none declared"


def find_reference(jobs: list[Job], pattern: str | None) -> tuple[str, dict[str, Any]] | None:
    """The one system whose name matches ``pattern`` (a name or glob), from a baseline job first.

    Raises:
        ConfigError: the pattern matches several system names.
    """
    if not pattern:
        return None
    ok = [j for j in jobs if j.status == "ok"]
    ordered = [j for j in ok if j.study.get("baseline")] + [j for j in ok if not j.study.get("baseline")]
    found: dict[str, dict[str, Any]] = {}
    for job in ordered:
        for name, system in job.results.get("systems", {}).items():
            if fnmatch.fnmatchcase(name, pattern):
                found.setdefault(name, system)
    if len(found) > 1:
        names = sorted(found)
        raise ConfigError(
            f"report.reference={pattern!r} matches {len(names)} systems ({', '.join(names[:6])}"
            f"{', ...' if len(names) > 6 else ''}); give one system name"
        )
    return next(iter(found.items()), None)


def task_split(jobs: list[Job]) -> tuple[list[str], int | None]:
    """``(dev task ids, number of test tasks)`` the jobs' evaluations used (``eval.dev_split``)."""
    for job in jobs:
        split = job.results.get("split")
        if job.status == "ok" and split is not None:
            return list(split.get("dev", [])), split.get("test")
    return [], None


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


BEST_ON_TASKS = "best baseline, chosen on these evaluation tasks"


def short_override(override: str) -> str:
    """``key=value`` with a float value in 3 significant digits, for row labels.

    Example:
        >>> short_override("train.optimizer.lr=0.00027389695952347"), short_override("train.lora.r=8")
        ('train.optimizer.lr=0.000274', 'train.lora.r=8')
    """
    key, sep, value = override.partition("=")
    try:
        number = float(value)
    except ValueError:
        return override
    return f"{key}{sep}{number:.3g}" if "." in value or "e" in value.lower() else override


def section_table(
    jobs: list[Job],
    section: str,
    reference: tuple[str, dict[str, Any]] | None,
    tasks: list[str],
    best: tuple[str, dict[str, Any]] | None = None,
) -> tuple[str, list[dict[str, Any]]]:
    """One section's table; ``best`` (the best baseline on these tasks) is added as a labelled row."""
    entries = table_rows(jobs, section)
    if not entries:
        return "", []
    rows, systems, records = [], [], []
    ref_system = reference[1] if reference else None
    entries_with_ref: list[tuple[Job | None, str, dict[str, Any], str | None]] = [
        (job, name, system, None) for job, name, system in entries
    ]
    if ref_system is not None and all(s is not ref_system for _, _, s in entries):
        entries_with_ref.insert(0, (None, reference[0], ref_system, None))
    if best is not None and best[1] is not ref_system:
        at = next((i for i, e in enumerate(entries_with_ref) if e[2] is best[1]), None)
        if at is None:  # not a row of this table: add it
            entries_with_ref.insert(
                1 if ref_system is not None else 0, (None, best[0], best[1], BEST_ON_TASKS)
            )
        else:  # a row of this table: say so on it
            entries_with_ref[at] = (*entries_with_ref[at][:3], BEST_ON_TASKS)
    for job, name, system, note in entries_with_ref:
        job_label = (
            None
            if job is None
            else (job.study.get("table_labels") or {}).get(section) or job.study.get("label")
        )
        variant = [] if job is None else [short_override(o) for o in job.study.get("variant") or []]
        if variant:  # an override that tells this job apart from its experiment's others
            job_label = f"{job_label or job.experiment} [{', '.join(variant)}]"
        label = f"{job_label}: {name}" if job_label else name
        if note:
            label = f"{label} ({note})"
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
                stds={m: system["std"][m] for m in REPORT_METRICS if m in system.get("std", {})},
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


def table1_block(jobs: list[Job]) -> str:
    """Every encoder of paper Table 1 with its status: scored (with its concat nDCG@5), or why not."""
    job = next((j for j in jobs if j.status == "ok" and j.results.get("extras", {}).get("table1")), None)
    if job is None:
        return ""
    systems = job.results.get("systems", {})
    lines = [
        f"Encoders of paper Table 1 (job {job.id}): every `model=` preset, scored or listed with its reason.",
        "",
        f"| encoder | preset | status | {KEY_METRIC} (concat) | reason |",
        "|---|---|---|---:|---|",
    ]
    for row in job.results["extras"]["table1"]:
        value = systems.get(f"{row['encoder']}/concat", {}).get("mean", {}).get(KEY_METRIC)
        cell = "–" if value is None else f"{value:.3f}"
        preset = f"`model={row['preset']}`" if row.get("preset") else "–"
        reason = str(row.get("reason") or "").replace("|", "/")
        lines.append(f"| {row['encoder']} | {preset} | {row['status']} | {cell} | {reason} |")
    return "\n".join(lines)


def negative_levels_block(jobs: list[Job]) -> str:
    """Negative Matters (2025), Table 4: mean cosine of task and negative per level (base encoder)."""
    rows = next(
        (
            j.results["extras"]["negative_levels"]
            for j in jobs
            if j.results.get("extras", {}).get("negative_levels")
        ),
        None,
    )
    if not rows:
        return ""
    names = {"positive": "ideal curriculum (positive)", 4: "4 (hardest)", 1: "1 (easiest)"}
    lines = [
        "Similarity of the synthetic negatives to their task under the base encoder "
        "(Negative Matters (2025), Table 4):",
        "",
        "| level | mean cosine | pairs |",
        "|---|---:|---:|",
    ]
    lines += [f"| {names.get(r['level'], r['level'])} | {r['mean_cosine']:.3f} | {r['n']} |" for r in rows]
    return "\n".join(lines)


def search_trials(jobs: list[Job]) -> list[Job]:
    """The finished trials of a hyper-parameter search (``sweep=search``), by job number."""
    return [j for j in jobs if j.status == "ok" and j.results.get("extras", {}).get("search")]


def best_trial(jobs: list[Job]) -> Job | None:
    """The trial with the highest objective on the dev tasks (what Optuna maximised), or ``None``."""
    trials = [j for j in search_trials(jobs) if not math.isnan(j.results["extras"]["search"]["value"])]
    return max(trials, key=lambda j: j.results["extras"]["search"]["value"], default=None)


def search_block(jobs: list[Job]) -> str:
    """Every trial of the search: its settings, its objective on dev, its test score; the best on dev.

    The objective is read from the dev tasks only; the test columns are the trial's rows of the
    table below, never used to choose.
    """
    trials = search_trials(jobs)
    if not trials:
        return ""
    first = trials[0].results["extras"]["search"]
    objective, split = first["objective"], first["dev_split"]
    view = objective.split("/", 1)[0]
    keys = list(first["settings"])
    lines = [
        f"Objective: `{objective}` of the fine-tuned model on the {first['dev_tasks']} dev tasks of "
        f"`eval.dev_split` (fraction {split['fraction']}, seed {split['seed']}), which no table of this "
        f"report scores; Hydra's Optuna sweeper maximised it over {len(trials)} finished trials. "
        f"The test column is the trial's `{view}` row below, never used to choose.",
        "",
        "| job | "
        + " | ".join(f"`{k}`" for k in keys)
        + f" | dev `{objective}` | test {view} {KEY_METRIC} |",
        "|---|" + "---:|" * (len(keys) + 2),
    ]
    best = best_trial(jobs)
    for job in trials:
        search = job.results["extras"]["search"]
        test = next(
            (
                s["mean"].get(KEY_METRIC)
                for name, s in job.results.get("systems", {}).items()
                if "+" in name.split("/", 1)[0] and name.endswith(f"/{view}")
            ),
            None,
        )
        cells = [f"{search['settings'][k]:.3g}" for k in keys]
        mark = " **(best on dev)**" if job is best else ""
        test_cell = "–" if test is None else f"{test:.3f}"
        lines.append(f"| {job.id}{mark} | " + " | ".join(cells) + f" | {search['value']:.3f} | {test_cell} |")
    if best is not None:
        chosen = best.results["extras"]["search"]
        settings = " ".join(f"{k}={v:.3g}" for k, v in chosen["settings"].items())
        lines += [
            "",
            f"Best trial on dev: job {best.id}, `{settings}` (dev `{objective}` = {chosen['value']:.3f}).",
        ]
    return "\n".join(lines)


def embedding_caption(jobs: list[Job]) -> str:
    """The caption of the embedding picture: its method, and the separation number before and after."""
    data = next(
        (j.results["extras"]["embedding"] for j in jobs if j.results.get("extras", {}).get("embedding")), None
    )
    if not data:
        return ""
    method = data.get("method", "PCA")
    what = "test-task queries (crosses) and employees" if data.get("kinds") else "employees"
    text = f"{method} of the {what}' embeddings under the base and the fine-tuned model."
    sep = data.get("separation") or {}
    if "before" in sep and "after" in sep:
        against = data.get("separation_against", "judged non-relevant")
        text += (
            f" Mean cosine of judged relevant pairs minus {against} pairs: "
            f"{sep['before']:+.3f} before, {sep['after']:+.3f} after fine-tuning."
        )
    return text


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
    base = next((j.study["influence_base"] for j in jobs if j.study.get("influence_base")), None)
    empty = "none (D only)" if base and base.get("pairs") else "none (base model)"
    combos += [f"| {' + '.join(sorted(r[0])) or empty} | {r[2]:.3f} |" for r in runs]
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
    if base and base.get("pairs"):
        lines += [
            "",
            f"Every run also trains on the base set D (as Springer et al. (2025) did): the {base['pairs']} "
            f"judged relevant pairs of the {base['tasks']} dev tasks, never scored. Negatives alone add no "
            "synthetic positive to contrast with, so that run is D alone, as is `none`.",
        ]
    else:
        lines += [
            "",
            "No base set D: it is the judged pairs of the dev tasks, and eval.dev_split.fraction is 0 "
            "(profile=paper holds out 30%). Negatives alone add no positive pairs to train on, so that run "
            "is the base model, as is `none`.",
        ]
    return "\n".join(lines)


def render_report(directory: str | Path, show_examples: bool = False, reference: str | None = None) -> Path:
    """Write ``REPORT.md``, ``results.csv`` and ``plots/`` for a grid or run directory.

    Args:
        directory: a grid or run directory.
        show_examples: add employee text (personal data) for a few tasks.
        reference: the reference system (name or glob) of every Δ and significance mark; default:
            what the grid declared (``report.reference``) before it ran.

    Raises:
        ConfigError: ``reference`` matches several systems.
    """

    directory = Path(directory)
    grid, jobs = load_grid(directory)
    jobs, seeds = merge_seeds(jobs)
    provenance = grid.get("provenance", {})
    ok = [j for j in jobs if j.status == "ok"]
    dev_ids, n_test = task_split(jobs)
    tasks = sorted(
        {t for j in ok for s in j.results.get("systems", {}).values() for t in s.get("per_task", {})}
        - set(dev_ids)
    )
    declared, source = declared_reference(provenance, reference)
    reference = find_reference(jobs, declared)
    best = best_baseline(jobs)
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
        out += [f"Reference ({source}): `{reference[0]}`.", ""]
    elif declared:
        out += [f"Reference `{declared}` (declared) is not among the scored systems: no Δ or marks.", ""]
    if seeds:
        out += [
            f"Seeds: each row is the mean ± standard deviation over {len(seeds)} seeds ({', '.join(seeds)}); "
            "Δ, confidence intervals and significance use per-task values averaged over the seeds.",
            "",
        ]
    n_test = len(tasks) if n_test is None else n_test
    out += [
        f"dev: {len(dev_ids)} tasks, test: {n_test} tasks (eval.dev_split; only test tasks are scored).",
        "",
    ]
    if best is not None and (reference is None or best[1] is not reference[1]):
        out += [
            f"Best baseline on these evaluation tasks by {KEY_METRIC}: `{best[0]}` (chosen on the very "
            "tasks it is scored on; marked so in the RQ1 table, never the reference).",
            "",
        ]
    out += [LEGEND, ""]
    records: list[dict[str, Any]] = []
    images = plots.render_all(directory, jobs, tasks, reference)
    for section in SECTIONS:
        table, rows = (
            section_table(jobs, section.id, reference, tasks, best if section.id == "rq1" else None)
            if section.id not in ("influence", "rq7")
            else ("", [])
        )
        if section.id == "influence":
            table = influence_block(jobs, tasks)
        if section.id == "rq7":
            table = embedding_caption(jobs)
        skipped = [
            j
            for j in jobs
            if j.status == "skipped" and j.results.get("study", {}).get("section") == section.id
        ]
        image = images.get(section.id)
        if not table and not image and not skipped:
            continue
        out += [f"## {section.title}", "", f"*{section.question}* ({section.source})", ""]
        if section.id == "search" and search_block(jobs):  # the trials and their dev objective first
            out += [search_block(jobs), ""]
        if table:
            out += [table, ""]
        if section.id == "rq1" and table1_block(jobs):
            out += [table1_block(jobs), ""]
        if section.id == "negatives" and negative_levels_block(jobs):
            out += [negative_levels_block(jobs), ""]
        notes = [
            n for j in ok for n in j.results.get("extras", {}).get("report_notes", {}).get(section.id, [])
        ]
        out += [f"Not run here: {note}." for note in notes] + ([""] if notes else [])
        if section.id == "pooling":
            notes = [n for j in ok for n in j.results.get("extras", {}).get("pooling_notes", [])]
            out += [f"Not run here: {note}." for note in notes] + ([""] if notes else [])
        if image:
            out += [f"![{section.title}]({image.relative_to(directory).as_posix()})", ""]
        records += rows
    not_ok = [j for j in jobs if j.status != "ok"]
    if not_ok:
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
    out += team_section(directory, jobs, reference, exclude=set(dev_ids))
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
