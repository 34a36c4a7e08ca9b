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
    n = values.shape[-1]
    order = np.argsort(values, axis=-1)  # NaN sorts last
    ordered = np.take_along_axis(values, order, axis=-1)
    position = np.broadcast_to(np.arange(n), ordered.shape)
    starts = np.ones(ordered.shape, dtype=bool)  # True where a run of equal values begins
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    ends = np.ones(ordered.shape, dtype=bool)  # True where a run of equal values ends
    ends[..., :-1] = starts[..., 1:]
    group_start = np.maximum.accumulate(np.where(starts, position, 0), axis=-1)
    group_stop = np.flip(
        np.minimum.accumulate(np.flip(np.where(ends, position + 1, n), axis=-1), axis=-1), axis=-1
    )
    below = np.empty(values.shape, dtype=np.int64)
    tied = np.empty(values.shape, dtype=np.int64)
    np.put_along_axis(below, order, group_start, axis=-1)
    np.put_along_axis(tied, order, group_stop - group_start, axis=-1)
    missing = np.isnan(values)
    below[missing] = 0
    tied[missing] = 0
    return below, tied
