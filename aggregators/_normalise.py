"""Min-max score normalisation per aspect and task, shared by CombSUM and CombMNZ."""

from __future__ import annotations

import numpy as np


def min_max(scores: np.ndarray) -> np.ndarray:
    """Rescale each aspect's scores for each task to ``[0, 1]``: ``(s - min) / (max - min)``.

    Minimum and maximum are taken over the items the aspect ranks for the task. When they are
    equal (one ranked item, or all tied) every ranked item gets 1. ``NaN`` stays ``NaN``.

    Args:
        scores: ``(m_aspects, n_tasks, n_items)``, ``NaN`` = not ranked.

    Returns:
        Normalised scores, same shape.

    Example:
        >>> min_max(np.array([[[2.0, 4.0, np.nan, 3.0]]])).tolist()
        [[[0.0, 1.0, nan, 0.5]]]
    """
    ranked = ~np.isnan(scores)
    any_ranked = ranked.any(axis=-1, keepdims=True)
    low = np.min(np.where(ranked, scores, np.inf), axis=-1, keepdims=True)  # (m, n_tasks, 1)
    high = np.max(np.where(ranked, scores, -np.inf), axis=-1, keepdims=True)
    span = np.where(any_ranked, high - low, 1.0)
    safe_span = np.where(span > 0, span, 1.0)
    scaled = np.where(span > 0, (scores - np.where(any_ranked, low, 0.0)) / safe_span, 1.0)
    return np.where(ranked, scaled, np.nan)
