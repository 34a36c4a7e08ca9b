"""The grid's bookkeeping: one ``job.json`` per job, then ``grid.json``, ``results.jsonl`` and the
report when the multirun ends (a Hydra callback, so it works with every launcher)."""

from __future__ import annotations

import json
import logging
import platform
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from bench.io import atomic_write_text, write_json
from bench.runstore import code_version

log = logging.getLogger(__name__)


def collect_jobs(grid_dir: Path) -> list[dict[str, Any]]:
    """Every job's ``job.json`` in the sweep directory, by job number."""
    jobs = []
    for path in sorted(grid_dir.glob("*/job.json"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 1 << 30):
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
                jobs.append({"job": str(number), "dir": str(number), "status": "failed", "reason": "the job ended without writing job.json (killed or crashed)"})
    lines = []
    for job in jobs:
        results_file = grid_dir / job["dir"] / "results.json"
        if job.get("status") != "ok" or not results_file.exists():
            continue
        results = json.loads(results_file.read_text())
        for system, values in results.get("systems", {}).items():
            lines.append({"job": job["job"], "experiment": job.get("experiment"), "overrides": job.get("overrides", []), "system": system, "mean": values["mean"]})
    atomic_write_text(grid_dir / "results.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    grid = {"provenance": provenance, "jobs": jobs}
    write_json(grid_dir / "grid.json", grid)
    return grid


def backend_name(config: DictConfig) -> str:
    """``simulated``, ``openai``, ``local``... from the ``llm=`` config's backend class and model."""
    target = str(OmegaConf.select(config, "llm.backend._target_", default="") or "")
    name = target.rsplit(".", 1)[-1].replace("Backend", "").replace("LocalServer", "local").lower() or "?"
    if name == "openai" and OmegaConf.select(config, "llm.backend.base_url", default=None):
        name = "openai_compatible"
    model = OmegaConf.select(config, "llm.backend.model", default=None)
    return f"{name} ({model})" if model and name != "simulated" else name


def provenance(config: DictConfig, started: float, dataset_name: str = "", dataset_hash: str = "") -> dict[str, Any]:
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
    return {
        "code_version": code_version(),
        "dataset": dataset_name or OmegaConf.select(config, "data._target_", default="").rsplit(".", 1)[-1],
        "dataset_hash": dataset_hash,
        "model": OmegaConf.select(config, "model.name", default="?"),
        "llm_backend": backend_name(config),
        "profile": OmegaConf.select(config, "profile_name", default=None),
        "seeds": OmegaConf.select(config, "seed", default=None),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_clock_s": round(time.time() - started, 1),
        "device": device,
    }


def check_before_start(config: DictConfig) -> None:
    """Refuse to start a grid whose training data overlaps its evaluation tasks.

    Checks the dataset's seed tasks and, with ``train.synth_dir``, the given synthetic artifact's
    tasks; ``job.allow_leakage=true`` turns the check off. Artifacts the grid synthesises itself
    are checked by each job before training (:func:`bench.study_jobs.artifact_for`).

    Raises:
        bench.errors.ConfigError: naming the overlap (ids only) and the override.
    """
    from bench.data import load_dataset
    from bench.job import check_leakage, check_synthetic_leakage

    if OmegaConf.select(config, "job.allow_leakage", default=False):
        return
    dataset = load_dataset(config.data)
    check_leakage(config, dataset)
    synth_dir = OmegaConf.select(config, "train.synth_dir", default=None)
    if synth_dir:
        from data_synth.artifact import load_artifact

        check_synthetic_leakage(config, dataset, load_artifact(synth_dir))


class GridReportCallback(Callback):
    """At the end of a multirun: grid.json, results.jsonl, REPORT.md; print the grid directory."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from bench.cli import fail
        from bench.errors import TeamformError

        self.started = time.time()
        try:
            check_before_start(config)
        except TeamformError as error:  # Hydra turns callback exceptions into warnings: exit here
            fail(error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from reports.render import render_report

        grid_dir = Path(config.hydra.sweep.dir)
        jobs = collect_jobs(grid_dir)
        first = next((j for j in jobs if j.get("dataset_hash")), {})
        prov = provenance(config, getattr(self, "started", time.time()), first.get("dataset", ""), first.get("dataset_hash", ""))
        write_grid(grid_dir, prov)
        report = render_report(grid_dir, show_examples=bool(OmegaConf.select(config, "report.show_examples", default=False)))
        failed = [j for j in jobs if j.get("status") != "ok"]
        log.info("grid finished: %d jobs, %d not ok; report: %s", len(jobs), len(failed), report)
        print(grid_dir, flush=True)
