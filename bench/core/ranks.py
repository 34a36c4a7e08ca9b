"""Tie-aware rank counts of many score rows at once (shared by the metrics and the aggregators).

One sort per row gives, for every entry, how many entries of its row are strictly lower and how
many are equal to it. Every tie-aware rank the harness uses derives from these two counts:

- ascending average rank (1-based, scipy ``rankdata(method="average")``): ``below + (tied + 1) / 2``
- descending average rank among ``n`` ranked entries: ``n - below - (tied - 1) / 2``
- Borda points (entries beaten, a tie counting half): ``below + (tied - 1) / 2``
"""

from __future__ import annotations

import numpy as np


def tie_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count, per entry, the entries of the same row that are strictly lower and that are equal.

    NaN marks a missing entry: it is neither counted nor given counts (both are 0 there).
    ``-inf`` and ``+inf`` are ordinary values (equal infinities tie). Cost: one
    ``O(n log n)`` sort per row, vectorised over all leading axes.

    Args:
        values: float array ``(..., n)``; rows along the last axis.

    Returns:
        ``(below, tied)``: int64 arrays shaped like ``values``. ``below[..., i]`` is the number
        of non-NaN entries of the row ``< values[..., i]``; ``tied[..., i]`` the number of
        non-NaN entries ``== values[..., i]``, itself included.

    Example:
        >>> below, tied = tie_counts(np.array([[0.5, 0.1, 0.5, np.nan]]))
        >>> below.tolist(), tied.tolist()
        ([[1, 0, 1, 0]], [[2, 1, 2, 0]])
    """
    values = np.asarray(values, dtype=float)
    shape, n = values.shape, values.shape[-1]
    if values.size == 0:
        return np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    missing = np.isnan(values)
    rows = values.reshape(-1, n)  # (n_rows, n)
    stand_in = np.nan
    if not np.isposinf(values).any():
        stand_in = np.inf
        # NaN -> +inf: numpy's vectorised sort is several times faster without NaN; the
        # missing entries then tie with each other at the end of the row and are zeroed below
        rows = np.where(missing.reshape(rows.shape), np.inf, rows)
    order = np.argsort(rows, axis=-1)  # NaN (or its +inf stand-in) sorts last
    flat = (order + (np.arange(rows.shape[0]) * n)[:, None]).ravel()  # flat index of each slot
    ordered = rows.ravel()[flat].reshape(rows.shape)  # (n_rows, n) ascending
    starts = np.ones(rows.shape, dtype=bool)  # True where a run of equal values begins
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=starts[:, 1:])
    position = np.broadcast_to(np.arange(n, dtype=np.int64), rows.shape)
    below = np.empty(rows.size, dtype=np.int64)
    tied = np.ones(rows.size, dtype=np.int64)
    missing_slot = np.isnan(ordered) if np.isnan(stand_in) else ordered == stand_in
    if np.all(starts | missing_slot):  # no ties among the values that count
        below[flat] = position.ravel()
    else:
        ends = np.ones(rows.shape, dtype=bool)  # True where a run of equal values ends
        ends[:, :-1] = starts[:, 1:]
        group_start = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
        group_stop = np.minimum.accumulate(np.where(ends, position + 1, n)[:, ::-1], axis=-1)[:, ::-1]
        below[flat] = group_start.ravel()
        tied[flat] = (group_stop - group_start).ravel()
    below, tied = below.reshape(shape), tied.reshape(shape)
    below[missing] = 0
    tied[missing] = 0
    return below, tied
