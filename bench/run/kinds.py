"""The kinds of grid job (``job.kind``): how each experiment composes the recipe's steps.

Every kind takes a :class:`bench.run.recipe.Job` (dataset loaded and guarded), gets synthetic
data and adapters through the content-addressed caches (so a grid shares them across jobs) and
evaluates; :func:`bench.run.recipe.run_job` records and tracks what it evaluated. The one mapping
of kinds is :data:`KINDS`.
"""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from sklearn.decomposition import PCA

from bench.core.dataset import Dataset
from bench.run.adapters import AdapterSet
from bench.run.preflight import eureka_problem
from bench.run.recipe import Job, JobSkipped, Kind, Trained
from bench.run.scorers import build_model
from data_synth.artifact import SynthArtifact

log = logging.getLogger(__name__)
# The synthetic-data subsets of the influence study (Springer et al., 2025, section 3).
SUBSETS = ("labels", "curriculums", "negatives")


def train_extras(trained: Trained, artifact: SynthArtifact) -> dict[str, Any]:
    """Numbers about the synthetic data and the training, for the report."""
    adapters = trained.adapters
    curve: list[Any] = []
    for name in adapters.metadata.get("adapters", {}):
        result_file = adapters.adapters[name] / "result.json"
        if result_file.exists() and not curve:
            curve = json.loads(result_file.read_text()).get("loss_curve", [])
    return {
        "adapter_set": adapters.dir.name,
        "adapter_reused": adapters.reused,
        "synth": {
            k: artifact.manifest.get(k)
            for k in ("backend", "model", "dataset_hash", "complete", "tokens", "cost_usd")
        },
        "train_curve": curve,
    }


def embedding_picture(job: Job, trained: Trained) -> dict[str, Any]:
    """2-D PCA of the employees' concatenated profiles, base model vs fine-tuned (thesis Fig. 5.1).

    Coordinates come from the embedding cache (both models embedded these texts during the
    evaluation); groups are the area of each employee's strongest hidden skill when the dataset
    has a ground truth, else 0. Numbers only.
    """
    cfg, dataset = job.cfg, job.dataset
    texts = list(dataset.concat_texts().values())
    before = build_model(cfg.model, cfg.paths.cache_dir).encode_documents(texts)
    after = build_model(
        cfg.model,
        cfg.paths.cache_dir,
        trained.adapters.adapters.get("global"),
        f"{cfg.model.name}+{trained.tag}",
    ).encode_documents(texts)
    points = {}
    for key, vectors in (("before", before), ("after", after)):
        xy = PCA(n_components=2, random_state=0).fit_transform(np.asarray(vectors, dtype=np.float64))
        points[key] = np.round(xy, 4).tolist()
    return {"method": "PCA", **points, "groups": skill_areas(dataset)}


def skill_areas(dataset: Dataset) -> list[int]:
    """Per employee, the index of the area of their strongest hidden skill (0 without a ground truth)."""
    truth = dataset.truth
    if truth is None or not truth.employee_skills or not truth.skills:
        return [0] * len(dataset.employee_ids)
    areas = sorted({s.get("area", "") for s in truth.skills.values()})
    index = {a: i for i, a in enumerate(areas)}
    groups = []
    for e in dataset.employee_ids:
        skills = truth.employee_skills.get(e, {})
        top = max(skills, key=skills.get) if skills else None
        groups.append(index.get(truth.skills.get(top, {}).get("area", ""), 0) if top else 0)
    return groups


def evaluate_encoders(job: Job) -> None:
    """``eval.encoders``, with the adapter set of ``eval.adapter_set`` when given (``teamform eval``)."""
    path = job.settings.adapter_set
    job.evaluate(list(job.settings.encoders), AdapterSet.load(path) if path else None)


def run_eval(job: Job) -> None:
    """Baselines and the base model (``eval.encoders``): no synthetic data, no training."""
    job.evaluate(list(job.settings.encoders))


def run_train_eval(job: Job) -> None:
    """Train one adapter set on the job's mix and evaluate it beside ``eval.encoders``."""
    artifact = job.synthesise()
    trained = job.train(artifact)
    job.evaluate(list(job.settings.encoders), trained)
    job.extras.update(train_extras(trained, artifact))
    if job.cfg.job.get("embedding_picture") and trained.adapters.mode == "global":
        job.extras["embedding"] = embedding_picture(job, trained)


def run_ablation(job: Job) -> None:
    """Leave-one-aspect-out: a global adapter without each aspect, aggregated without it."""
    artifact = job.synthesise()
    for dropped in [None, *job.dataset.aspects]:
        trained = job.train(artifact, drop_aspects=[] if dropped is None else [dropped])
        kept = [a for a in job.dataset.aspects if a != dropped]
        job.evaluate(["adapter"], trained, settings=job.settings.replace(aspects=kept))


def run_influence(job: Job) -> None:
    """All 2^3 subsets of {labels, curriculums, negatives} (Springer et al., 2025, section 3).

    A subset without positive pairs (the empty one, and negatives alone: hard negatives need a
    task's positives to contrast with) trains nothing: its model is the base model.
    """
    artifact = job.synthesise()
    runs = []
    for size in range(len(SUBSETS) + 1):
        for subset in itertools.combinations(SUBSETS, size):
            has = set(subset)
            name = "+".join(subset) or "none"

            def rename(system: str, name: str = name) -> str:
                return f"{name}/{system.split('/', 1)[1]}"

            if has & {"labels", "curriculums"}:
                mix = (
                    "full"
                    if {"labels", "curriculums"} <= has
                    else next(iter(has & {"labels", "curriculums"}))
                )
                trained = job.train(
                    artifact,
                    mix=mix,
                    **{"negatives.enabled": "negatives" in has, "negatives.schedule": "curriculum"},
                )
                job.evaluate(["adapter"], trained, rename=rename)
            else:
                job.evaluate(["base"], rename=rename)
            runs.append({"subsets": list(subset), "system": f"{name}/condorcet"})
    job.study["influence_runs"] = runs


def run_eureka(job: Job) -> None:
    """Labels from the base prompt vs the Eureka-optimised prompt, each training a labels-only adapter."""
    reason = eureka_problem(job.cfg)
    if reason:
        raise JobSkipped(reason)
    history: list[Any] = []
    for prompt in ("base", "eureka"):
        variant = OmegaConf.merge(job.cfg, {"synth": {"label_prompt": prompt}})
        artifact = job.synthesise(variant)
        history = history or artifact.eureka
        trained = job.train(artifact, cfg=variant, mix="labels")
        job.evaluate(["adapter"], trained, tag=f"{trained.tag}-{prompt}-prompt")
    job.extras["eureka"] = history


KINDS: dict[str, Kind] = {
    "eval": run_eval,
    "train_eval": run_train_eval,
    "ablation": run_ablation,
    "influence": run_influence,
    "eureka": run_eureka,
}
