"""Paired significance tests of systems against a reference system, Holm correction, bootstrap CIs.

Every test pairs two systems' per-task values of one metric (tasks where both have a value;
AUC is ``NaN`` on one-class tasks). Resampling is seeded, so reruns give identical p-values and
intervals, and each system gets the same random stream whatever the order of the systems.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

N_RESAMPLES = 10_000
CHUNK = 1_000  # resamples per matrix product, to bound memory at CHUNK x n_tasks


def paired_t_test(system: Sequence[float], reference: Sequence[float]) -> float:
    """Two-sided paired t-test p-value (Student; ``scipy.stats.ttest_rel``).

    ``t = mean(d) / (sd(d) / sqrt(n))`` with ``d = system - reference`` and ``n - 1`` degrees
    of freedom. When every difference is the same, the t statistic is 0/0 or x/0: the p-value
    is 1 if they are all 0 and 0 otherwise.

    Args:
        system: per-task values of the system.
        reference: per-task values of the reference, same tasks in the same order.

    Returns:
        The p-value, ``NaN`` for fewer than 2 tasks.

    Example:
        >>> round(paired_t_test([0.5, 0.7, 0.9, 1.1], [0.4, 0.5, 0.6, 0.7]), 4)
        0.0305
    """
    diff = _differences(system, reference)
    if diff.size < 2:
        return math.nan
    if np.all(diff == diff[0]):
        return 1.0 if diff[0] == 0 else 0.0
    return float(stats.ttest_rel(np.asarray(system, float), np.asarray(reference, float)).pvalue)


def randomisation_test(
    system: Sequence[float], reference: Sequence[float], n_resamples: int = N_RESAMPLES, seed: int = 0
) -> float:
    """Two-sided paired randomisation (sign-flip permutation) test of the mean difference.

    Under the null hypothesis the two systems are exchangeable on each task, so each difference
    ``d_i`` is equally likely to have either sign. The p-value is the share of sign assignments
    whose ``|mean(s * d)|`` reaches the observed ``|mean(d)|`` (Fisher; Smucker, Allan and
    Carterette, CIKM 2007). All ``2^n`` assignments are enumerated when ``2^n <= n_resamples``
    (exact test); otherwise ``n_resamples`` random ones are drawn and ``p = (1 + hits) /
    (1 + n_resamples)``, which is never 0 (Phipson and Smyth 2010).

    Args:
        system: per-task values of the system.
        reference: per-task values of the reference, same tasks in the same order.
        n_resamples: random sign assignments when the exact test is too large.
        seed: seed of the random assignments.

    Returns:
        The p-value in ``(0, 1]``; 1 for identical systems; ``NaN`` for no tasks.

    Example:
        >>> randomisation_test([0.5, 0.7, 0.9], [0.4, 0.5, 0.6])  # exact: 2 of 8 reach 0.2
        0.25
    """
    diff = _differences(system, reference)
    n = diff.size
    if n == 0:
        return math.nan
    observed = abs(diff.mean())
    tolerance = 1e-12 * max(1.0, float(np.abs(diff).max()))  # rounding of equal sums
    if 2**n <= n_resamples:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)  # (2^n, n): all +-1
        hits = int(np.sum(np.abs(signs @ diff) / n >= observed - tolerance))
        return hits / 2**n
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, n_resamples, CHUNK):
        size = min(CHUNK, n_resamples - start)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1  # (size, n)
        hits += int(np.sum(np.abs(signs @ diff) / n >= observed - tolerance))
    return (1 + hits) / (1 + n_resamples)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni step-down adjustment of a family of p-values (Holm 1979).

    Sorting the ``k`` p-values ascending, the ``i``-th (0-based) is multiplied by ``k - i``,
    the running maximum keeps the adjusted values monotone, and they are capped at 1. Rejecting
    where the adjusted value is ``<= alpha`` controls the family-wise error rate at ``alpha``.
    ``NaN`` p-values are left out of the family and stay ``NaN``.

    Args:
        p_values: one p-value per hypothesis (here: per system, for one metric).

    Returns:
        Adjusted p-values in the input order.

    Example:
        >>> holm([0.01, 0.04, 0.03, 0.005]).tolist()  # 0.005*4, 0.01*3, 0.03*2, max(0.04*1, 0.06)
        [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    k = order.size
    scaled = p[order] * (k - np.arange(k))
    adjusted[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return adjusted


def bootstrap_ci(
    values: Sequence[float], confidence: float = 0.95, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean (Efron and Tibshirani 1993, ch. 13).

    Resamples the values with replacement ``n_resamples`` times and returns the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled means.
    ``NaN`` values (AUC of one-class tasks) are left out.

    Args:
        values: per-task values of one metric.
        confidence: coverage of the interval.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling.

    Returns:
        ``(low, high)``; ``(NaN, NaN)`` when no value is left.

    Example:
        >>> bootstrap_ci([0.5, 0.5, 0.5])
        (0.5, 0.5)
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, CHUNK):
        size = min(CHUNK, n_resamples - start)
        means[start : start + size] = x[rng.integers(0, x.size, size=(size, x.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return (float(low), float(high))


def _differences(system: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    a, b = np.asarray(system, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired values need equal 1-d shapes, got {a.shape} and {b.shape}")
    return a - b
