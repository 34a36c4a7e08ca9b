"""The kinds of grid job (``job.kind``): how each experiment composes the recipe's steps.

Every kind takes a :class:`bench.run.recipe.Job` (dataset loaded and guarded), gets synthetic
data and adapters through the content-addressed caches (so a grid shares them across jobs) and
evaluates; :func:`bench.run.recipe.run_job` records and tracks what it evaluated. The one mapping
of kinds is :data:`KINDS`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from aggregators import AGGREGATORS
from bench.core.dataset import Dataset, Employee
from bench.core.errors import ConfigError
from bench.data.splits import DevSplit
from bench.run.adapters import AdapterSet
from bench.run.evaluation import evaluate_specs
from bench.run.preflight import eureka_problem, model_problem, search_problem
from bench.run.recipe import Job, JobSkipped, Kind, Trained
from bench.run.scorers import ScorerSpec, build_model, build_scorers
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
    """UMAP of queries and employees, base model vs fine-tuned (thesis Figure 5.1), and one number.

    The points are the test tasks' queries and every employee's concatenated profile, embedded by
    the base and the fine-tuned model (from the embedding cache: evaluation embedded them already)
    and laid out by UMAP (McInnes et al. (2018); seeded, so the picture is reproducible). Beside
    it, ``separation``: the mean cosine of judged relevant (task, employee) pairs minus that of
    judged non-relevant ones, before and after. Employee groups are the area of their strongest
    hidden skill when the dataset has a ground truth, else 0. Numbers only.
    """
    import umap  # deferred: umap-learn (numba) loads only for the picture

    cfg, dataset = job.cfg, job.dataset
    _, test = job.settings.dev_split.split_dataset(dataset)
    tasks = [dataset.task_by_id[t] for t in test]
    docs = list(dataset.concat_texts().values())
    models = {
        "before": build_model(cfg.model, cfg.paths.cache_dir),
        "after": build_model(
            cfg.model,
            cfg.paths.cache_dir,
            trained.adapters.adapters.get("global"),
            f"{cfg.model.name}+{trained.tag}",
        ),
    }
    grades = judged_grades(dataset, [t.id for t in tasks])  # (tasks, employees): 1, 0 or -1 (unjudged)
    against = "judged non-relevant" if (grades == 0).any() else "unjudged"
    points, separation = {}, {}
    for key, model in models.items():
        queries = np.asarray(model.encode_queries([t.query for t in tasks]), dtype=np.float64)
        employees = np.asarray(model.encode_documents(docs), dtype=np.float64)
        value = separation_of(queries, employees, grades)
        if value is not None:
            separation[key] = value
        both = np.vstack([queries, employees])
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=min(15, len(both) - 1),
            metric="cosine",
            random_state=int(cfg.seed),
            n_jobs=1,
        )
        points[key] = np.round(reducer.fit_transform(both), 4).tolist()
    return {
        "method": "UMAP",
        "before": points["before"],
        "after": points["after"],
        "kinds": ["query"] * len(tasks) + ["employee"] * len(docs),
        "groups": [0] * len(tasks) + skill_areas(dataset),
        "separation": separation,
        "separation_against": against,
    }


def judged_grades(dataset: Dataset, task_ids: list[str]) -> np.ndarray:
    """``(tasks, employees)`` int8: 1 judged relevant, 0 judged non-relevant, -1 not judged."""
    column = {e: i for i, e in enumerate(dataset.employee_ids)}
    grades = np.full((len(task_ids), len(column)), -1, dtype=np.int8)
    for row, task in enumerate(task_ids):
        for employee, grade in dataset.qrels[task].items():
            if employee in column:
                grades[row, column[employee]] = 1 if grade > 0 else 0
    return grades


def separation_of(queries: np.ndarray, employees: np.ndarray, grades: np.ndarray) -> float | None:
    """Mean cosine of judged relevant pairs minus that of judged non-relevant ones.

    Where nothing is judged non-relevant (O*NET's qrels hold relevant pairs only), the relevant
    pairs are set against every unjudged pair instead. ``None`` without relevant pairs or without
    anything to set them against.

    Example:
        >>> q = np.array([[1.0, 0.0]]); d = np.array([[1.0, 0.0], [0.0, 1.0]])
        >>> separation_of(q, d, np.array([[1, 0]])), separation_of(q, d, np.array([[1, -1]]))
        (1.0, 1.0)
    """
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    d = employees / np.linalg.norm(employees, axis=1, keepdims=True)
    cosines = q @ d.T  # (tasks, employees)
    relevant = grades == 1
    other = grades == 0 if (grades == 0).any() else grades == -1
    if not relevant.any() or not other.any():
        return None
    return round(float(cosines[relevant].mean() - cosines[other].mean()), 4)


def negative_levels(job: Job, artifact: SynthArtifact) -> list[dict[str, Any]]:
    """Negative Matters (2025), Table 4: mean cosine between each synthetic task and its negatives
    per level under the base encoder (4 = hardest ... 1 = easiest), beside its ideal curriculum.

    Returns ``[{"level", "mean_cosine", "n"}, ...]``, the curriculum as level ``"positive"`` first,
    then the levels hardest first. Numbers only.
    """
    cfg, dataset = job.cfg, job.dataset
    model = build_model(cfg.model, cfg.paths.cache_dir)
    tasks = {t.id: t for t in artifact.tasks}
    texts: dict[Any, list[tuple[str, str]]] = {}
    for task_id, rows in artifact.negatives.items():
        if task_id not in tasks:
            continue
        for row in rows:
            texts.setdefault(int(row["level"]), []).append(
                (tasks[task_id].query, Employee("", row["aspects"]).text(dataset.aspects))
            )
        if task_id in artifact.curriculums:
            curriculum = Employee("", artifact.curriculums[task_id]).text(dataset.aspects)
            texts.setdefault("positive", []).append((tasks[task_id].query, curriculum))
    out = []
    for level in ["positive", *sorted((k for k in texts if k != "positive"), reverse=True)]:
        pairs = [p for p in texts.get(level, []) if p[1]]
        if not pairs:
            continue
        q = np.asarray(model.encode_queries([a for a, _ in pairs]), dtype=np.float64)
        d = np.asarray(model.encode_documents([b for _, b in pairs]), dtype=np.float64)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        out.append(
            {"level": level, "mean_cosine": round(float((q * d).sum(axis=1).mean()), 4), "n": len(pairs)}
        )
    return out


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
    """Baselines and the base model (``eval.encoders``), and the presets of ``table1``: no training."""
    job.evaluate(list(job.settings.encoders))
    if OmegaConf.select(job.cfg, "table1.presets"):
        job.extras["table1"] = evaluate_presets(job)


def evaluate_presets(job: Job) -> list[dict[str, Any]]:
    """Paper Table 1 in one job: every ``model=`` preset of ``table1.presets``, scored or listed.

    The base model (``model=``) is scored by ``eval.encoders``; every other preset is scored when
    ``table1.evaluate`` is true and its weights can be loaded here, else listed with the reason (in
    the quick and default profiles nothing is downloaded). Returns one row per encoder, lexical and
    OpenAI baselines included: ``{"encoder", "preset", "status": "scored" | "not scored", "reason"}``.
    """
    cfg = job.cfg
    profile = OmegaConf.select(cfg, "profile_name", default=None) or "none"
    skips = {s["system"].split("/", 1)[0]: s["reason"] for s in job.skipped if s["system"].endswith("/*")}
    scored_encoders = {name.split("/", 1)[0] for name in job.systems}
    rows = []
    for name in job.settings.encoders:
        if name in ("base", "adapter"):
            continue
        status = "scored" if name in scored_encoders else "not scored"
        rows.append({"encoder": name, "preset": None, "status": status, "reason": skips.get(name, "")})
    for key, preset in cfg.table1.presets.items():
        encoder = str(preset.name)
        if encoder == cfg.model.name:
            status = "scored" if encoder in scored_encoders else "not scored"
            rows.append(
                {"encoder": encoder, "preset": key, "status": status, "reason": skips.get(encoder, "")}
            )
            continue
        if not cfg.table1.evaluate:
            reason = (
                f"listed, not evaluated in profile={profile} (nothing is downloaded): "
                f"set table1.evaluate=true to load {preset.name_or_path}, as profile=paper does"
            )
        else:
            reason = model_problem(preset) or ""
        if not reason:
            job.evaluate_specs([ScorerSpec(encoder, build_model(preset, cfg.paths.cache_dir))])
            if encoder not in {name.split("/", 1)[0] for name in job.systems}:
                reason = next(
                    (s["reason"] for s in job.skipped if s["system"] == f"{encoder}/*"), "no system"
                )
        if reason:  # listed in REPORT.md's Table 1 block; a failed load is already in job.skipped
            if cfg.table1.evaluate and all(s["system"] != f"{encoder}/*" for s in job.skipped):
                job.skipped.append({"system": f"{encoder}/*", "reason": f"model={key}: {reason}"})
            rows.append({"encoder": encoder, "preset": key, "status": "not scored", "reason": reason})
        else:
            rows.append({"encoder": encoder, "preset": key, "status": "scored", "reason": ""})
    return rows


def run_train_eval(job: Job) -> None:
    """Train one adapter set on the job's mix and evaluate it beside ``eval.encoders``.

    ``job.mixes`` (the specialised experiment's ``specialised_mixes``) trains and evaluates one
    adapter set per data mix instead, the first one's numbers in ``extras``: thesis Table 5.3
    compares specialised and global adapters on the labels data, which ``profile=paper`` adds.
    """
    artifact = job.synthesise()
    mixes = list(job.cfg.job.get("mixes") or [job.cfg.train.mix])
    trained = job.train(artifact, mix=mixes[0])
    job.evaluate(list(job.settings.encoders), trained)
    for mix in mixes[1:]:
        job.evaluate(list(job.settings.encoders), job.train(artifact, mix=mix))
    if trained.adapters.mode == "specialised" and "labels" not in mixes:
        job.extras.setdefault("report_notes", {})["rq5"] = [
            "the specialised adapters on the labels data (the thesis's Table 5.3 setting; the global "
            "labels adapter is its row here) run in profile=paper, or with specialised_mixes=[full,labels]: "
            f"{len(trained.adapters.adapters)} more adapters"
        ]
    job.extras.update(train_extras(trained, artifact))
    if job.cfg.job.get("embedding_picture") and trained.adapters.mode == "global":
        job.extras["embedding"] = embedding_picture(job, trained)
    if job.cfg.job.get("negative_levels") and artifact.negatives:
        job.extras["negative_levels"] = negative_levels(job, artifact)


def run_ablation(job: Job) -> None:
    """Leave-one-aspect-out: a global adapter without each aspect, aggregated without it."""
    artifact = job.synthesise()
    for dropped in [None, *job.dataset.aspects]:
        trained = job.train(artifact, drop_aspects=[] if dropped is None else [dropped])
        kept = [a for a in job.dataset.aspects if a != dropped]
        job.evaluate(["adapter"], trained, settings=job.settings.replace(aspects=kept))


def run_influence(job: Job) -> None:
    """All 2^3 subsets of {labels, curriculums, negatives} (Springer et al., 2025, section 3).

    As in that paper, every run also trains on a non-synthetic base set D, always present: the
    judged relevant pairs of the dev tasks of ``eval.dev_split`` (real judgments, never scored).
    Without dev tasks there is no D, and the report says so. A run with no positive pairs at all
    (the empty subset, and negatives alone, without D: hard negatives need a task's positives to
    contrast with) trains nothing: its model is the base model.
    """
    artifact = job.synthesise()
    dataset = job.dataset
    base, _ = job.settings.dev_split.split_dataset(dataset)
    base_pairs = sum(1 for t in base for g in dataset.qrels[t].values() if g > 0)
    runs = []
    for size in range(len(SUBSETS) + 1):
        for subset in itertools.combinations(SUBSETS, size):
            has = set(subset)
            name = "+".join(subset) or "none"

            def rename(system: str, name: str = name) -> str:
                return f"{name}/{system.split('/', 1)[1]}"

            if has & {"labels", "curriculums"} or base_pairs:
                synthetic = has & {"labels", "curriculums"}
                mix = "full" if len(synthetic) == 2 else next(iter(synthetic), "none")
                negatives = "negatives" in has and bool(
                    synthetic
                )  # D alone has no synthetic task to contrast
                trained = job.train(
                    artifact,
                    mix=mix,
                    base_tasks=list(base),
                    **{"negatives.enabled": negatives, "negatives.schedule": "curriculum"},
                )
                job.evaluate(["adapter"], trained, rename=rename)
            else:
                job.evaluate(["base"], rename=rename)
            runs.append({"subsets": list(subset), "system": f"{name}/condorcet"})
    job.study["influence_runs"] = runs
    job.study["influence_base"] = {"tasks": len(base), "pairs": base_pairs}


def run_pooling(job: Job) -> None:
    """Negative Matters (2025), Table 3: the same adapter recipe trained and scored per pooling.

    For each pooling of ``job.poolings`` other than the preset's own (whose rows are the
    baselines' and ``ft_full``'s), the base model and a global adapter trained with that pooling
    (its own cache key: the encoder fingerprint includes the pooling) are evaluated. Last-token
    pooling belongs to decoders (``model=smollm2``, gte-Qwen2): it is listed, with the reason,
    when the model is an encoder.
    """
    cfg = job.cfg
    artifact = job.synthesise()
    own = str(cfg.model.pooling)
    decoder = own == "last"  # the decoder presets (smollm2, gte-Qwen2) pool their last token
    notes = []
    for pooling in job.cfg.job.poolings:
        if pooling == own:
            continue
        if pooling == "last" and not decoder:
            notes.append(
                f"last-token pooling is for decoders ({cfg.model.name} is an encoder): "
                "run experiment=pooling with model=smollm2 or profile=paper model=gte_qwen2_1_5b_instruct"
            )
            continue
        variant = OmegaConf.merge(cfg, {"model": {"pooling": pooling}})
        name = f"{cfg.model.name}[{pooling}]"
        job.evaluate_specs([ScorerSpec(name, build_model(variant.model, cfg.paths.cache_dir, name=name))])
        trained = job.train(artifact, cfg=variant)
        full = f"{name}+{trained.tag}"
        adapter = build_model(variant.model, cfg.paths.cache_dir, trained.adapters.adapters["global"], full)
        job.record_inputs(job.evaluate_specs([ScorerSpec(full, adapter)]), trained.adapters)
        job.extras.setdefault("pooling_adapters", {})[pooling] = trained.adapters.dir.name
    job.extras["pooling_notes"] = notes


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


def run_search(job: Job) -> None:
    """One trial of the hyper-parameter search (``sweep=search``): train, score on test, objective on dev.

    The trial's settings (LoRA rank and alpha, learning rate, temperature, steps) are the overrides
    Hydra's Optuna sweeper sampled. The adapter is scored on the test tasks like any other job (the
    report's rows); the number Optuna maximises is :func:`dev_objective`, on the dev tasks of
    ``eval.dev_split`` only, so the best trial is chosen on tasks the report never scores.
    """
    reason = search_problem(job.cfg)
    if reason:
        raise JobSkipped(reason)
    artifact = job.synthesise()
    trained = job.train(artifact)
    job.evaluate(list(job.settings.encoders), trained)
    job.extras.update(train_extras(trained, artifact))
    job.extras["search"] = dev_objective(job, trained)


def dev_objective(job: Job, trained: Trained) -> dict[str, Any]:
    """``search.objective`` (``{view}/{metric}``) of the trained adapter on the dev tasks only.

    The dev tasks of ``eval.dev_split`` are evaluated as a dataset of their own (its run files go
    to a temporary folder: nothing of it reaches ``results.json``'s systems or the report's tables).

    Returns:
        ``{"objective", "value", "dev_tasks", "dev_split", "settings"}``: the number Optuna
        maximises, on how many dev tasks, and the trial's training settings.

    Raises:
        ConfigError: ``search.objective`` is not ``{view}/{metric}`` of an evaluated view and metric.
    """
    cfg, dataset, settings = job.cfg, job.dataset, job.settings
    objective = str(OmegaConf.select(cfg, "search.objective", default="condorcet/ndcg@5"))
    view, _, metric = objective.partition("/")
    if not metric or metric not in settings.metrics:
        raise ConfigError(
            f"search.objective={objective!r} must be {{view}}/{{metric}} with a metric of eval.metrics "
            f"({', '.join(settings.metrics)}), e.g. condorcet/ndcg@5"
        )
    if view == "concat":
        views: dict[str, Any] = {"views": ["concat"]}
    elif view in AGGREGATORS:
        views = {"views": ["aggregators"], "aggregators": [view]}
    elif view in dataset.aspects:
        views = {"views": ["aspects"]}
    else:
        raise ConfigError(
            f"search.objective={objective!r}: the view must be concat, an aspect "
            f"({', '.join(dataset.aspects)}) or an aggregator ({', '.join(AGGREGATORS)})"
        )
    dev, _ = settings.dev_split.split_dataset(dataset)
    chosen = set(dev)
    dev_set = dataclasses.replace(
        dataset,
        tasks=[t for t in dataset.tasks if t.id in chosen],
        qrels={t: dict(dataset.qrels[t]) for t in dev},
    )
    specs, _ = build_scorers(["adapter"], cfg.model, cfg.paths.cache_dir, trained.adapters, trained.tag)
    dev_settings = settings.replace(dev_split=DevSplit(), metrics=[metric], systems=None, **views)
    with tempfile.TemporaryDirectory(prefix="teamform-dev-") as scratch:
        results = evaluate_specs(dev_set, specs, dev_settings, Path(scratch))
    value = results["systems"][f"{specs[0].name}/{view}"]["mean"][metric]
    train = cfg.train
    return {
        "objective": objective,
        "value": float(value),
        "dev_tasks": len(dev),
        "dev_split": {"fraction": settings.dev_split.fraction, "seed": settings.dev_split.seed},
        "settings": {
            "train.lora.r": int(train.lora.r),
            "train.lora.alpha": int(train.lora.alpha),
            "train.optimizer.lr": float(train.optimizer.lr),
            "train.temperature": float(train.temperature),
            "train.max_steps": int(train.max_steps),
        },
    }


KINDS: dict[str, Kind] = {
    "eval": run_eval,
    "train_eval": run_train_eval,
    "ablation": run_ablation,
    "influence": run_influence,
    "eureka": run_eureka,
    "pooling": run_pooling,
    "search": run_search,
}
