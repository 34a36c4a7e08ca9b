"""Evaluate systems on a dataset: score every view, fuse, compute metrics, write run files.

A *system* is ``{encoder}/{view}``; views are ``concat``, each aspect, each aggregator of
:data:`aggregators.AGGREGATORS`, and ``weighted_{aggregator}`` variants whose aspect weights
are fit on the dev tasks of ``eval.dev_split`` when it has some, else by 2-fold cross-fitting
(weights fit on one half of the judged tasks score the other half), so no task is scored with
weights fit on it. Only the test tasks (the judged tasks outside the dev split) are scored.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aggregators import AGGREGATORS, get_aggregator
from aggregators.weights import fit_weights
from bench.core.dataset import Dataset
from bench.core.errors import ConfigError, SystemUnavailable, TeamformError, one_line, unknown_choice
from bench.data.splits import DevSplit
from bench.metrics import Run, evaluate_arrays, mean
from bench.metrics.registry import parse_metric
from bench.metrics.trec import system_filename, write_run
from bench.run.retrieval import IndexSpec
from bench.run.scorers import ScorerSpec
from bench.run.systems import SystemScores, check_aspects, score_systems

log = logging.getLogger(__name__)

# What makes one encoder unusable without sinking the job: an API unreachable after retries or a
# key refused, weights missing offline (:class:`bench.core.errors.SystemUnavailable`), out of memory.
UNUSABLE: tuple[type[BaseException], ...] = (SystemUnavailable, MemoryError, torch.OutOfMemoryError)
VIEW_KINDS = ("concat", "aspects", "aggregators", "weighted")
WEIGHTED = ("condorcet", "borda", "combsum")


@dataclass(frozen=True)
class EvalSettings:
    """What to evaluate: the typed ``eval=`` config (``conf/eval/default.yaml`` builds it).

    Attributes:
        metrics: metric names (:data:`bench.metrics.METRICS`, with ``@k`` cutoffs).
        encoders: encoder names (:data:`bench.run.scorers.ALL_NAMES`).
        aspects: aspects taking part in per-aspect views and aggregation (``None``: all).
        aggregators: aggregators of the ``aggregators`` view (``None``: every registered one).
        views: view kinds (:data:`VIEW_KINDS`).
        weighted: aggregators with fitted aspect weights (view ``weighted``): fit on the dev tasks,
            or cross-fitted over the test tasks when there are none.
        unjudged: ``nonrelevant`` or ``condensed`` (rank only judged employees).
        top_k: keep each aspect's top-k (``None``: complete rankings).
        index: ``flat``, ``hnsw`` or ``ivf``.
        trec_depth: rows per task in ``runs/*.trec``.
        seed: the seed of cross-fitting folds.
        systems: glob patterns of system names to keep (``None``: all).
        adapter_set: a ``teamform train`` output to evaluate (``teamform eval`` only).
        openai: options of the OpenAI embedding baselines' client (retries, backoff, timeout).
        dev_split: the judged tasks held out for tuning (:class:`bench.data.splits.DevSplit`);
            they are never scored.
    """

    metrics: Sequence[str]
    encoders: Sequence[str] = ("bm25", "tfidf", "base")
    aspects: Sequence[str] | None = None
    aggregators: Sequence[str] | None = None
    views: Sequence[str] = ("concat", "aspects", "aggregators")
    weighted: Sequence[str] = WEIGHTED
    unjudged: str = "nonrelevant"
    top_k: int | None = None
    index: str = "flat"
    trec_depth: int = 100
    seed: int = 0
    systems: Sequence[str] | None = None
    adapter_set: str | None = None
    openai: dict[str, float] = dataclasses.field(default_factory=dict)
    dev_split: DevSplit = DevSplit()

    def __post_init__(self) -> None:
        object.__setattr__(self, "dev_split", DevSplit.of(self.dev_split))
        for metric in self.metrics:
            parse_metric(metric)
        for view in self.views:
            if view not in VIEW_KINDS:
                raise unknown_choice("view (eval.views)", view, VIEW_KINDS)
        for name in self.aggregators or ():
            get_aggregator(name)
        if self.unjudged not in ("nonrelevant", "condensed"):
            raise unknown_choice("eval.unjudged", self.unjudged, ["nonrelevant", "condensed"])

    def replace(self, **changes: Any) -> EvalSettings:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)


def grade_matrix(dataset: Dataset, task_ids: list[str], employee_ids: list[str]) -> np.ndarray:
    """``(n_tasks, n_employees)`` graded judgments, NaN = unjudged."""
    column = {e: j for j, e in enumerate(employee_ids)}
    grades = np.full((len(task_ids), len(employee_ids)), np.nan)
    for t, task in enumerate(task_ids):
        for employee, grade in dataset.qrels.get(task, {}).items():
            if employee in column:
                grades[t, column[employee]] = grade
    return grades


def fit_on_dev(
    per_aspect: np.ndarray,
    grades: np.ndarray,
    aggregator: str,
    dev: np.ndarray,
    metric: str = "ndcg@5",
) -> tuple[np.ndarray, list[list[float]]]:
    """Fused scores of a weighted aggregator whose weights are fit on the dev tasks only."""
    fuse = get_aggregator(aggregator)
    rows = np.flatnonzero(dev)
    w = fit_weights(per_aspect[:, rows], grades[rows], metric=metric, aggregator=fuse)
    return fuse(per_aspect, w), [[round(float(x), 4) for x in w]]


def cross_fit(
    per_aspect: np.ndarray,
    grades: np.ndarray,
    aggregator: str,
    judged: np.ndarray,
    seed: int,
    metric: str = "ndcg@5",
) -> tuple[np.ndarray, list[list[float]]]:
    """Fused scores of a weighted aggregator by 2-fold cross-fitting over the judged tasks."""
    fuse = get_aggregator(aggregator)
    rows = np.flatnonzero(judged)
    rng = np.random.default_rng(seed)
    rng.shuffle(rows)
    folds = [np.sort(rows[: len(rows) // 2]), np.sort(rows[len(rows) // 2 :])]
    fused = fuse(per_aspect)  # unjudged tasks keep equal weights
    weights_used = []
    for fit_on, apply_to in ((folds[0], folds[1]), (folds[1], folds[0])):
        if len(fit_on) == 0 or len(apply_to) == 0:
            continue
        w = fit_weights(per_aspect[:, fit_on], grades[fit_on], metric=metric, aggregator=fuse)
        fused[apply_to] = fuse(per_aspect[:, apply_to], w)
        weights_used.append([round(float(x), 4) for x in w])
    return fused, weights_used


def system_views(
    scores: SystemScores,
    settings: EvalSettings,
    grades: np.ndarray,
    judged: np.ndarray,
    with_concat: bool = True,
    dev: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any], list[dict[str, str]]]:
    """``view -> (n_tasks, n_employees)`` scores of one scorer, notes (fitted weights), and skips.

    ``judged`` marks the tasks that are scored (the test tasks) and ``dev`` the dev tasks: weighted
    aggregators fit their weights on ``dev`` when it has at least 2 tasks, else cross-fit over ``judged``.

    An aggregator that raises on these scores is skipped with its reason; the other views stand.
    """
    views: dict[str, np.ndarray] = {}
    notes: dict[str, Any] = {}
    skipped: list[dict[str, str]] = []
    if "concat" in settings.views and with_concat:
        views["concat"] = scores.concat
    if "aspects" in settings.views:
        for a, aspect in enumerate(scores.aspects):
            views[aspect] = scores.per_aspect[a]
    fusions: dict[str, Any] = {}
    names = list(settings.aggregators) if settings.aggregators is not None else list(AGGREGATORS)
    if "aggregators" in settings.views and len(scores.aspects) > 1:
        for name in names:
            fusions[name] = lambda name=name: (get_aggregator(name)(scores.per_aspect), None)
    on_dev = dev is not None and dev.sum() >= 2
    if "weighted" in settings.views and len(scores.aspects) > 1 and (on_dev or judged.sum() >= 4):
        for name in settings.weighted:
            if on_dev:
                fusions[f"weighted_{name}"] = lambda name=name: fit_on_dev(
                    scores.per_aspect, grades, name, dev
                )
            else:
                fusions[f"weighted_{name}"] = lambda name=name: cross_fit(
                    scores.per_aspect, grades, name, judged, settings.seed
                )
    for view, fuse in fusions.items():
        try:
            views[view], note = fuse()
        except TeamformError:  # a configuration error (unknown aggregator, bad weights): stop, naming it
            raise
        except Exception as error:  # noqa: BLE001 - one aggregator failing must not sink the job
            skipped.append({"system": f"{scores.scorer}/{view}", "reason": one_line(error)})
            log.warning("skipping %s/%s: %s", scores.scorer, view, one_line(error))
            continue
        if note is not None:
            notes[view] = note
    return views, notes, skipped


def score_spec(
    dataset: Dataset, spec: ScorerSpec, aspects: list[str], index: IndexSpec, with_concat: bool = True
) -> SystemScores:
    """Per-aspect and concat scores of one scorer (or of a specialised set, aspect by aspect, with
    no concat); ``with_concat=False`` leaves the concatenation out (NaN), unencoded."""
    if spec.scorer is not None:
        scores = score_systems(dataset, spec.scorer, aspects, index, with_concat=with_concat)
        scores.scorer = spec.name
        return scores
    missing = [a for a in aspects if a not in spec.per_aspect]
    if missing:
        raise ConfigError(
            f"the specialised adapters of {spec.name} do not cover aspects {missing}; "
            f"set eval.aspects to some of {sorted(spec.per_aspect)}"
        )
    parts = [score_systems(dataset, spec.per_aspect[a], [a], index, with_concat=False) for a in aspects]
    first = parts[0]
    nan = np.full_like(first.concat, np.nan)
    return SystemScores(
        spec.name,
        aspects,
        first.task_ids,
        first.employee_ids,
        np.concatenate([p.per_aspect for p in parts]),
        nan,
        0,
        0,
    )


def evaluate_specs(
    dataset: Dataset,
    specs: list[ScorerSpec],
    settings: EvalSettings,
    run_dir: Path,
    aspects: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate every view of every scorer; write ``runs/*.trec``; return the ``systems`` mapping.

    Returns:
        ``{"systems": {name: {"mean", "per_task"}}, "scorers": {name: summary}, "notes": {...},
        "skipped": [{"system", "reason"(, "metric")}], "split": {"fraction", "seed", "dev", "test"}}``:
        only test tasks are in ``per_task`` and the run files (``split.dev`` lists the dev task ids,
        ``split.test`` counts the scored ones); an encoder that cannot be used (:data:`UNUSABLE`),
        an aggregator or a metric that raises is skipped with its reason.
    """
    chosen = check_aspects(dataset, aspects if aspects is not None else settings.aspects)
    index = IndexSpec(kind=settings.index, top_k=settings.top_k)
    task_ids = [t.id for t in dataset.tasks]
    employee_ids = dataset.employee_ids
    grades = grade_matrix(dataset, task_ids, employee_ids)
    split = settings.dev_split.record(dataset)
    dev = np.isin(task_ids, split["dev"])
    judged = np.array([bool(dataset.qrels.get(t)) for t in task_ids]) & ~dev  # the scored (test) tasks
    evaluated = [t for t, j in zip(task_ids, judged, strict=True) if j]
    written = [i for i, t in enumerate(task_ids) if not dev[i]]  # run files: every task but the dev ones
    systems: dict[str, Any] = {}
    scorer_info: dict[str, Any] = {}
    notes: dict[str, Any] = {}
    skipped: list[dict[str, str]] = []
    for spec in specs:
        log.info(
            "scoring %s on %d tasks x %d employees x %d aspects",
            spec.name,
            len(task_ids),
            len(employee_ids),
            len(chosen),
        )
        try:
            scores = score_spec(dataset, spec, chosen, index, with_concat="concat" in settings.views)
        except UNUSABLE as error:  # this encoder cannot be used: skip its systems, keep the others
            skipped.append({"system": f"{spec.name}/*", "reason": one_line(error)})
            log.warning("skipping %s: %s", spec.name, one_line(error))
            continue
        scorer_info[spec.name] = scores.summary()
        views, view_notes, view_skips = system_views(
            scores, settings, grades, judged, with_concat=spec.scorer is not None, dev=dev
        )
        skipped.extend(view_skips)
        for view, matrix in views.items():
            name = f"{spec.name}/{view}"
            values, failed = score_view(
                matrix[judged], grades[judged], list(settings.metrics), employee_ids, settings
            )
            skipped.extend({"system": name, "metric": m, "reason": reason} for m, reason in failed.items())
            per_task = {t: {m: float(values[m][i]) for m in values} for i, t in enumerate(evaluated)}
            systems[name] = {"mean": mean(per_task), "per_task": per_task}
            write_run(
                run_dir / "runs" / system_filename(name),
                [task_ids[i] for i in written],
                employee_ids,
                matrix[written],
                name.replace("/", "__"),
                settings.trec_depth,
            )
            if view in view_notes:
                notes[name] = {
                    ("dev_weights" if dev.sum() >= 2 else "fold_weights"): view_notes[view],
                    "aspects": chosen,
                }
    return {"systems": systems, "scorers": scorer_info, "notes": notes, "skipped": skipped, "split": split}


def score_view(
    matrix: np.ndarray,
    grades: np.ndarray,
    metrics: list[str],
    employee_ids: list[str],
    settings: EvalSettings,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Metric values per task, as trec_eval computes them on the run file (top ``trec_depth``).

    Ranking metrics see the ranking cut at ``eval.trec_depth``, exactly what ``runs/*.trec``
    holds, so trec_eval on a run file reproduces ``results.json``; AUC uses the scores of every
    judged candidate (a ROC curve needs them all). A metric that raises is left out and returned
    with its reason; the other metrics stand.

    Returns:
        ``(metric -> (n_tasks,) values, metric -> reason it failed)``.
    """
    cut = Run([str(i) for i in range(len(matrix))], employee_ids, matrix).truncate(settings.trec_depth).scores
    groups = [([m for m in metrics if m != "auc"], cut), (["auc"] if "auc" in metrics else [], matrix)]
    values: dict[str, np.ndarray] = {}
    failed: dict[str, str] = {}
    for names, scores in groups:
        if not names:
            continue
        try:  # all metrics of a group share one ranking pass
            values.update(evaluate_arrays(scores, grades, names, employee_ids, settings.unjudged))
        except Exception:  # noqa: BLE001 - find the metric that fails; the others stand
            for metric in names:
                try:
                    values.update(evaluate_arrays(scores, grades, [metric], employee_ids, settings.unjudged))
                except TeamformError:  # a configuration error, not a failure of this metric on this input
                    raise
                except Exception as error:  # noqa: BLE001 - one metric failing must not sink the system
                    failed[metric] = one_line(error)
                    log.warning("metric %s failed: %s", metric, one_line(error))
    values = {m: values[m] for m in metrics if m in values}
    return values, failed


def print_table(
    systems: dict[str, Any], metrics: Sequence[str] = ("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc")
) -> str:
    """A compact fixed-width table of mean metrics (what ``teamform eval`` prints)."""
    width = max([len(s) for s in systems] + [6])
    lines = [f"{'system':<{width}}  " + "  ".join(f"{m:>7}" for m in metrics)]
    for name, system in systems.items():
        lines.append(
            f"{name:<{width}}  " + "  ".join(f"{system['mean'].get(m, float('nan')):>7.3f}" for m in metrics)
        )
    return "\n".join(lines)
