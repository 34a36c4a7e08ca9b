"""Sort runs the way trec_eval does and collect what every metric needs, for all tasks at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNJUDGED_MODES = ("nonrelevant", "condensed")


@dataclass(frozen=True)
class RankedTasks:
    """Judgments in rank order, one row per task (the shared input of every metric kernel).

    Attributes:
        grades: ``(n_tasks, n_items)`` grade of the item at each rank (column 0 = rank 1),
            clipped to ``>= 0``; 0 for unjudged items and for positions past the retrieved ones.
        num_relevant: ``(n_tasks,)`` number of items with grade > 0 in the qrels, retrieved or not.
        ideal_grades: ``(n_tasks, n_judged)`` the qrels grades of the task sorted descending,
            clipped to ``>= 0`` and zero-padded (the ideal ranking of nDCG); ``n_judged`` is
            the largest number of judged items of a task.
        judged_scores: ``(n_tasks, n_judged)`` the system's score of each judged item, packed
            to the left (``-inf`` where the system did not retrieve it), ``NaN`` as padding.
        judged_relevant: ``(n_tasks, n_judged)`` bool, the packed judged item has grade > 0.

    A grade ``< 0`` counts as unjudged everywhere, as in trec_eval.
    """

    grades: np.ndarray
    num_relevant: np.ndarray
    ideal_grades: np.ndarray
    judged_scores: np.ndarray
    judged_relevant: np.ndarray

    @property
    def relevant(self) -> np.ndarray:
        """``(n_tasks, n_items)`` bool: the item at each rank is relevant (grade > 0)."""
        return self.grades > 0


def trec_order(scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Column order of each row in trec_eval's ranking: score descending, then ``tiebreak``.

    trec_eval keeps scores in a C ``float`` (``TEXT_RESULTS.sim`` in ``trec_format.h``), so two
    scores that round to the same single-precision value are tied. Each entry gets one unique
    64-bit key, ``order-preserving bits of the negated float32 score << 32 | tiebreak``, so a
    single (SIMD) argsort per row gives the order; ``NaN`` and ``-inf`` (not retrieved) sort last.

    Args:
        scores: ``(n_tasks, n_items)`` float scores.
        tiebreak: ``(n_items,)`` distinct non-negative ints, the order among equal scores
            (:func:`trec_tiebreak`).

    Returns:
        ``(n_tasks, n_items)`` int64 column indices, best first.
    """
    retrieved = ~np.isnan(scores) & (scores != -np.inf)
    negated = np.where(retrieved, -scores, np.inf).astype(np.float32) + np.float32(0.0)  # -0 -> +0
    bits = negated.view(np.uint32)
    flip = np.where(bits >> 31, np.uint32(0xFFFFFFFF), np.uint32(0x80000000))  # sign-magnitude
    key = ((bits ^ flip).astype(np.uint64) << np.uint64(32)) | tiebreak.astype(np.uint64)
    return np.argsort(key, axis=-1)


def trec_tiebreak(item_ids: list[str] | np.ndarray) -> np.ndarray:
    """Sort key that orders items by id descending, trec_eval's tie-break for equal scores.

    trec_eval sorts a run by score descending, then by document id descending (``strcmp``, byte
    order, which for UTF-8 equals Python's code point order of ``str``).

    Args:
        item_ids: ``(n_items,)`` ids.

    Returns:
        ``(n_items,)`` int64 key, 0 for the greatest id.
    """
    ids = np.asarray(item_ids, dtype=str)
    key = np.empty(ids.size, dtype=np.int64)
    key[np.argsort(ids, kind="stable")[::-1]] = np.arange(ids.size)
    return key


def rank_tasks(
    scores: np.ndarray, grades: np.ndarray, tiebreak: np.ndarray, unjudged: str = "nonrelevant"
) -> RankedTasks:
    """Rank each task's items and line up their grades.

    Args:
        scores: ``(n_tasks, n_items)`` system scores, higher = better; ``NaN`` or ``-inf`` =
            not retrieved.
        grades: ``(n_tasks, n_items)`` graded judgments; ``NaN`` = unjudged, and so is a negative
            grade (trec_eval's "in the pool but not judged": non-relevant in the default
            mode, dropped in the condensed one, left out of AUC).
        tiebreak: ``(n_items,)`` distinct non-negative ints ordering equal scores
            (:func:`trec_tiebreak` reproduces trec_eval). Scores are compared in single
            precision, as trec_eval does (:func:`trec_order`).
        unjudged: ``"nonrelevant"`` ranks every retrieved item, an unjudged one counting as
            non-relevant (the paper's protocol, trec_eval's default); ``"condensed"`` ranks the
            judged items only (trec_eval ``-J``, Sakai's condensed lists).

    Returns:
        The :class:`RankedTasks` every metric kernel reads.
    """
    if unjudged not in UNJUDGED_MODES:
        raise ValueError(f"unjudged must be one of {UNJUDGED_MODES}, got {unjudged!r}")
    judged = grades >= 0  # NaN (absent) and negative (trec_eval: pooled, unjudged) are unjudged
    retrieved = ~np.isnan(scores) & (scores != -np.inf)
    if unjudged == "condensed":
        retrieved &= judged
    gain_grade = np.where(judged & retrieved, np.maximum(grades, 0.0), 0.0)  # NaN-free
    order = trec_order(np.where(retrieved, scores, np.nan), tiebreak)
    ranked = np.take_along_axis(gain_grade, order, axis=-1)  # (n_tasks, n_items) in rank order

    # the judged items of each task, packed to the left: (n_tasks, max judged per task)
    width = int(judged.sum(axis=-1).max(initial=0))
    columns = np.argsort(~judged, axis=-1, kind="stable")[:, :width]
    valid = np.take_along_axis(judged, columns, axis=-1)
    judged_grades = np.where(valid, np.maximum(np.take_along_axis(grades, columns, axis=-1), 0.0), 0.0)
    judged_scores = np.take_along_axis(np.where(retrieved, scores, -np.inf), columns, axis=-1)
    return RankedTasks(
        grades=ranked,
        num_relevant=(judged_grades > 0).sum(axis=-1),
        ideal_grades=-np.sort(-judged_grades, axis=-1),
        judged_scores=np.where(valid, judged_scores, np.nan),
        judged_relevant=judged_grades > 0,
    )
