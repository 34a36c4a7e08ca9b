"""``teamform grid``: the whole study as one Hydra multirun, then ``REPORT.md``.

Composes ``conf/grid.yaml``: the study's config with the ``sweep=study`` group (multirun mode,
the experiments to sweep, the report callback) and ``profile=default`` (sizes). Each job is an
experiment overlay (``conf/experiment/``); the launcher is Hydra's (``profile=default``: two jobs
at once, the longest first, ``conf/hydra/launcher/two_jobs.yaml``; ``hydra/launcher=basic`` one
after another, ``joblib`` or ``submitit_local`` / ``submitit_slurm`` for parallel and cluster
runs). Jobs share synthetic data, adapters and embeddings through the content-addressed caches,
so a repeated grid reuses all of it. When the sweep ends, :class:`bench.run.grid.GridReportCallback`
writes ``grid.json``, ``results.jsonl``, ``REPORT.md`` and prints the grid directory.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig

from bench.app.command import hydra_command


def run(cfg: DictConfig) -> float | tuple[dict, dict]:
    """One job of the grid (Hydra calls this once per experiment of the sweep).

    A trial of the hyper-parameter search (``sweep=search``) returns what Hydra's Optuna sweeper
    maximises: its objective on the dev tasks (NaN when the trial did not finish, which Optuna
    records as a failed trial).
    """
    # deferred: torch and the model stack take seconds to import, and the pre-flight does not need them
    from bench.run.job import run_grid_job

    record = run_grid_job(cfg)
    if cfg.job.kind == "search":
        return float(record.get("objective", {}).get("value", math.nan))
    return record, {}


def main(argv: list[str]) -> None:
    hydra_command("grid", run, argv, config_name="grid")
