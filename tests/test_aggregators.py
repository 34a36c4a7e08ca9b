"""Aggregators three ways: hand-computed values, slow literal references (thesis Algorithm 2), ranx."""

from __future__ import annotations

import math
import warnings
from functools import cmp_to_key

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aggregators import AGGREGATORS, fit_weights, get_aggregator
from aggregators.borda import borda
from aggregators.combmax import combmax
from aggregators.combmnz import combmnz
from aggregators.combsum import combsum
from aggregators.condorcet import condorcet
from aggregators.condorcet_fuse import condorcet_fuse
from aggregators.copeland import copeland
from aggregators.rrf import rrf
from bench.core.errors import ConfigError

nan = math.nan
SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- strategies
@st.composite
def score_tensors(draw, ties: bool = True, missing: bool = True, max_items: int = 9):
    """(m, n_tasks, n_items) scores; ties from a coarse value set, NaN for unranked items."""
    m = draw(st.integers(1, 5))
    shape = (m, draw(st.integers(1, 3)), draw(st.integers(1, max_items)))
    if ties:
        scores = draw(arrays(float, shape, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0])))
    else:  # all distinct, at least 1/8 apart
        scores = draw(arrays(np.int64, shape, elements=st.integers(-2000, 2000), unique=True)) / 8.0
    if missing:
        mask = draw(arrays(bool, shape, elements=st.booleans()))
        scores = np.where(mask, nan, scores)
    return scores


# ---------------------------------------------------------------- slow literal references
def algorithm_2(input_matrix: np.ndarray) -> np.ndarray:
    """Thesis Algorithm 2, line by line: input (num_candidates, num_aspects), similarities."""
    num_candidates = input_matrix.shape[0]
    condorcet_scores = np.zeros(num_candidates)
    pairwise_matrix = np.zeros((num_candidates, num_candidates))
    for i in range(num_candidates):
        for j in range(i + 1, num_candidates):
            pairwise_matrix[i, j] = np.sum(input_matrix[i] > input_matrix[j])
            pairwise_matrix[j, i] = np.sum(input_matrix[i] < input_matrix[j])
    for i in range(num_candidates):
        condorcet_scores[i] = np.sum(pairwise_matrix[i])
    return condorcet_scores


def per_task(reference, scores: np.ndarray, **kwargs) -> np.ndarray:
    """Apply a one-task reference to each task's candidates, NaN elsewhere."""
    out = np.full(scores.shape[1:], nan)
    for t in range(scores.shape[1]):
        keep = ~np.all(np.isnan(scores[:, t]), axis=0)
        if keep.any():
            filled = np.where(np.isnan(scores[:, t][:, keep]), -np.inf, scores[:, t][:, keep])
            out[t, keep] = reference(filled.T, **kwargs)  # (c_t, m): unranked = -inf, below all
    return out


def votes(matrix, x: int, y: int, weights=None) -> tuple[float, float]:
    """Weighted number of aspects preferring candidate x, and preferring y (plain Python)."""
    rows = matrix.tolist() if isinstance(matrix, np.ndarray) else matrix
    w = [1.0] * len(rows[x]) if weights is None else [float(v) for v in weights]
    for_x = sum(wa for wa, a, b in zip(w, rows[x], rows[y], strict=True) if a > b)
    for_y = sum(wa for wa, a, b in zip(w, rows[x], rows[y], strict=True) if a < b)
    return for_x, for_y


def copeland_reference(matrix: np.ndarray, weights=None) -> np.ndarray:
    n = matrix.shape[0]
    matrix = matrix.tolist()
    result = np.zeros(n)
    for x in range(n):
        for y in range(n):
            for_x, for_y = votes(matrix, x, y, weights)
            result[x] += (for_x > for_y) - (for_x < for_y)
    return result


def condorcet_fuse_reference(matrix: np.ndarray, weights=None) -> np.ndarray:
    """Copeland order (ties by index), then Python's sort with the majority comparator."""
    n = matrix.shape[0]
    copeland_scores = copeland_reference(matrix, weights)
    matrix = matrix.tolist()
    start = sorted(range(n), key=lambda x: -copeland_scores[x])

    def compare(x, y):
        for_x, for_y = votes(matrix, x, y, weights)
        return -1 if for_x > for_y else (1 if for_x < for_y else 0)

    order = sorted(start, key=cmp_to_key(compare))
    points = [float(n - p) for p in range(n)]
    result, p = np.zeros(n), 0
    while p < n:  # a run of consecutive, pairwise tied items shares its mean points
        q = p + 1
        while q < n and all(compare(order[r], order[q]) == 0 for r in range(p, q)):
            q += 1
        for r in range(p, q):
            result[order[r]] = sum(points[p:q]) / (q - p)
        p = q
    return result


def is_transitive_strict(matrix: np.ndarray) -> bool:
    """Every pair has a strict majority and the majority relation has no cycle."""
    n = matrix.shape[0]
    beats = np.zeros((n, n), bool)
    for x in range(n):
        for y in range(n):
            if x != y:
                for_x, for_y = votes(matrix, x, y)
                if for_x == for_y:
                    return False
                beats[x, y] = for_x > for_y
    order = np.argsort(-beats.sum(axis=1))
    return all(beats[order[i], order[j]] for i in range(n) for j in range(i + 1, n))


# ---------------------------------------------------------------- hand-computed values
# 2 aspects, 1 task, 4 items; item 3 unranked by aspect 1, item 1 and 2 tied in aspect 0
HAND = np.array([[[0.9, 0.5, 0.5, 0.1]], [[0.2, 0.8, 0.4, nan]]])


def test_hand_computed_rank_methods():
    # aspect 0 beats: 3, 1, 1, 0 (ties earn nothing); aspect 1 (item 3 lowest): 1, 3, 2, 0
    assert condorcet(HAND).tolist() == [[3 + 1, 1 + 3, 1 + 2, 0 + 0]]
    # Borda: a tie counts half; aspect 0: 3, 1.5, 1.5, 0; aspect 1: 1, 3, 2, 0 (alone unranked)
    assert borda(HAND).tolist() == [[3 + 1, 1.5 + 3, 1.5 + 2, 0 + 0]]
    # RRF: aspect 0 average ranks 1, 2.5, 2.5, 4; aspect 1 ranks 3, 1, 2 and item 3 gets nothing
    expected = [1 / 61 + 1 / 63, 1 / 62.5 + 1 / 61, 1 / 62.5 + 1 / 62, 1 / 64]
    np.testing.assert_allclose(rrf(HAND), [expected])


def test_hand_computed_score_methods():
    # min-max per aspect: aspect 0 (0.9 - 0.1 = 0.8 span), aspect 1 (0.8 - 0.2 = 0.6 span)
    a0 = [1.0, 0.4 / 0.8, 0.4 / 0.8, 0.0]
    a1 = [0.0, 1.0, 0.2 / 0.6, 0.0]  # item 3 unranked contributes 0
    np.testing.assert_allclose(combsum(HAND), [np.add(a0, a1)])
    np.testing.assert_allclose(combmnz(HAND), [np.add(a0, a1) * [2, 2, 2, 1]])
    np.testing.assert_allclose(combsum(HAND, np.array([2.0, 1.0])), [2 * np.array(a0) + a1])
    # CombMAX: the best normalised score; item 3 has only aspect 0's 0.0
    np.testing.assert_allclose(combmax(HAND), [[max(1.0, 0.0), max(0.5, 1.0), max(0.5, 0.2 / 0.6), 0.0]])
    np.testing.assert_allclose(combmax(HAND, np.array([0.5, 1.0])), [[0.5, 1.0, 1 / 3, 0.0]])


def combmax_slow(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """CombMAX literally: per task and item, the max over the aspects that rank it of w * min-max."""
    m, n_tasks, n_items = scores.shape
    weights = np.ones(m) if weights is None else weights
    out = np.full((n_tasks, n_items), nan)
    for t in range(n_tasks):
        best = [None] * n_items
        for a in range(m):
            if weights[a] == 0:  # an aspect of weight 0 takes no part
                continue
            ranked = [i for i in range(n_items) if not np.isnan(scores[a, t, i])]
            if not ranked:
                continue
            low, high = min(scores[a, t, i] for i in ranked), max(scores[a, t, i] for i in ranked)
            for i in ranked:
                norm = 1.0 if high == low else (scores[a, t, i] - low) / (high - low)
                value = weights[a] * norm
                best[i] = value if best[i] is None else max(best[i], value)
        for i, value in enumerate(best):
            if value is not None:
                out[t, i] = value
    return out


@settings(max_examples=60, deadline=None)
@given(score_tensors(), st.lists(st.floats(0.0, 3.0), min_size=8, max_size=8))
def test_combmax_equals_slow_reference(scores, weight_list):
    weights = np.array(weight_list[: scores.shape[0]])
    np.testing.assert_allclose(combmax(scores), combmax_slow(scores), atol=1e-12)
    assume(weights.any())  # all-zero weights are refused (check_inputs)
    np.testing.assert_allclose(combmax(scores, weights), combmax_slow(scores, weights), atol=1e-12)


def test_hand_computed_pairwise_methods():
    # pairs (votes for x : for y): 0-1 1:1 tie, 0-2 1:1 tie, 0-3 2:0 (aspect 1 ranks only 0),
    # 1-2 1:0 (aspect 0 ties them, aspect 1 prefers 1), 1-3 2:0, 2-3 2:0
    assert copeland(HAND).tolist() == [[1, 2, 1 - 1, -3]]
    # Copeland order 1, 0, 2, 3 is already sorted for the comparator (1~0, 0~2, 2>3); 1 and 0
    # are tied (mean of 4 and 3 points); 2 ties 0 but loses to 1, so it starts a new group
    assert condorcet_fuse(HAND).tolist() == [[3.5, 3.5, 2.0, 1.0]]


def test_condorcet_cycle_and_winner():
    cycle = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[2.0, 1.0, 3.0]]])
    assert copeland(cycle).tolist() == [[0, 0, 0]]
    assert condorcet(cycle).tolist() == [[3, 3, 3]]  # every item beats 1 + 1 + 1 item-aspects
    winner = np.array([[[3.0, 2.0, 1.0]], [[1.0, 3.0, 2.0]], [[3.0, 1.0, 2.0]]])  # item 0 wins
    assert np.argmax(copeland(winner)) == 0 and np.argmax(condorcet_fuse(winner)) == 0


def test_items_no_aspect_ranks_are_not_retrieved():
    scores = np.array([[[0.3, nan, 0.1]], [[nan, nan, 0.2]]])
    for name, fn in AGGREGATORS.items():
        fused = fn(scores)
        assert np.isnan(fused[0, 1]) and not np.isnan(fused[0, [0, 2]]).any(), name


def test_registry_and_input_errors():
    assert get_aggregator("borda") is borda
    with pytest.raises(ConfigError, match="unknown aggregator 'cond'; choose one of: borda, "):
        get_aggregator("cond")
    with pytest.raises(ValueError, match="shape"):
        borda(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"scores\[0, 0, 1\] is infinite"):
        borda(np.array([[[0.0, -np.inf]]]))
    with pytest.raises(ValueError, match="not all 0"):
        borda(np.zeros((2, 1, 3)), np.zeros(2))


# ---------------------------------------------------------------- Algorithm 2 and Borda
@SETTINGS
@given(score_tensors(ties=True, missing=True))
def test_condorcet_equals_literal_algorithm_2_with_ties_and_missing(scores):
    np.testing.assert_array_equal(condorcet(scores), per_task(algorithm_2, scores))


@SETTINGS
@given(score_tensors(ties=False, missing=False))
def test_condorcet_equals_literal_algorithm_2_and_borda_without_ties(scores):
    np.testing.assert_array_equal(condorcet(scores), per_task(algorithm_2, scores))
    np.testing.assert_array_equal(condorcet(scores), borda(scores))


@SETTINGS
@given(score_tensors(ties=True, missing=True))
def test_condorcet_and_borda_differ_by_half_the_ties(scores):
    # per aspect, a tied item earns (tied others) / 2 in Borda and nothing in Algorithm 2
    n_candidates = (~np.all(np.isnan(scores), axis=0)).sum(axis=-1, keepdims=True)
    filled = np.where(np.isnan(scores), -np.inf, scores)  # unranked candidates tie at the bottom
    tied_others = (filled[..., :, None] == filled[..., None, :]).sum(-1) - 1  # (m, t, n)
    # non-candidates are -inf too: remove them from the tie counts of unranked candidates
    non_candidates = scores.shape[2] - n_candidates
    tied_others = np.where(np.isnan(scores), tied_others - non_candidates, tied_others)
    expected = (tied_others / 2).sum(0)
    expected[np.all(np.isnan(scores), axis=0)] = nan
    np.testing.assert_allclose(borda(scores) - condorcet(scores), expected)


# ---------------------------------------------------------------- pairwise methods
@SETTINGS
@given(
    score_tensors(ties=True, missing=True, max_items=7),
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=5, max_size=5),
)
def test_copeland_and_condorcet_fuse_equal_slow_references(scores, weight_list):
    np.testing.assert_array_equal(copeland(scores), per_task(copeland_reference, scores))
    np.testing.assert_array_equal(condorcet_fuse(scores), per_task(condorcet_fuse_reference, scores))
    weights = np.array(weight_list[: scores.shape[0]])
    assume(weights.any())
    expected = per_task(copeland_reference, scores, weights=weights)
    np.testing.assert_array_equal(copeland(scores, weights), expected)
    expected = per_task(condorcet_fuse_reference, scores, weights=weights)
    np.testing.assert_array_equal(condorcet_fuse(scores, weights), expected)


@pytest.mark.parametrize("m", [1, 4, 5])
def test_pairwise_methods_on_more_than_64_candidates(m):
    # bitset kernels pack 64 candidates per word: cross word boundaries, with ties and NaN
    rng = np.random.default_rng(m)
    scores = np.round(rng.normal(size=(m, 1, 140)), 1)  # 140 candidates = 3 words
    scores[rng.random(scores.shape) < 0.2] = nan
    np.testing.assert_array_equal(copeland(scores), per_task(copeland_reference, scores))
    np.testing.assert_array_equal(condorcet_fuse(scores), per_task(condorcet_fuse_reference, scores))
    weights = rng.choice([0.25, 0.5, 1.0, 2.0], size=m)  # dense kernel (unequal weights)
    np.testing.assert_array_equal(
        copeland(scores, weights), per_task(copeland_reference, scores, weights=weights)
    )
    np.testing.assert_array_equal(
        condorcet_fuse(scores, weights), per_task(condorcet_fuse_reference, scores, weights=weights)
    )


@st.composite
def profiles_with_a_winner(draw):
    """Scores where item ``x`` of every task tops a strict majority of the aspects: a Condorcet winner."""
    scores = draw(score_tensors(ties=True, missing=True, max_items=7))
    m, n_tasks, n_items = scores.shape
    assume(n_items >= 2)
    winners = []
    for t in range(n_tasks):
        x = draw(st.integers(0, n_items - 1))
        majority = draw(st.permutations(range(m)))[: m // 2 + 1]
        for a in majority:  # x strictly above every item of these aspects, ranked or not
            scores[a, t, x] = np.nanmax(np.append(scores[a, t], 0.0)) + 1.0
        winners.append(x)
    return scores, winners


@SETTINGS
@given(profiles_with_a_winner())
def test_condorcet_winner_is_ranked_first_by_the_majority_methods(profile):
    scores, winners = profile
    for t, x in enumerate(winners):
        keep = np.flatnonzero(~np.all(np.isnan(scores[:, t]), axis=0))
        matrix = np.where(np.isnan(scores[:, t][:, keep]), -np.inf, scores[:, t][:, keep]).T
        i = int(np.flatnonzero(keep == x)[0])
        # the construction made x beat every other candidate by a strict majority of the aspects
        assert all(votes(matrix, i, y)[0] > votes(matrix, i, y)[1] for y in range(keep.size) if y != i)
        for fused in (copeland(scores)[t], condorcet_fuse(scores)[t]):
            others = np.delete(fused[keep], i)
            assert (fused[x] > others).all()


# ---------------------------------------------------------------- properties shared by all
RANK_BASED = ["condorcet", "borda", "copeland", "condorcet_fuse", "rrf"]


@SETTINGS
@given(score_tensors(ties=True, missing=True), st.sampled_from(RANK_BASED))
def test_rank_methods_ignore_monotone_rescaling(scores, name):
    rescaled = np.exp(3 * scores) - 7.0  # strictly increasing per aspect
    np.testing.assert_array_equal(AGGREGATORS[name](scores), AGGREGATORS[name](rescaled))


@SETTINGS
@given(score_tensors(ties=True, missing=False), st.sampled_from(sorted(AGGREGATORS)))
def test_zero_weight_drops_an_aspect_and_weight_two_doubles_it(scores, name):
    assume(scores.shape[0] >= 2)
    fn = AGGREGATORS[name]
    weights = np.ones(scores.shape[0])
    weights[0] = 0.0
    np.testing.assert_allclose(fn(scores, weights), fn(scores[1:]), atol=1e-12)
    if name not in ("combmnz", "combmax"):  # CombMNZ counts aspects; a maximum is idempotent, not additive
        weights[0] = 2.0
        doubled = np.concatenate([scores[:1], scores])
        np.testing.assert_allclose(fn(scores, weights), fn(doubled), atol=1e-12)


# ---------------------------------------------------------------- ranx
ranx = pytest.importorskip("ranx")
# ranx compiles its numba kernels on first use in a process (about 20 s): these tests are slow


def ranx_fuse(scores: np.ndarray, method: str, norm: str | None = "min-max") -> np.ndarray:
    """Fuse one ranx Run per aspect (only the items the aspect ranks); back to a dense array."""
    runs = []
    for aspect in scores:
        runs.append(
            ranx.Run(
                {
                    f"t{t}": {
                        f"d{i}": float(aspect[t, i])
                        for i in range(scores.shape[2])
                        if not np.isnan(aspect[t, i])
                    }
                    for t in range(scores.shape[1])
                }
            )
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fused = ranx.fuse(runs, method=method, norm=norm).to_dict()
    out = np.full(scores.shape[1:], nan)
    for t in range(scores.shape[1]):
        for doc, value in fused.get(f"t{t}", {}).items():
            out[t, int(doc[1:])] = value
    return out


@st.composite
def ranx_inputs(draw, odd_complete: bool = False):
    """Distinct scores, every aspect ranks >= 2 items per task (ranx needs non-empty runs)."""
    scores = draw(score_tensors(ties=False, missing=not odd_complete, max_items=8))
    assume(scores.shape[2] >= 2)
    rows = scores.reshape(-1, scores.shape[2])  # (m * n_tasks, n_items) view
    short = (~np.isnan(rows)).sum(-1) < 2
    rows[short] = np.where(np.isnan(rows[short]), 100.0 + np.arange(scores.shape[2]), rows[short])
    m = scores.shape[0]
    if m < 2:
        scores = np.concatenate([scores, scores[:1] * -1 + 0.5])
    if odd_complete and scores.shape[0] % 2 == 0:
        scores = scores[:-1] if scores.shape[0] > 2 else np.concatenate([scores, scores[:1] * 0.3 + 1])
    return scores


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ranx_inputs())
def test_borda_rrf_combsum_combmnz_combmax_equal_ranx_without_ties(scores):
    m = scores.shape[0]
    # ranx Borda gives n - r + 1 points (ours n - r), and (n - len + 1) / 2 to unranked ones
    np.testing.assert_allclose(borda(scores) + m, ranx_fuse(scores, "bordafuse"), atol=1e-9)
    np.testing.assert_allclose(rrf(scores), ranx_fuse(scores, "rrf"), atol=1e-12)
    np.testing.assert_allclose(combsum(scores), ranx_fuse(scores, "sum"), atol=1e-9)
    np.testing.assert_allclose(combmnz(scores), ranx_fuse(scores, "mnz"), atol=1e-9)
    np.testing.assert_allclose(combmax(scores), ranx_fuse(scores, "max"), atol=1e-9)


@pytest.mark.slow
def test_borda_with_ties_averages_what_ranx_assigns_in_list_order():
    # aspect 0 ties items 1 and 2; ranx gives them consecutive points in whatever order its
    # sorted run lists them (3 and 2 here, in some order), Borda here gives both the mean
    scores = np.array([[[0.9, 0.5, 0.5, 0.1]], [[0.1, 0.2, 0.3, 0.4]]])
    ours, theirs = borda(scores)[0], ranx_fuse(scores, "bordafuse")[0]
    assert ours[1] - ours[2] == 1 - 2  # aspect 0 gives both 1.5; aspect 1 gives 1 and 2
    assert sorted([theirs[1] - 2, theirs[2] - 3]) == [2.0, 3.0]  # aspect 0 gave 2 or 3 to each
    assert ours[1] + ours[2] + 2 * 2 == theirs[1] + theirs[2]  # the same total, shared equally


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ranx_inputs(odd_complete=True), st.floats(0.0, 1.0))
def test_condorcet_fuse_equals_ranx_condorcet_when_majority_is_a_strict_order(scores, spread):
    # pull aspects towards a common order so that most draws have no majority cycle
    scores = scores * spread + np.arange(scores.shape[2])[None, None, :] * (1 - spread)
    for row in scores.reshape(-1, scores.shape[2]):
        assume(np.diff(np.sort(row)).min() > 1e-6)  # still no ties
    transitive = [is_transitive_strict(scores[:, t].T) for t in range(scores.shape[1])]
    assume(all(transitive))
    theirs = ranx_fuse(scores, "condorcet")
    ours = condorcet_fuse(scores)
    np.testing.assert_array_equal(ours, theirs)  # both score c - position
    np.testing.assert_array_equal(np.argsort(-ours, axis=1), np.argsort(-copeland(scores), axis=1))


# ---------------------------------------------------------------- weight fitting
def test_fit_weights_finds_the_informative_aspect():
    rng = np.random.default_rng(0)
    n_tasks, n_items = 30, 40
    grades = (rng.random((n_tasks, n_items)) < 0.1).astype(float)
    useful = grades + 0.8 * rng.normal(size=grades.shape)
    noise = rng.normal(size=(2, n_tasks, n_items))
    scores = np.stack([useful, noise[0], noise[1]])
    for name in ("borda", "combsum"):
        weights = fit_weights(scores, grades, metric="ndcg@5", aggregator=name)
        assert weights[0] > max(weights[1], weights[2]), (name, weights)
    from bench.metrics import evaluate_arrays

    fitted = fit_weights(scores, grades, metric="ap", aggregator="rrf")
    before = evaluate_arrays(rrf(scores), grades, ["ap"])["ap"].mean()
    after = evaluate_arrays(rrf(scores, fitted), grades, ["ap"])["ap"].mean()
    assert after > before
