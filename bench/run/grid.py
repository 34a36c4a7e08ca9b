"""The grid's bookkeeping: one ``job.json`` per job, then ``grid.json``, ``results.jsonl`` and the
report when the multirun ends (a Hydra callback, so it works with every launcher)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from bench.core.errors import TeamformError, exit_with, one_line
from bench.core.io import atomic_write_text, write_json
from bench.data import load_dataset
from bench.run.guards import check_grid_leakage
from bench.run.preflight import GridPlan, plan_grid
from bench.run.record import grid_provenance
from bench.run.tracking import track_report

log = logging.getLogger(__name__)


def collect_jobs(grid_dir: Path) -> list[dict[str, Any]]:
    """Every job's ``job.json`` in the sweep directory, by job number."""
    jobs = []
    for path in sorted(
        grid_dir.glob("*/job.json"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 1 << 30
    ):
        spec = json.loads(path.read_text())
        spec["dir"] = path.parent.name
        jobs.append(spec)
    return jobs


def write_grid(grid_dir: Path, provenance: dict[str, Any], expected: int | None = None) -> dict[str, Any]:
    """Write ``grid.json`` and ``results.jsonl`` from the jobs' files; list jobs that never reported."""
    jobs = collect_jobs(grid_dir)
    if expected is not None:
        seen = {j["dir"] for j in jobs}
        for number in range(expected):
            if str(number) not in seen:
                jobs.append(
                    {
                        "job": str(number),
                        "dir": str(number),
                        "status": "failed",
                        "reason": "the job ended without writing job.json (killed or crashed)",
                    }
                )
    lines = []
    for job in jobs:
        results_file = grid_dir / job["dir"] / "results.json"
        if job.get("status") != "ok" or not results_file.exists():
            continue
        results = json.loads(results_file.read_text())
        for system, values in results.get("systems", {}).items():
            lines.append(
                {
                    "job": job["job"],
                    "experiment": job.get("experiment"),
                    "overrides": job.get("overrides", []),
                    "system": system,
                    "mean": values["mean"],
                }
            )
    atomic_write_text(grid_dir / "results.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    grid = {"provenance": provenance, "jobs": jobs}
    write_json(grid_dir / "grid.json", grid)
    return grid


def check_before_start(config: DictConfig) -> GridPlan:
    """Before the first job: leakage guards, and a pre-flight of every experiment.

    Prints one ``left out: experiment=NAME: reason`` line per experiment that cannot run (its job
    is recorded as skipped with that reason, and the report lists it).

    Raises:
        bench.core.errors.ConfigError: training data overlaps evaluation tasks, or no fine-tuning
            experiment can run with the configured parts.
    """
    dataset = load_dataset(config.data)
    check_grid_leakage(config, dataset)
    plan = plan_grid(config, dataset)
    for experiment, reason in plan.left_out.items():
        print(f"left out: experiment={experiment}: {reason}", flush=True)
    log.info(
        "reference of the report (report.reference): %s; dev split: %s of the judged tasks",
        OmegaConf.select(config, "report.reference", default=None),
        OmegaConf.select(config, "eval.dev_split.fraction", default=0.0),
    )
    return plan


def best_search_trial(jobs: list[dict[str, Any]]) -> str | None:
    """The line naming the best trial of a hyper-parameter search and its dev data, or ``None``."""
    trials = [j for j in jobs if j.get("status") == "ok" and j.get("objective")]
    trials = [j for j in trials if j["objective"]["value"] == j["objective"]["value"]]  # not NaN
    if not trials:
        return None
    best = max(trials, key=lambda j: j["objective"]["value"])
    settings = " ".join(o for o in best.get("overrides", []) if o.startswith("train."))
    objective = best["objective"]
    return (
        f"search: best of {len(trials)} trials is job {best['job']} ({settings}): {objective['objective']} = "
        f"{objective['value']:.4f} on the {objective['dev_tasks']} dev tasks of eval.dev_split (never scored)"
    )


class GridReportCallback(Callback):
    """At the end of a multirun: grid.json, results.jsonl, REPORT.md; print the grid directory."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()
        try:
            check_before_start(config)
        except TeamformError as error:  # Hydra turns callback exceptions into warnings: exit here
            exit_with(error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from reports.render import render_report  # deferred: matplotlib loads only when the report is drawn

        grid_dir = Path(config.hydra.sweep.dir)
        jobs = collect_jobs(grid_dir)
        first = next((j for j in jobs if j.get("dataset_hash")), {})
        prov = grid_provenance(
            config,
            getattr(self, "started", time.time()),
            first.get("dataset", ""),
            first.get("dataset_hash", ""),
        )
        write_grid(grid_dir, prov)
        try:
            report = render_report(
                grid_dir, show_examples=bool(OmegaConf.select(config, "report.show_examples", default=False))
            )
        except TeamformError as error:  # report.reference matching several systems, say: say so
            exit_with(error)
        try:
            track_report(config, grid_dir)
        except Exception as error:  # noqa: BLE001 - tracking must not sink a finished grid's report
            log.warning("the report run was not logged: %s", one_line(error))
        failed = [j for j in jobs if j.get("status") != "ok"]
        log.info("grid finished: %d jobs, %d not ok; report: %s", len(jobs), len(failed), report)
        best = best_search_trial(jobs)
        if best is not None:
            print(best, flush=True)
        print(grid_dir, flush=True)
