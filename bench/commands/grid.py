"""``teamform grid``: the whole study as one Hydra multirun, then ``REPORT.md``.

Each job is an experiment overlay (``conf/experiment/``) swept by the profile
(``conf/profile/{quick,default,paper}.yaml``); the launcher is Hydra's (sequential by default,
``hydra/launcher=joblib`` or ``submitit_local`` / ``submitit_slurm`` for parallel and cluster
runs). Jobs share synthetic data, adapters and embeddings through the content-addressed caches,
so a repeated grid reuses all of it. When the sweep ends, :class:`bench.grid.GridReportCallback`
writes ``grid.json``, ``results.jsonl``, ``REPORT.md`` and prints the grid directory.
"""

from __future__ import annotations

from omegaconf import DictConfig

from bench.cli import hydra_command
from bench.job import run_grid_job


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """One job of the grid (Hydra calls this once per experiment of the sweep)."""
    record = run_grid_job(cfg)
    return record, {}


def main(argv: list[str]) -> None:
    args = list(argv)
    if not any(a.startswith("profile=") for a in args):
        args.insert(0, "profile=default")
    if "--multirun" not in args and "-m" not in args and not any(a.startswith("--cfg") or a == "--help" for a in args):
        args.insert(0, "--multirun")
    hydra_command("grid", run, args)
