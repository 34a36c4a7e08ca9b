"""Metrics three ways: hand-computed values, a slow reference on random runs, pytrec_eval / sklearn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import pytrec_eval
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from bench.core.errors import ConfigError
from bench.metrics import METRICS, Run, evaluate, evaluate_arrays, mean, parse_metric

CUTOFFS = (1, 3, 5, 10)
ALL = ["ap", "mrr", "auc"] + [f"{m}@{k}" for m in ("ndcg", "hit", "recall") for k in CUTOFFS]
TREC_NAMES = {"ap": "map", "mrr": "recip_rank"} | {
    f"{m}@{k}": f"{t}{k}"
    for m, t in (("ndcg", "ndcg_cut_"), ("hit", "success_"), ("recall", "recall_"))
    for k in CUTOFFS
}
LOG2_3 = math.log2(3)


# ---------------------------------------------------------------- hand-computed values
def test_hand_computed_binary_ranking():
    # ranking e1 > e2 > e3 > e4 > e5; relevant: e2, e4 and e9 (never retrieved); e3 judged 0
    run = {"t": {"e1": 0.9, "e2": 0.8, "e3": 0.7, "e4": 0.6, "e5": 0.5}}
    qrels = {"t": {"e2": 1, "e3": 0, "e4": 1, "e9": 1}}
    v = evaluate(run, qrels, ["ap", "mrr", "hit@1", "hit@2", "recall@2", "recall@5", "ndcg@3", "auc"])["t"]
    assert v["ap"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert v["mrr"] == pytest.approx(1 / 2)
    assert v["hit@1"] == 0.0 and v["hit@2"] == 1.0
    assert v["recall@2"] == pytest.approx(1 / 3) and v["recall@5"] == pytest.approx(2 / 3)
    assert v["ndcg@3"] == pytest.approx((1 / LOG2_3) / (1 + 1 / LOG2_3 + 1 / 2))
    # judged: e2 (0.8, +), e3 (0.7, -), e4 (0.6, +), e9 (unretrieved = lowest, +): pairs won 1, 0, 0
    assert v["auc"] == pytest.approx((1 + 0 + 0) / 3)


def test_hand_computed_graded_ndcg_uses_exponential_gain():
    run = {"t": {"a": 3.0, "b": 2.0, "c": 1.0}}
    qrels = {"t": {"a": 0, "b": 2, "c": 1}}
    dcg = 0 / 1 + (2**2 - 1) / LOG2_3 + (2**1 - 1) / 2
    ideal = (2**2 - 1) / 1 + (2**1 - 1) / LOG2_3
    assert evaluate(run, qrels, ["ndcg@3"])["t"]["ndcg@3"] == pytest.approx(dcg / ideal)
    assert evaluate(run, qrels, ["ndcg@1"])["t"]["ndcg@1"] == 0.0


def test_ties_are_broken_by_item_id_descending_like_trec_eval():
    run = {"t": {"a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}}  # trec order: d, c, b, a
    assert evaluate(run, {"t": {"a": 1}}, ["mrr"])["t"]["mrr"] == pytest.approx(1 / 4)
    assert evaluate(run, {"t": {"c": 1}}, ["mrr"])["t"]["mrr"] == pytest.approx(1 / 2)
    # byte order: uppercase sorts before lowercase, a prefix before its extensions
    run = {"t": {"a": 0.5, "B": 0.5, "c": 0.5, "aa": 0.5}}  # trec order: c, aa, a, B
    assert evaluate(run, {"t": {"a": 1}}, ["mrr"])["t"]["mrr"] == pytest.approx(1 / 3)
    # trec_eval keeps scores as C floats: scores equal in single precision are tied
    run = {"t": {"a": 0.5 + 1e-9, "b": 0.5, "c": 0.5 + 1e-6}}  # float32: c > a == b
    assert evaluate(run, {"t": {"a": 1}}, ["mrr"])["t"]["mrr"] == pytest.approx(1 / 3)


def test_condensed_ranks_only_judged_items():
    run = {"t": {"z": 1.0, "y": 0.95, "b": 0.9, "a": 0.1}}
    qrels = {"t": {"a": 1, "b": 0, "c": 1}}
    full = evaluate(run, qrels, ["ap", "mrr"])["t"]
    condensed = evaluate(run, qrels, ["ap", "mrr"], unjudged="condensed")["t"]
    assert full == pytest.approx({"ap": (1 / 4) / 2, "mrr": 1 / 4})
    assert condensed == pytest.approx({"ap": (1 / 2) / 2, "mrr": 1 / 2})


def test_negative_grade_means_unjudged_like_trec_eval():
    run = {"t": {"a": 0.9, "b": 0.5, "c": 0.1}}
    qrels = {"t": {"a": -1, "b": 1, "c": 0}}
    assert evaluate(run, qrels, ["ap"])["t"]["ap"] == pytest.approx(1 / 2)  # a non-relevant
    assert evaluate(run, qrels, ["ap"], unjudged="condensed")["t"]["ap"] == 1.0  # a dropped
    assert evaluate(run, qrels, ["auc"])["t"]["auc"] == 1.0  # b vs c only


def test_tasks_without_relevant_items_score_zero_and_auc_nan():
    run = {"t1": {"a": 0.9, "b": 0.1}, "t2": {"a": 0.2, "b": 0.3}}
    qrels = {"t1": {"a": 0, "b": 0}, "t2": {"a": 1, "b": 0}, "t3": {"a": 1}, "t4": {}}
    per_task = evaluate(run, qrels, ["ap", "ndcg@5", "auc"])
    assert list(per_task) == ["t1", "t2", "t3"]  # t4 has no judgment: skipped like trec_eval
    assert per_task["t1"]["ap"] == 0.0 and per_task["t1"]["ndcg@5"] == 0.0
    assert math.isnan(per_task["t1"]["auc"])
    assert per_task["t3"] == {"ap": 0.0, "ndcg@5": 0.0, "auc": pytest.approx(math.nan, nan_ok=True)}
    assert per_task["t2"]["auc"] == 0.0
    means = mean(per_task)
    assert means["ap"] == pytest.approx((0 + 1 / 2 + 0) / 3)
    assert means["auc"] == 0.0  # the mean over the one task with both classes


def test_parse_metric_names_and_errors():
    assert parse_metric("ndcg@5") == (METRICS["ndcg"], 5)
    assert parse_metric("ap") == (METRICS["ap"], None)
    for bad, fragment in [
        ("ndcg", "needs a cutoff"),
        ("ap@5", "takes no cutoff"),
        ("hit@0", "invalid cutoff"),
        ("hit@x", "invalid cutoff"),
        ("map", "unknown metric"),
    ]:
        with pytest.raises(ConfigError, match=fragment):
            parse_metric(bad)


def test_run_dataclass_equals_dict_input_and_truncates_in_trec_order():
    run_dict = {"t": {"a": 0.5, "b": 0.5, "c": 0.9, "d": 0.1}}
    run = Run.from_dict(run_dict)
    qrels = {"t": {"a": 1, "b": 0, "d": 2}}
    assert evaluate(run, qrels, ALL) == evaluate(run_dict, qrels, ALL)
    assert run.truncate(2).to_dict() == {"t": {"c": 0.9, "b": 0.5}}
    with pytest.raises(ValueError, match="duplicate item id 'a'"):
        Run(["t"], ["a", "a"], np.zeros((1, 2)))


def test_array_core_matches_dict_entry_point():
    scores = np.array([[0.3, np.nan, 0.3, -np.inf], [0.1, 0.2, 0.3, 0.4]])
    grades = np.array([[1, 0, np.nan, 2], [np.nan, 1, 0, np.nan]])
    ids = ["a", "b", "c", "d"]
    values = evaluate_arrays(scores, grades, ["ap", "ndcg@3"], item_ids=ids)
    qrels = {
        t: {ids[i]: int(grades[r, i]) for i in range(4) if not np.isnan(grades[r, i])}
        for r, t in enumerate(["t0", "t1"])
    }
    per_task = evaluate(Run(["t0", "t1"], ids, scores), qrels, ["ap", "ndcg@3"])
    assert values["ap"].tolist() == [per_task["t0"]["ap"], per_task["t1"]["ap"]]
    assert values["ap"][0] == pytest.approx((1 / 2) / 2)  # c (unjudged, id > a) ranks first


# ---------------------------------------------------------------- random runs
@st.composite
def runs_and_qrels(draw):
    """Random run + graded sparse qrels with ties, unretrieved and unjudged items, empty tasks."""
    n_tasks = draw(st.integers(1, 4))
    ids = draw(st.lists(st.text("abAB01", min_size=1, max_size=3), min_size=1, max_size=14, unique=True))
    run, qrels = {}, {}
    for t in range(n_tasks):
        ranking, judgments = {}, {}
        for item in ids:
            if draw(st.booleans()):  # retrieved; few distinct values make ties common
                ranking[item] = draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, -2.0, 7.5]))
            if draw(st.integers(0, 2)) > 0:  # judged
                judgments[item] = draw(st.sampled_from([-1, 0, 0, 0, 1, 1, 2, 3]))
        run[f"t{t}"], qrels[f"t{t}"] = ranking, judgments
    return run, qrels


def _trec_order(ranking: dict[str, float]) -> list[str]:
    by_id_descending = sorted(ranking, reverse=True)
    return sorted(by_id_descending, key=lambda item: -ranking[item])  # stable: ties keep id order


def _reference(ranking, judgments, name):
    """Textbook definitions, one task, plain Python."""
    order = _trec_order(ranking)
    rel = [judgments.get(item, 0) for item in order]
    n_rel = sum(g > 0 for g in judgments.values())
    key, _, k = name.partition("@")
    k = int(k) if k else None
    if key == "ap":
        hits, total = 0, 0.0
        for i, g in enumerate(rel, start=1):
            if g > 0:
                hits += 1
                total += hits / i
        return total / n_rel if n_rel else 0.0
    if key == "mrr":
        return next((1 / i for i, g in enumerate(rel, start=1) if g > 0), 0.0)
    if key == "hit":
        return float(any(g > 0 for g in rel[:k]))
    if key == "recall":
        return sum(g > 0 for g in rel[:k]) / n_rel if n_rel else 0.0
    if key == "ndcg":

        def dcg(grades):
            return sum((2 ** max(g, 0) - 1) / math.log2(i + 1) for i, g in enumerate(grades[:k], start=1))

        ideal = dcg(sorted(judgments.values(), reverse=True))
        return dcg(rel) / ideal if ideal > 0 else 0.0
    if key == "auc":
        pos = [ranking.get(i, -math.inf) for i, g in judgments.items() if g > 0]
        neg = [ranking.get(i, -math.inf) for i, g in judgments.items() if g == 0]
        if not pos or not neg:
            return math.nan
        return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
    raise AssertionError(name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs_and_qrels(), st.sampled_from(["nonrelevant", "condensed"]))
def test_equals_slow_reference(data, unjudged):
    run, qrels = data
    per_task = evaluate(run, qrels, ALL, unjudged=unjudged)
    for task, judgments in qrels.items():
        if not judgments:
            assert task not in per_task
            continue
        ranking = run[task]
        if unjudged == "condensed":  # a negative grade means "pooled but unjudged" (trec_eval)
            ranking = {i: s for i, s in ranking.items() if judgments.get(i, -1) >= 0}
        for name in ALL:
            expected = _reference(ranking, judgments, name)
            assert per_task[task][name] == pytest.approx(expected, abs=1e-12, nan_ok=True), (task, name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs_and_qrels(), st.sampled_from(["nonrelevant", "condensed"]))
def test_equals_pytrec_eval(data, unjudged):
    run, qrels = data
    # trec_eval's nDCG gain is the label itself: give it 2^grade - 1 to get our 2^rel - 1 gain
    trec_qrels = {t: {i: (2**g - 1 if g > 0 else g) for i, g in j.items()} for t, j in qrels.items()}
    evaluator = pytrec_eval.RelevanceEvaluator(
        trec_qrels, set(TREC_NAMES.values()), judged_docs_only_flag=unjudged == "condensed"
    )
    expected = evaluator.evaluate(run)
    ours = evaluate(run, qrels, list(TREC_NAMES), unjudged=unjudged)
    assert set(expected) == set(ours)
    for task, values in expected.items():
        for name, trec_name in TREC_NAMES.items():
            assert abs(ours[task][name] - values[trec_name]) <= 1e-9, (task, name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs_and_qrels())
def test_auc_equals_sklearn(data):
    run, qrels = data
    per_task = evaluate(run, qrels, ["auc"])
    for task, judgments in qrels.items():
        if not judgments:
            continue
        items = [i for i, g in judgments.items() if g >= 0]  # negative grade = unjudged
        labels = [judgments[i] > 0 for i in items]
        if not items or all(labels) or not any(labels):
            assert math.isnan(per_task[task]["auc"])
            continue
        floor = min(run[task].values(), default=0.0) - 1.0  # unretrieved: below every score
        scores = [run[task].get(i, floor) for i in items]
        assert per_task[task]["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e-7])
def test_vectorised_over_many_tasks_equals_pytrec_eval(scale):
    rng = np.random.default_rng(0)
    n_tasks, n_items = 60, 300
    ids = [f"e{i}" for i in range(n_items)]
    # rounding makes ties; at scale 1e-7 many scores differ only beyond float32 precision
    scores = 0.5 + scale * np.round(rng.normal(size=(n_tasks, n_items)), 4)
    scores[rng.random(scores.shape) < 0.2] = np.nan
    run = Run([f"t{t}" for t in range(n_tasks)], ids, scores)
    qrels = {
        f"t{t}": {ids[i]: int(rng.integers(0, 3)) for i in rng.choice(n_items, 40, replace=False)}
        for t in range(n_tasks)
    }
    expected = pytrec_eval.RelevanceEvaluator(
        {t: {i: 2**g - 1 for i, g in j.items()} for t, j in qrels.items()}, set(TREC_NAMES.values())
    ).evaluate(run.to_dict())
    ours = evaluate(run, qrels, list(TREC_NAMES))
    worst = max(abs(ours[t][n] - expected[t][tn]) for t in expected for n, tn in TREC_NAMES.items())
    assert worst <= 1e-9
