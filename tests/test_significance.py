"""Significance: hand examples, exact enumeration vs scipy's permutation test, sanity on known cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bench.metrics.significance import (
    bootstrap_ci,
    holm,
    paired_t_test,
    randomisation_test,
)


def test_t_test_hand_computed():
    # d = 0.1, 0.2, 0.3, 0.4: mean 0.25, sd sqrt(((.15)^2 + (.05)^2) * 2 / 3), t = mean / (sd / 2)
    sd = math.sqrt((0.15**2 + 0.05**2 + 0.05**2 + 0.15**2) / 3)
    t = 0.25 / (sd / math.sqrt(4))
    expected = 2 * stats.t.sf(t, df=3)
    assert paired_t_test([0.5, 0.7, 0.9, 1.1], [0.4, 0.5, 0.6, 0.7]) == pytest.approx(expected)
    assert paired_t_test([0.3, 0.4], [0.3, 0.4]) == 1.0  # identical: 0/0
    assert paired_t_test([0.75, 1.5], [0.5, 1.25]) == 0.0  # constant shift 0.25: x/0
    assert math.isnan(paired_t_test([0.4], [0.3]))


def test_randomisation_hand_computed_exact():
    # d = 0.1, 0.2, 0.3 -> |sum| of the 8 sign flips: 0.6, 0.4, 0.2, 0, 0, 0.2, 0.4, 0.6
    assert randomisation_test([0.5, 0.7, 0.9], [0.4, 0.5, 0.6]) == pytest.approx(2 / 8)
    # d = 1, 1, -1 (observed |mean| 1/3): flips with |sum| >= 1 are all 8
    assert randomisation_test([1.0, 1.0, 0.0], [0.0, 0.0, 1.0]) == 1.0


def test_identical_systems_give_p_one():
    x = np.random.default_rng(1).random(200)
    assert randomisation_test(x, x) == 1.0
    assert randomisation_test(x[:8], x[:8]) == 1.0  # exact branch
    assert paired_t_test(x, x) == 1.0


def test_clearly_different_systems_give_small_p():
    rng = np.random.default_rng(2)
    reference = rng.random(50)
    better = reference + 0.1 + 0.02 * rng.normal(size=50)
    assert randomisation_test(better, reference, n_resamples=10_000) == pytest.approx(1 / 10_001)
    assert paired_t_test(better, reference) < 1e-20


def test_randomisation_is_seeded_and_close_to_exact():
    rng = np.random.default_rng(3)
    a, b = rng.random(14), rng.random(14)  # 2^14 = 16384 > 10_000: Monte-Carlo branch
    p1, p2 = randomisation_test(a, b, seed=7), randomisation_test(a, b, seed=7)
    assert p1 == p2
    exact = randomisation_test(a, b, n_resamples=2**14)
    assert abs(p1 - exact) < 4 * math.sqrt(exact * (1 - exact) / 10_000) + 1e-4


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.sampled_from([0.0, 0.5, 1.0])),
        min_size=2,
        max_size=9,
    )
)
def test_exact_randomisation_equals_scipy_permutation_test(pairs):
    a, b = np.array(pairs).T
    expected = stats.permutation_test(
        (a, b),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=np.inf,
        vectorized=True,
    ).pvalue
    assert randomisation_test(a, b) == pytest.approx(min(expected, 1.0), abs=1e-12)


def test_holm_hand_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.5, math.nan, 0.02]), [0.5, math.nan, 0.04])  # family of 2
    np.testing.assert_allclose(holm([0.6, 0.7]), [1.0, 1.0])  # capped


def test_bootstrap_interval_matches_scipy_percentile_and_normal_theory():
    x = np.random.default_rng(4).random(400)
    low, high = bootstrap_ci(x, seed=0)
    scipy_ci = stats.bootstrap((x,), np.mean, method="percentile", n_resamples=10_000, random_state=0)
    assert low == pytest.approx(scipy_ci.confidence_interval.low, abs=2e-3)
    assert high == pytest.approx(scipy_ci.confidence_interval.high, abs=2e-3)
    half_width = 1.96 * x.std() / math.sqrt(x.size)
    assert high - low == pytest.approx(2 * half_width, rel=0.05)
    assert bootstrap_ci(x, seed=0) == (low, high)
    assert bootstrap_ci([math.nan, 0.5, 0.5]) == (0.5, 0.5)
