"""The record step: what every number is traced to, and the one writer of ``results.json``.

A run directory is finished when ``results.json`` exists: :func:`write_results` writes
``config.yaml`` (resolved, secrets removed) first and ``results.json`` last, once per job.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from bench.core.dataset import Dataset
from bench.core.io import atomic_write_text, write_json
from bench.core.redact import plain_config
from bench.core.runstore import code_version


def backend_name(config: DictConfig) -> str:
    """``simulated``, ``openai``, ``local``... from the ``llm=`` config's backend class and model."""
    target = str(OmegaConf.select(config, "llm.backend._target_", default="") or "")
    name = target.rsplit(".", 1)[-1].replace("Backend", "").replace("LocalServer", "local").lower() or "?"
    if name == "openai" and OmegaConf.select(config, "llm.backend.base_url", default=None):
        name = "openai_compatible"
    model = OmegaConf.select(config, "llm.backend.model", default=None)
    return f"{name} ({model})" if model and name != "simulated" else name


def job_provenance(cfg: DictConfig, dataset: Dataset) -> dict[str, Any]:
    """Code version, dataset name and hash, model, LLM backend, seed and date of one job."""
    return {
        "code_version": code_version(),
        "dataset": dataset.name,
        "dataset_hash": dataset.hash,
        "model": cfg.model.name,
        "llm_backend": backend_name(cfg),
        "seeds": cfg.seed,
        "reference": OmegaConf.select(cfg, "report.reference", default=None),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def jobs_at_once(n_jobs: object) -> int | None:
    """How many grid jobs ``hydra.launcher.n_jobs`` runs at once, as joblib reads it (-1: one per
    core, -2: all cores but one); ``None`` for one at a time or a launcher without ``n_jobs``."""
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs in (0, 1):
        return None
    at_once = n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return at_once if at_once > 1 else None


def threads_per_job(n_jobs: int) -> int:
    """The CPU threads of each of ``n_jobs`` grid jobs running at once: the cores divided among them."""
    return max(1, (os.cpu_count() or 1) // n_jobs)


def grid_provenance(
    config: DictConfig, started: float, dataset_name: str = "", dataset_hash: str = ""
) -> dict[str, Any]:
    """The grid-level provenance of ``grid.json`` (adds profile, wall-clock and device)."""
    import torch  # deferred: only the end of a grid needs the device name

    n_jobs = jobs_at_once(OmegaConf.select(config, "hydra.launcher.n_jobs", default=None))
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    elif n_jobs is not None:  # the joblib launcher of profile=default
        each = threads_per_job(n_jobs)
        device = f"cpu ({platform.machine()}, {n_jobs} jobs at once, {each} thread{'s' * (each > 1)} each)"
    else:
        device = f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
    return {
        "code_version": code_version(),
        "dataset": dataset_name or OmegaConf.select(config, "data._target_", default="").rsplit(".", 1)[-1],
        "dataset_hash": dataset_hash,
        "model": OmegaConf.select(config, "model.name", default="?"),
        "llm_backend": backend_name(config),
        "profile": OmegaConf.select(config, "profile_name", default=None),
        "seeds": OmegaConf.select(config, "seed", default=None),
        "reference": OmegaConf.select(config, "report.reference", default=None),
        "dev_split": OmegaConf.to_container(config.eval.dev_split, resolve=True)
        if "eval" in config
        else None,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "wall_clock_s": round(time.time() - started, 1),
        "device": device,
    }


def study_block(cfg: DictConfig, additions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job's ``study`` config (where its systems go in the report), with what the job added."""
    study = OmegaConf.to_container(cfg.study, resolve=True)
    study.update(additions or {})
    return study


def write_results(
    out: Path, cfg: DictConfig, dataset: Dataset | None, body: dict[str, Any]
) -> dict[str, Any]:
    """Write ``config.yaml`` and then ``results.json`` (the one place that writes it).

    Args:
        out: the run directory.
        cfg: the job's composed config.
        dataset: the evaluated dataset (``None`` for a job skipped before loading it).
        body: ``systems``, ``skipped``, ``scorers``, ``notes``, ``extras``, ``study`` and, for a
            skipped job, ``skipped_reason``.

    Returns:
        What was written.
    """
    results: dict[str, Any] = {}
    if dataset is not None:
        results["dataset"] = {"name": dataset.name, "hash": dataset.hash}
        results["provenance"] = job_provenance(cfg, dataset)
    results.update(body)
    results.setdefault("study", study_block(cfg))
    results.setdefault("extras", {})
    atomic_write_text(out / "config.yaml", yaml.safe_dump(plain_config(cfg), sort_keys=False))
    write_json(out / "results.json", results)  # last: a run directory with results.json is finished
    return results


def job_overrides() -> list[str]:
    """The overrides of the running Hydra job (``experiment=...`` and the sweep's others)."""
    try:
        return list(HydraConfig.get().overrides.task)
    except ValueError:
        return []


def experiment_of(overrides: list[str]) -> str:
    return next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), "")
