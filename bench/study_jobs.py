"""The kinds of grid job (``job.kind``): what each experiment of the study runs.

Every kind takes ``(cfg, run directory, dataset)``, gets its synthetic data and adapters through
the content-addressed caches (so the grid shares them across jobs) and ends in
:func:`bench.job.evaluate_job`. The one mapping of kinds is :data:`KINDS`.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from bench.dataset import Dataset
from bench.job import JobSkipped, eval_settings, evaluate_job
from bench.scorers import adapter_tag, build_model

log = logging.getLogger(__name__)
SUBSETS = ("labels", "curriculums", "negatives")


def artifact_for(cfg: DictConfig, dataset: Dataset) -> Any:
    from bench.job import check_synthetic_leakage
    from data_synth.artifact import load_artifact
    from data_synth.pipeline import ensure_artifact

    path = cfg.train.get("synth_dir") or ensure_artifact(cfg, dataset=dataset)
    artifact = load_artifact(path)
    check_synthetic_leakage(cfg, dataset, artifact)
    return artifact


def train_settings(cfg: DictConfig, **changes: Any) -> Any:
    """``TrainSettings`` of ``cfg.train`` with ``changes`` applied to the config first."""
    from hydra.utils import instantiate

    train = OmegaConf.to_container(cfg.train, resolve=True)
    for key, value in changes.items():
        node = train
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return instantiate(OmegaConf.create(train), _convert_="all")


def train(cfg: DictConfig, dataset: Dataset, artifact: Any, settings: Any) -> Any:
    from hydra.utils import instantiate

    from bench.training import train_adapter_set

    return train_adapter_set(dataset, artifact, lambda: instantiate(cfg.model, _convert_="all"), settings, cfg.paths.cache_dir)


def train_extras(adapters: Any, artifact: Any) -> dict[str, Any]:
    """Numbers about the synthetic data and the training, for the report."""
    curve = []
    for name in adapters.metadata.get("adapters", {}):
        result_file = adapters.adapters[name] / "result.json"
        if result_file.exists():
            import json

            result = json.loads(result_file.read_text())
            curve = curve or result.get("loss_curve", [])
    return {
        "adapter_set": adapters.dir.name,
        "adapter_reused": adapters.reused,
        "synth": {k: artifact.manifest.get(k) for k in ("backend", "model", "dataset_hash", "complete", "tokens", "cost_usd")},
        "train_curve": curve,
    }


def embedding_picture(cfg: DictConfig, dataset: Dataset, adapters: Any, tag: str) -> dict[str, Any]:
    """2-D PCA of the employees' concatenated profiles, base model vs fine-tuned (thesis Fig. 5.1).

    Coordinates come from the embedding cache (both models embedded these texts during the
    evaluation); groups are the area of each employee's strongest hidden skill when the dataset
    has a ground truth, else 0. Numbers only.
    """
    from sklearn.decomposition import PCA

    texts = list(dataset.concat_texts().values())
    before = build_model(cfg.model, cfg.paths.cache_dir).encode_documents(texts)
    after = build_model(cfg.model, cfg.paths.cache_dir, adapters.adapters.get("global"), f"{cfg.model.name}+{tag}").encode_documents(texts)
    groups = [0] * len(texts)
    truth = dataset.truth
    if truth is not None and truth.employee_skills and truth.skills:
        areas = sorted({s.get("area", "") for s in truth.skills.values()})
        index = {a: i for i, a in enumerate(areas)}
        groups = []
        for e in dataset.employee_ids:
            skills = truth.employee_skills.get(e, {})
            top = max(skills, key=skills.get) if skills else None
            groups.append(index.get(truth.skills.get(top, {}).get("area", ""), 0) if top else 0)
    points = {}
    for key, vectors in (("before", before), ("after", after)):
        xy = PCA(n_components=2, random_state=0).fit_transform(np.asarray(vectors, dtype=np.float64))
        points[key] = np.round(xy, 4).tolist()
    return {"method": "PCA", **points, "groups": groups}


def run_eval(cfg: DictConfig, out: Path, dataset: Dataset) -> None:
    evaluate_job(cfg, out, job_type="eval", dataset=dataset)


def run_train_eval(cfg: DictConfig, out: Path, dataset: Dataset) -> None:
    artifact = artifact_for(cfg, dataset)
    settings = train_settings(cfg)
    adapters = train(cfg, dataset, artifact, settings)
    tag = adapter_tag(settings)
    evaluate_job(cfg, out, adapters, "train_eval", dataset, extras=train_extras(adapters, artifact), tag=tag)
    if cfg.job.get("embedding_picture") and adapters.mode == "global":
        import json

        results_file = out / "results.json"
        results = json.loads(results_file.read_text())
        results["extras"]["embedding"] = embedding_picture(cfg, dataset, adapters, tag)
        from bench.io import write_json

        write_json(results_file, results)


def run_ablation(cfg: DictConfig, out: Path, dataset: Dataset) -> None:
    """Leave-one-aspect-out: a global adapter without each aspect, aggregated without it."""
    from bench.evaluation import evaluate_specs
    from bench.job import keep_systems, log_results, start_tracker, write_results
    from bench.scorers import build_scorers

    artifact = artifact_for(cfg, dataset)
    systems: dict[str, Any] = {}
    for dropped in [None, *dataset.aspects]:
        settings = train_settings(cfg, drop_aspects=[] if dropped is None else [dropped])
        adapters = train(cfg, dataset, artifact, settings)
        kept = [a for a in dataset.aspects if a != dropped]
        specs, _ = build_scorers(["adapter"], cfg.model, cfg.paths.cache_dir, adapters, adapter_tag(settings))
        results = evaluate_specs(dataset, specs, eval_settings(cfg, aspects=kept), out, aspects=kept)
        systems.update(results["systems"])
    results = {"systems": systems, "skipped": []}
    keep_systems(results, cfg.eval.get("systems"))
    tracker = start_tracker(cfg, out, "ablation")
    try:
        log_results(tracker, write_results(out, cfg, dataset, results))
    finally:
        tracker.finish()


def run_influence(cfg: DictConfig, out: Path, dataset: Dataset) -> None:
    """All 2^3 subsets of {labels, curriculums, negatives} (``001_...`` section 3).

    A subset without positive pairs (the empty one, and negatives alone: hard negatives need a
    task's positives to contrast with) trains nothing: its model is the base model.
    """
    import json

    from bench.evaluation import evaluate_specs
    from bench.io import write_json
    from bench.job import keep_systems, log_results, start_tracker, write_results
    from bench.scorers import build_scorers

    artifact = artifact_for(cfg, dataset)
    systems: dict[str, Any] = {}
    runs = []
    for size in range(len(SUBSETS) + 1):
        for subset in itertools.combinations(SUBSETS, size):
            has = set(subset)
            if has & {"labels", "curriculums"}:
                mix = "full" if {"labels", "curriculums"} <= has else next(iter(has & {"labels", "curriculums"}))
                settings = train_settings(cfg, mix=mix, **{"negatives.enabled": "negatives" in has, "negatives.schedule": "curriculum"})
                adapters = train(cfg, dataset, artifact, settings)
                specs, _ = build_scorers(["adapter"], cfg.model, cfg.paths.cache_dir, adapters, adapter_tag(settings))
            else:
                specs, _ = build_scorers(["base"], cfg.model, cfg.paths.cache_dir)
            results = evaluate_specs(dataset, specs, eval_settings(cfg), out)
            name = "+".join(subset) or "none"
            for system, values in results["systems"].items():
                systems[f"{name}/{system.split('/', 1)[1]}"] = values
            runs.append({"subsets": list(subset), "system": f"{name}/condorcet"})
    results = {"systems": systems, "skipped": [], "influence_runs": runs}
    keep_systems(results, cfg.eval.get("systems"))
    tracker = start_tracker(cfg, out, "influence")
    try:
        log_results(tracker, write_results(out, cfg, dataset, results))
    finally:
        tracker.finish()
    # one job holds all runs: expose each as a pseudo-job for the report's influence table
    results_file = out / "results.json"
    stored = json.loads(results_file.read_text())
    stored["study"]["influence_runs"] = runs
    write_json(results_file, stored)


def run_eureka(cfg: DictConfig, out: Path, dataset: Dataset) -> None:
    """Labels from the base prompt vs the Eureka-optimised prompt, each training a labels-only adapter."""
    backend = OmegaConf.select(cfg, "llm.backend._target_", default="")
    if backend.endswith("SimulatedBackend"):
        raise JobSkipped("Eureka needs a real LLM backend (llm=openai, openai_compatible or local): the simulated backend's labels do not depend on the prompt, so there is nothing to optimise")
    from bench.evaluation import evaluate_specs
    from bench.job import log_results, start_tracker, write_results
    from bench.scorers import build_scorers

    systems: dict[str, Any] = {}
    history = []
    for prompt in ("base", "eureka"):
        variant = OmegaConf.merge(cfg, {"synth": {"label_prompt": prompt}})
        artifact = artifact_for(variant, dataset)
        history = history or artifact.eureka
        settings = train_settings(cfg, mix="labels")
        adapters = train(variant, dataset, artifact, settings)
        specs, _ = build_scorers(["adapter"], cfg.model, cfg.paths.cache_dir, adapters, f"{adapter_tag(settings)}-{prompt}-prompt")
        systems.update(evaluate_specs(dataset, specs, eval_settings(cfg), out)["systems"])
    tracker = start_tracker(cfg, out, "eureka")
    try:
        log_results(tracker, write_results(out, cfg, dataset, {"systems": systems, "skipped": []}, {"eureka": history}))
    finally:
        tracker.finish()


KINDS = {"eval": run_eval, "train_eval": run_train_eval, "ablation": run_ablation, "influence": run_influence, "eureka": run_eureka}
