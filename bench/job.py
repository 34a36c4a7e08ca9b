"""One job of the study: synthesise (cached), train (cached), evaluate, record.

:func:`evaluate_job` is ``teamform eval``; :func:`run_grid_job` is what each job of
``teamform grid`` runs. A grid job never raises: it records ``ok``, ``skipped`` or ``failed``
with a one-line reason in ``job.json`` so the other jobs go on and the report lists it.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import time
import traceback
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from bench.data import load_dataset
from bench.dataset import Dataset
from bench.errors import ConfigError, TeamformError
from bench.evaluation import EvalSettings, evaluate_specs, print_table
from bench.grid import backend_name
from bench.io import atomic_write_text, write_json
from bench.redact import plain_config
from bench.runstore import code_version, run_dir
from bench.scorers import build_scorers

log = logging.getLogger(__name__)


class JobSkipped(TeamformError):
    """The job cannot run in this configuration (the reason goes to the report)."""


def eval_settings(cfg: DictConfig, **overrides: Any) -> EvalSettings:
    e = cfg.eval
    values = {
        "metrics": list(e.metrics), "aspects": None if e.aspects is None else list(e.aspects),
        "aggregators": None if e.aggregators is None else list(e.aggregators), "views": list(e.views),
        "weighted": list(e.weighted), "unjudged": e.unjudged, "top_k": e.top_k, "index": e.index,
        "trec_depth": int(e.trec_depth), "seed": int(e.seed),
    }
    values.update(overrides)
    return EvalSettings(**values)


def check_leakage(cfg: DictConfig, dataset: Dataset) -> None:
    """Refuse to go on when seed training tasks overlap evaluation tasks (``job.allow_leakage``)."""
    from bench.data.leakage import leakage_report

    counts = leakage_report(dataset).counts()
    overlap = sum(v for k, v in counts.items() if k.startswith("train_eval"))
    if overlap and not cfg.job.get("allow_leakage", False):
        raise ConfigError(f"{overlap} training seed task(s) duplicate evaluation tasks (see `teamform data validate`); remove them, or set job.allow_leakage=true to go on anyway")


def check_synthetic_leakage(cfg: DictConfig, dataset: Dataset, artifact: Any) -> None:
    """Refuse to train on synthetic tasks that copy evaluation tasks (``job.allow_leakage``).

    Uses the synthesis leakage guard (equal after normalisation, or word Jaccard at or above
    ``synth.leakage_threshold``), so an artifact made for this dataset passes, and one made for
    another dataset or edited by hand (``train.synth_dir``) is checked the same way. Ids only.
    """
    from data_synth.stages.tasks import LeakageGuard

    if cfg.job.get("allow_leakage", False):
        return
    guard = LeakageGuard(dataset.tasks, float(OmegaConf.select(cfg, "synth.leakage_threshold", default=0.8)))
    leaked = [t.id for t in artifact.tasks if guard.leaks(t)]
    if leaked:
        shown = ", ".join(map(repr, leaked[:5])) + (" ..." if len(leaked) > 5 else "")
        raise ConfigError(
            f"{len(leaked)} synthetic training task(s) of {artifact.path} duplicate evaluation tasks ({shown}); "
            "synthesise the data again for this dataset, or set job.allow_leakage=true to go on anyway"
        )


def start_tracker(cfg: DictConfig, out: Path, job_type: str) -> Any:
    from hydra.utils import instantiate

    tracker = instantiate(cfg.logger)
    group = out.parent.name if OmegaConf.select(cfg, "hydra.mode", default=None) else None
    try:
        from hydra.core.hydra_config import HydraConfig

        hc = HydraConfig.get()
        group = Path(hc.sweep.dir).name if str(hc.mode) == "RunMode.MULTIRUN" else None
    except ValueError:
        pass
    tracker.start(out, plain_config(cfg), group=group, job_type=job_type, name=f"{job_type}-{out.name}")
    return tracker


def keep_systems(results: dict[str, Any], patterns: list[str] | None) -> None:
    if patterns:
        results["systems"] = {k: v for k, v in results["systems"].items() if any(fnmatch.fnmatch(k, p) for p in patterns)}


def log_results(tracker: Any, results: dict[str, Any]) -> None:
    """``eval/<system>/<metric>`` scalars and a systems x metrics table (numbers only)."""
    flat = {f"eval/{s}/{m}": v for s, r in results["systems"].items() for m, v in r["mean"].items()}
    tracker.log_metrics(flat)
    metrics = sorted({m for r in results["systems"].values() for m in r["mean"]})
    rows = [[s, *[r["mean"].get(m) for m in metrics]] for s, r in results["systems"].items()]
    tracker.log_table("eval/systems", ["system", *metrics], rows)


def write_results(out: Path, cfg: DictConfig, dataset: Dataset, results: dict[str, Any], extras: dict[str, Any] | None = None) -> dict[str, Any]:
    results = {
        "dataset": {"name": dataset.name, "hash": dataset.hash},
        "provenance": {"code_version": code_version(), "dataset": dataset.name, "dataset_hash": dataset.hash,
                       "model": cfg.model.name, "llm_backend": backend_name(cfg),
                       "seeds": cfg.seed, "date": time.strftime("%Y-%m-%d %H:%M:%S")},
        "study": OmegaConf.to_container(cfg.study, resolve=True),
        **results,
        "extras": extras or {},
    }
    atomic_write_text(out / "config.yaml", yaml.safe_dump(plain_config(cfg), sort_keys=False))
    write_json(out / "results.json", results)  # last: a run directory with results.json is finished
    return results


def evaluate_job(cfg: DictConfig, out: Path, adapters: Any = None, job_type: str = "eval", dataset: Dataset | None = None,
                 extras: dict[str, Any] | None = None, scorer_names: list[str] | None = None, tag: str = "lora",
                 settings: EvalSettings | None = None, extra_specs: list[Any] | None = None) -> dict[str, Any]:
    """Evaluate the configured encoders (and ``adapters``) on the dataset; write the run directory."""
    dataset = dataset or load_dataset(cfg.data)
    tracker = start_tracker(cfg, out, job_type)
    try:
        specs, skipped = build_scorers(scorer_names or list(cfg.eval.encoders), cfg.model, cfg.paths.cache_dir, adapters, tag)
        results = evaluate_specs(dataset, specs + list(extra_specs or []), settings or eval_settings(cfg), out)
        results["skipped"] = skipped
        keep_systems(results, cfg.eval.get("systems"))
        results = write_results(out, cfg, dataset, results, extras)
        log_results(tracker, results)
    finally:
        tracker.finish()
    print(print_table(results["systems"]))
    for item in results.get("skipped", []):
        print(f"skipped {item['system']}: {item['reason']}")
    return results


def run_grid_job(cfg: DictConfig) -> dict[str, Any]:
    """Run one grid job by ``job.kind``; always write ``job.json`` (status, reason, wall-clock)."""
    from bench.study_jobs import KINDS

    out = run_dir()
    started = time.time()
    overrides = _overrides()
    record: dict[str, Any] = {"job": out.name, "experiment": _experiment(overrides), "overrides": overrides, "kind": cfg.job.kind}
    try:
        if cfg.job.kind not in KINDS:
            raise ConfigError(f"unknown job.kind {cfg.job.kind!r}; choose one of: {', '.join(KINDS)}")
        dataset = load_dataset(cfg.data)
        record.update(dataset=dataset.name, dataset_hash=dataset.hash)
        check_leakage(cfg, dataset)
        KINDS[cfg.job.kind](cfg, out, dataset)
        record["status"] = "ok"
    except JobSkipped as skipped:
        record.update(status="skipped", reason=str(skipped))
        write_json(out / "results.json", {"study": OmegaConf.to_container(cfg.study, resolve=True), "systems": {}, "skipped_reason": str(skipped)})
    except Exception as error:  # noqa: BLE001 - a failed job must not stop the grid
        record.update(status="failed", reason=f"{type(error).__name__}: {' '.join(str(error).split())}"[:500])
        atomic_write_text(out / "error.log", traceback.format_exc())
        log.error("job %s failed: %s (traceback in %s)", out.name, record["reason"], out / "error.log")
    record["wall_s"] = round(time.time() - started, 1)
    write_json(out / "job.json", record)
    return record


def _overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except ValueError:
        return []


def _experiment(overrides: list[str]) -> str:
    return next((o.split("=", 1)[1] for o in overrides if o.startswith("experiment=")), "")


def settings_replace(settings: Any, **changes: Any) -> Any:
    """A copy of a ``TrainSettings`` (or nested settings) with fields replaced."""
    return dataclasses.replace(settings, **changes)


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
