"""Development metrics during training: held-out synthetic tasks ranked over every employee.

The development split is a share of the labelled synthetic tasks (:func:`models.pairs.split_dev`),
never the evaluation tasks; its synthetic labels are the qrels. The documents are the view the
adapter is trained for (the concatenation for a global adapter, one aspect for a specialised
one). Unjudged employees count as non-relevant, as in the evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bench.core.dataset import Dataset
from bench.metrics import evaluate, mean
from data_synth.artifact import SynthArtifact
from models.pairs import DocumentView


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)


def make_dev_eval(
    dataset: Dataset,
    artifact: SynthArtifact,
    dev_qrels: Mapping[str, Mapping[str, int]],
    view: DocumentView,
    metrics: Sequence[str] = ("ndcg@5", "ap"),
) -> Callable[[Any], dict[str, float]] | None:
    """A ``dev_eval(encoder) -> {metric: mean}`` hook, or ``None`` without development tasks.

    Args:
        dataset: the employees.
        artifact: the synthetic tasks (queries of the development tasks).
        dev_qrels: ``task_id -> employee_id -> label`` of the development tasks.
        view: the documents the adapter reads.
        metrics: metric names of :data:`bench.metrics.METRICS`.
    """
    task_ids = [t for t in sorted(dev_qrels) if any(g > 0 for g in dev_qrels[t].values())]
    if not task_ids:
        return None
    queries = [artifact.task_by_id[t].query for t in task_ids]
    docs = {e.id: view.text(e.aspects) for e in dataset.employees}
    employee_ids = [e for e, text in docs.items() if text]
    texts = [docs[e] for e in employee_ids]
    qrels = {t: dict(dev_qrels[t]) for t in task_ids}

    def dev_eval(encoder: Any) -> dict[str, float]:
        q = _unit(encoder.encode_queries(queries))  # (n_tasks, dim)
        d = _unit(encoder.encode_documents(texts))  # (n_employees, dim)
        scores = np.asarray(q @ d.T, dtype=np.float64)  # (n_tasks, n_employees) cosine
        run = {
            t: dict(zip(employee_ids, row.tolist(), strict=True))
            for t, row in zip(task_ids, scores, strict=True)
        }
        return mean(evaluate(run, qrels, list(metrics)))

    return dev_eval
