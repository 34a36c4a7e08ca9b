"""Score arrays of the retrieval systems: per aspect (input of the aggregators) and ``concat``.

A *scorer* is either a dense encoder (``encode_queries`` / ``encode_documents``, e.g.
:class:`models.encoder.Encoder`, possibly wrapped in :class:`models.embedding_cache.CachedEncoder`)
or a lexical scorer (``score(queries, docs)``, :mod:`models.lexical`).

Shapes (the contract with ``aggregators/``):

- ``per_aspect``: ``(m_aspects, n_tasks, n_employees)`` float32; ``[a, t, e]`` is the score of
  employee ``e`` for task ``t`` on aspect ``a``, **NaN** when the employee has no text for that
  aspect or is not retrieved (outside the top k of an index).
- ``concat``: ``(n_tasks, n_employees)`` float32, the score of all chosen aspects joined in one
  text (:meth:`bench.core.dataset.Dataset.concat_texts`); NaN for employees without any of them.

Tasks and employees are in the dataset's order (:attr:`SystemScores.task_ids`,
:attr:`SystemScores.employee_ids`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError, unknown_choice
from bench.run.retrieval import IndexSpec, keep_top_k, score_matrix


@dataclass
class SystemScores:
    """Per-aspect and concat scores of one scorer on one dataset.

    Attributes:
        scorer: the scorer's name (``bm25``, ``minilm``...), the encoder part of system names.
        aspects: the aspects taking part, in the order of ``per_aspect``'s first axis.
        task_ids: row order (``n_tasks``).
        employee_ids: column order (``n_employees``).
        per_aspect: ``(m_aspects, n_tasks, n_employees)`` float32, NaN = missing / not retrieved.
        concat: ``(n_tasks, n_employees)`` float32, NaN = no text / not retrieved.
        concat_truncated: employees whose concat text is longer than the model's max document
            length (so the model sees only its head); 0 for lexical scorers.
        concat_texts: employees with a non-empty concat text (the denominator of the above).
    """

    scorer: str
    aspects: list[str]
    task_ids: list[str]
    employee_ids: list[str]
    per_aspect: np.ndarray
    concat: np.ndarray
    concat_truncated: int
    concat_texts: int

    def summary(self) -> dict[str, Any]:
        """Numbers for logs and ``results.json`` (no text)."""
        share = self.concat_truncated / self.concat_texts if self.concat_texts else 0.0
        return {
            "scorer": self.scorer,
            "aspects": list(self.aspects),
            "tasks": len(self.task_ids),
            "employees": len(self.employee_ids),
            "concat_truncated": self.concat_truncated,
            "concat_texts": self.concat_texts,
            "concat_truncated_share": share,
        }


def check_aspects(dataset: Dataset, aspects: Sequence[str] | None) -> list[str]:
    """The chosen aspects (``None``: all of the dataset's), each checked to exist."""
    chosen = list(dataset.aspects if aspects is None else aspects)
    if not chosen:
        raise ConfigError("eval.aspects is empty; choose at least one of: " + ", ".join(dataset.aspects))
    for aspect in chosen:
        if aspect not in dataset.aspects:
            raise unknown_choice("aspect (eval.aspects)", aspect, dataset.aspects)
    if len(set(chosen)) != len(chosen):
        raise ConfigError(f"eval.aspects lists an aspect twice: {chosen}")
    return chosen


def _is_dense(scorer: object) -> bool:
    return hasattr(scorer, "encode_queries") and hasattr(scorer, "encode_documents")


def _scatter(columns: np.ndarray, scores: np.ndarray, n_tasks: int, n_employees: int) -> np.ndarray:
    """Place ``scores (n_tasks, len(columns))`` into a NaN ``(n_tasks, n_employees)`` matrix."""
    out = np.full((n_tasks, n_employees), np.nan, dtype=np.float32)
    out[:, columns] = scores
    return out


def _score_views(
    scorer: object, queries: list[str], views: list[dict[str, str]], index: IndexSpec
) -> list[np.ndarray]:
    """``(n_tasks, len(view))`` scores of each view's documents; dense: one encode call for all."""
    if not _is_dense(scorer):
        return [keep_top_k(scorer.score(queries, list(v.values())), index.top_k) for v in views]
    q = scorer.encode_queries(queries)  # (n_tasks, dim)
    d = scorer.encode_documents(
        [text for view in views for text in view.values()]
    )  # (sum of view sizes, dim)
    bounds = np.cumsum([0] + [len(v) for v in views])
    return [score_matrix(q, d[bounds[i] : bounds[i + 1]], index) for i in range(len(views))]


def score_systems(
    dataset: Dataset,
    scorer: object,
    aspects: Sequence[str] | None = None,
    index: IndexSpec = IndexSpec(),
    aspect_scorers: Mapping[str, object] | None = None,
    with_concat: bool = True,
) -> SystemScores:
    """Score every task against every employee, per aspect and on the concatenation.

    Dense scorers encode the queries once and all their documents (aspects and concat texts)
    in one call, so length-sorted batching and the embedding cache see them together; each
    aspect then gets its own FAISS index.

    Args:
        dataset: employees, tasks and aspects.
        scorer: a dense encoder or a lexical scorer (see the module docstring).
        aspects: the aspects taking part (``eval.aspects``); ``None`` = all.
        index: FAISS index kind, ``top_k`` and parameters (lexical scorers use ``top_k`` only).
        aspect_scorers: a different scorer for some aspects (e.g. one specialised adapter per
            aspect); the concatenation and the other aspects use ``scorer``.
        with_concat: encode and score the concatenated profiles; ``False`` leaves ``concat`` NaN
            (a job whose views do not show it: the concatenations are the longest texts).

    Returns:
        The :class:`SystemScores`.
    """
    chosen = check_aspects(dataset, aspects)
    aspect_scorers = dict(aspect_scorers or {})
    for aspect in aspect_scorers:
        if aspect not in chosen:
            raise unknown_choice("aspect with its own scorer", aspect, chosen)
    task_ids, employee_ids = [t.id for t in dataset.tasks], dataset.employee_ids
    queries = [t.query for t in dataset.tasks]
    column = {e: j for j, e in enumerate(employee_ids)}
    n_t, n_e = len(task_ids), len(employee_ids)
    # One document set per view: the chosen aspects, then the concatenation.
    views = [dataset.aspect_texts(a) for a in chosen]
    concat = {e: text for e, text in dataset.concat_texts(chosen).items() if text} if with_concat else {}
    views.append(concat)
    owners = [aspect_scorers.get(a, scorer) for a in chosen] + [scorer]
    scores: list[np.ndarray | None] = [None] * len(views)
    for owner in {id(o): o for o in owners}.values():  # each scorer once, over all its views
        mine = [i for i, o in enumerate(owners) if o is owner and (views[i] or i < len(chosen))]
        for i, s in zip(mine, _score_views(owner, queries, [views[i] for i in mine], index), strict=True):
            scores[i] = s
    matrices = [
        np.full((n_t, n_e), np.nan, dtype=np.float32)
        if s is None
        else _scatter(np.array([column[e] for e in view], dtype=np.int64), s, n_t, n_e)
        for view, s in zip(views, scores, strict=True)
    ]
    truncated = (
        int(scorer.count_truncated(list(concat.values()), "document"))
        if hasattr(scorer, "count_truncated")
        else 0
    )
    return SystemScores(
        scorer=getattr(scorer, "name", type(scorer).__name__),
        aspects=chosen,
        task_ids=task_ids,
        employee_ids=employee_ids,
        per_aspect=np.stack(matrices[:-1]),  # (m_aspects, n_tasks, n_employees)
        concat=matrices[-1],
        concat_truncated=truncated,
        concat_texts=len(concat),
    )
