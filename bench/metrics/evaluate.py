"""Score a run against graded qrels: per-task values of any registered metric, and their means."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bench.metrics._ranking import rank_tasks, trec_tiebreak
from bench.metrics.registry import parse_metric
from bench.metrics.run import Run

Qrels = Mapping[str, Mapping[str, int]]


def evaluate_arrays(
    scores: np.ndarray,
    grades: np.ndarray,
    metrics: Sequence[str],
    item_ids: Sequence[str] | None = None,
    unjudged: str = "nonrelevant",
) -> dict[str, np.ndarray]:
    """Vectorised core of :func:`evaluate`: metric values of every task from aligned arrays.

    Args:
        scores: ``(n_tasks, n_items)`` system scores, higher = better; ``NaN``/``-inf`` = not
            retrieved.
        grades: ``(n_tasks, n_items)`` graded judgments, ``NaN`` = unjudged.
        metrics: metric names such as ``"ap"``, ``"ndcg@5"`` (see :data:`bench.metrics.METRICS`).
        item_ids: ids of the columns; equal scores are ordered by id descending as in
            trec_eval. ``None`` orders them by column index descending.
        unjudged: ``"nonrelevant"`` or ``"condensed"`` (see
            :func:`bench.metrics._ranking.rank_tasks`).

    Returns:
        ``metric name -> (n_tasks,)`` values.
    """
    scores = np.asarray(scores, dtype=float)
    grades = np.asarray(grades, dtype=float)
    if scores.ndim != 2 or scores.shape != grades.shape:
        raise ValueError(f"scores {scores.shape} and grades {grades.shape} must both be (n_tasks, n_items)")
    n_items = scores.shape[1]
    if item_ids is None:
        tiebreak = np.arange(n_items)[::-1].copy()
    else:
        tiebreak = trec_tiebreak(list(item_ids))
    parsed = {name: parse_metric(name) for name in metrics}
    ranked = rank_tasks(scores, grades, tiebreak, unjudged)
    return {name: metric.compute(ranked, k) for name, (metric, k) in parsed.items()}


def evaluate(
    run: Run | Mapping[str, Mapping[str, float]],
    qrels: Qrels,
    metrics: Sequence[str],
    unjudged: str = "nonrelevant",
) -> dict[str, dict[str, float]]:
    """Per-task metric values of a run, as trec_eval computes them.

    The tasks evaluated are those of ``qrels`` with at least one judgment, in its order (a task
    with an empty judgment dict is skipped, as trec_eval skips it). A task of the qrels that the run
    lacks is evaluated as an empty ranking (0 everywhere, unlike pytrec_eval, which skips it);
    tasks of the run without qrels are ignored (as in trec_eval). Equal scores are ordered by
    item id descending, trec_eval's rule. A task without relevant items scores 0 on every
    metric but AUC (as trec_eval does) and ``NaN`` on AUC.

    Args:
        run: a :class:`Run`, or ``task_id -> {item_id: score}`` like pytrec_eval.
        qrels: ``task_id -> {item_id: grade}``; grade > 0 is relevant, 0 non-relevant, absent
            or negative = unjudged (trec_eval's convention for negative grades).
        metrics: names such as ``["ap", "ndcg@5", "hit@5", "mrr", "recall@10", "auc"]``.
        unjudged: ``"nonrelevant"`` (unjudged retrieved items count as non-relevant, the
            paper's protocol) or ``"condensed"`` (only judged items are ranked).

    Returns:
        ``task_id -> {metric: value}``.

    Example:
        >>> run = {"t1": {"e1": 0.9, "e2": 0.8, "e3": 0.7}}
        >>> qrels = {"t1": {"e2": 1, "e3": 0}}
        >>> evaluate(run, qrels, ["ap", "mrr", "hit@1"])["t1"]
        {'ap': 0.5, 'mrr': 0.5, 'hit@1': 0.0}
        >>> evaluate(run, qrels, ["ap"], unjudged="condensed")["t1"]  # e1 unjudged: dropped
        {'ap': 1.0}
    """
    if not isinstance(run, Run):
        run = Run.from_dict(run)
    qrels = {str(task): judgments for task, judgments in qrels.items() if judgments}
    task_ids = list(qrels)
    item_ids = list(run.item_ids)
    column = {item: i for i, item in enumerate(item_ids)}
    for judgments in qrels.values():
        for item in map(str, judgments):
            if item not in column:
                column[item] = len(item_ids)
                item_ids.append(item)
    scores = np.full((len(task_ids), len(item_ids)), np.nan)  # (n_qrels_tasks, n_items)
    run_row = {task: t for t, task in enumerate(run.task_ids)}
    rows = [run_row.get(task, -1) for task in task_ids]
    present = np.array([r >= 0 for r in rows], dtype=bool)
    scores[present, : len(run.item_ids)] = run.scores[[r for r in rows if r >= 0]]
    grades = np.full(scores.shape, np.nan)
    for t, judgments in enumerate(qrels.values()):
        columns = np.fromiter((column[str(i)] for i in judgments), dtype=np.int64, count=len(judgments))
        grades[t, columns] = np.fromiter(judgments.values(), dtype=float, count=len(judgments))
    values = evaluate_arrays(scores, grades, metrics, item_ids, unjudged)
    return {task: {name: float(values[name][t]) for name in values} for t, task in enumerate(task_ids)}


def mean(per_task: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Average each metric over tasks, leaving out ``NaN`` values (AUC of one-class tasks).

    Args:
        per_task: ``task_id -> {metric: value}``, as returned by :func:`evaluate`.

    Returns:
        ``metric -> mean``; ``NaN`` when no task has a value.

    Example:
        >>> mean({"t1": {"ap": 0.5, "auc": float("nan")}, "t2": {"ap": 1.0, "auc": 0.75}})
        {'ap': 0.75, 'auc': 0.75}
    """
    names: dict[str, None] = {}
    for values in per_task.values():
        names.update(dict.fromkeys(values))
    result = {}
    for name in names:
        column = np.array([v.get(name, np.nan) for v in per_task.values()], dtype=float)
        kept = column[~np.isnan(column)]
        result[name] = float(kept.mean()) if kept.size else float("nan")
    return result
