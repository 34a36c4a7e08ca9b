"""One job of a grid: run its kind by the recipe, and always leave a ``job.json`` behind.

A grid job never raises: it records ``ok``, ``skipped`` or ``failed`` with a one-line reason in
``job.json`` so the other jobs go on and the report lists it.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

from omegaconf import DictConfig, OmegaConf

from bench.core.errors import ConfigError
from bench.core.io import atomic_write_text, write_json
from bench.core.runstore import run_dir
from bench.run.kinds import KINDS
from bench.run.preflight import job_problem
from bench.run.recipe import JobSkipped, load_and_guard, run_job
from bench.run.record import experiment_of, job_overrides, jobs_at_once, threads_per_job, write_results

log = logging.getLogger(__name__)


def parallel_threads() -> int | None:
    """CPU threads for a job the launcher runs beside others (``hydra.launcher.n_jobs`` > 1 or negative, the
    joblib launcher of ``profile=default``): the cores divided among the jobs; ``None`` otherwise."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    n_jobs = jobs_at_once(OmegaConf.select(HydraConfig.get(), "launcher.n_jobs", default=None))
    return None if n_jobs is None else threads_per_job(n_jobs)


def run_grid_job(cfg: DictConfig) -> dict[str, Any]:
    """Run one grid job by ``job.kind``; always write ``job.json`` (status, reason, wall-clock)."""
    out = run_dir()
    started = time.time()
    threads = parallel_threads()
    if threads is not None:  # jobs side by side: each its share of the cores, no oversubscription
        import torch  # deferred: as the job kinds

        torch.set_num_threads(threads)
    overrides = job_overrides()
    record: dict[str, Any] = {
        "job": out.name,
        "experiment": experiment_of(overrides),
        "overrides": overrides,
        "kind": cfg.job.kind,
        **({"threads": threads} if threads is not None else {}),
    }
    try:
        if cfg.job.kind not in KINDS:
            raise ConfigError(f"unknown job.kind {cfg.job.kind!r}; choose one of: {', '.join(KINDS)}")
        dataset = load_and_guard(cfg)
        record.update(dataset=dataset.name, dataset_hash=dataset.hash)
        reason = job_problem(cfg, dataset)
        if reason:
            raise JobSkipped(reason)
        results = run_job(cfg, out, KINDS[cfg.job.kind], job_type=cfg.job.kind, dataset=dataset)
        record["status"] = "ok"
        if "search" in results.get("extras", {}):  # a search trial: what the sweeper maximises (dev tasks)
            search = results["extras"]["search"]
            record["objective"] = {k: search[k] for k in ("objective", "value", "dev_tasks")}
    except JobSkipped as skipped:
        record.update(status="skipped", reason=str(skipped))
        write_results(out, cfg, None, {"systems": {}, "skipped_reason": str(skipped)})
    except Exception as error:  # noqa: BLE001 - a failed job must not stop the grid
        record.update(status="failed", reason=f"{type(error).__name__}: {' '.join(str(error).split())}"[:500])
        atomic_write_text(out / "error.log", traceback.format_exc())
        log.error("job %s failed: %s (traceback in %s)", out.name, record["reason"], out / "error.log")
    record["wall_s"] = round(time.time() - started, 1)
    write_json(out / "job.json", record)
    return record
