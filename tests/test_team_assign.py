"""Team assignment: exact against brute force and scipy, greedy against argmax, one-line refusals."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from bench.core.errors import ConfigError, TeamformError
from bench.team.assign import InfeasibleTeam, TeamConstraints, assign, check_counts, descending_order


def ids(n: int, prefix: str = "e") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def brute_force(scores: np.ndarray, c: TeamConstraints, employees: list[str]) -> float | None:
    """Best total over every way to give each task per_task distinct candidates; None if none fits."""
    n_tasks, n = scores.shape
    caps = [0 if e in c.exclude else (c.capacity or {}).get(e, c.max_tasks_per_person) for e in employees]
    required = [employees.index(e) for e in c.require]
    options = [
        [
            combo
            for combo in itertools.combinations(range(n), c.per_task)
            if not any(math.isnan(scores[t, e]) for e in combo)
        ]
        for t in range(n_tasks)
    ]
    best = None
    for team in itertools.product(*options):
        load = [0] * n
        for combo in team:
            for e in combo:
                load[e] += 1
        if any(load[e] > caps[e] for e in range(n)) or any(load[e] == 0 for e in required):
            continue
        total = sum(scores[t, e] for t, combo in enumerate(team) for e in combo)
        best = total if best is None else max(best, total)
    return best


def assert_feasible(
    picks: list[list[int]], scores: np.ndarray, c: TeamConstraints, employees: list[str]
) -> None:
    caps = c.caps(employees)
    load = np.zeros(len(employees), dtype=int)
    for t, row in enumerate(picks):
        assert len(row) == len(set(row)) == c.per_task
        assert not np.isnan(scores[t, row]).any()
        assert [scores[t, e] for e in row] == sorted((scores[t, e] for e in row), reverse=True)
        load[row] += 1
    assert (load <= caps).all()
    assert all(load[employees.index(e)] >= 1 for e in c.require)


@st.composite
def instances(draw, one_to_one: bool = False):
    n_tasks = draw(st.integers(1, 3))
    n = draw(st.integers(1, 7 if one_to_one else 5))
    employees = ids(n)
    # few distinct values: many ties, which is where solvers go wrong
    values = draw(
        st.lists(
            st.sampled_from([0.0, 0.1, 0.5, 0.5, 0.9, -0.3, np.nan]),
            min_size=n_tasks * n,
            max_size=n_tasks * n,
        )
    )
    scores = np.array(values).reshape(n_tasks, n)  # (n_tasks, n_employees)
    if one_to_one:
        return scores, TeamConstraints(), employees
    subset = st.lists(st.sampled_from(employees), max_size=2, unique=True)
    capacity = draw(st.none() | st.dictionaries(st.sampled_from(employees), st.integers(0, 3), max_size=3))
    c = TeamConstraints(
        per_task=draw(st.integers(1, 2)),
        max_tasks_per_person=draw(st.integers(1, 2)),
        capacity=capacity,
        exclude=draw(subset),
        require=draw(subset),
    )
    return scores, c, employees


def check_against_brute_force(scores: np.ndarray, c: TeamConstraints, employees: list[str]) -> None:
    tasks = ids(scores.shape[0], "t")
    best = brute_force(scores, c, employees)
    if best is None:
        with pytest.raises(InfeasibleTeam) as err:
            assign(scores, employees, tasks, c)
        assert "\n" not in str(err.value)
        return
    team = assign(scores, employees, tasks, c)
    assert team.objective == pytest.approx(best, abs=1e-9)
    assert team.objective == pytest.approx(sum(scores[t, e] for t, row in enumerate(team.picks) for e in row))
    assert_feasible(team.picks, scores, c, employees)


@settings(max_examples=300, deadline=None)
@given(instances(one_to_one=True))
def test_exact_one_to_one_matches_brute_force(instance):
    check_against_brute_force(*instance)


@settings(max_examples=400, deadline=None)
@given(instances())
def test_exact_with_constraints_matches_brute_force(instance):
    check_against_brute_force(*instance)


@pytest.mark.parametrize("seed", range(5))
def test_exact_matches_scipy_on_column_copies_with_capacities(seed):
    # one task each, capacities: the classic reduction copies employee e cap_e times, then
    # solves one-to-one on the full matrix, with none of assign's pruning
    rng = np.random.default_rng(seed)
    scores = rng.random((8, 30))  # (n_tasks, n_employees)
    scores[rng.random(scores.shape) < 0.3] = np.nan
    employees = ids(30)
    capacity = {e: int(k) for e, k in zip(employees, rng.integers(0, 4, size=30), strict=True)}
    copies = np.repeat(np.arange(30), [capacity[e] for e in employees])
    cost = np.where(np.isnan(scores[:, copies]), 1e6, -scores[:, copies])  # (n_tasks, n_copies)
    rows, cols = linear_sum_assignment(cost)
    reference = -cost[rows, cols].sum()
    team = assign(scores, employees, ids(8, "t"), TeamConstraints(capacity=capacity))
    assert team.objective == pytest.approx(reference)
    assert_feasible(team.picks, scores, TeamConstraints(capacity=capacity), employees)


def test_exact_one_to_one_on_100k_employees_matches_scipy_on_the_full_matrix():
    rng = np.random.default_rng(7)
    scores = rng.random((10, 100_000))  # (n_tasks, n_employees)
    rows, cols = linear_sum_assignment(-scores)
    team = assign(scores, ids(100_000), ids(10, "t"))
    assert team.objective == pytest.approx(scores[rows, cols].sum())
    assert team.solver == "exact"


def test_exact_beats_greedy_when_two_tasks_want_one_person():
    scores = np.array([[0.9, 0.8], [0.7, 0.1]])  # e0 is best for both tasks
    exact = assign(scores, ["e0", "e1"], ["t0", "t1"])
    assert exact.picks == [[1], [0]]
    assert exact.objective == pytest.approx(0.8 + 0.7)
    greedy = assign(scores, ["e0", "e1"], ["t0", "t1"], solver="greedy")
    assert greedy.picks == [[0], [0]]  # greedy ignores team.max_tasks_per_person
    assert greedy.objective == pytest.approx(0.9 + 0.7)


def test_capacity_overrides_max_tasks_per_person():
    scores = np.array([[0.9, 0.1, 0.1], [0.9, 0.1, 0.1]])
    employees = ["e0", "e1", "e2"]
    assert assign(scores, employees, ["t0", "t1"]).objective == pytest.approx(1.0)
    team = assign(scores, employees, ["t0", "t1"], TeamConstraints(capacity={"e0": 2}))
    assert team.picks == [[0], [0]]
    assert team.objective == pytest.approx(1.8)


def test_exclude_and_require_shape_the_team():
    scores = np.array([[0.9, 0.5, 0.2, 0.1], [0.8, 0.6, 0.3, 0.0]])
    employees = ids(4)
    team = assign(scores, employees, ["t0", "t1"], TeamConstraints(exclude=["e0"], require=["e3"]))
    assert 0 not in sum(team.picks, [])
    assert 3 in sum(team.picks, [])
    # e3 on t0 (0.1) with e1 on t1 (0.6) beats e3 on t1 (0.0) with e1 on t0 (0.5)
    assert team.picks == [[3], [1]]
    assert team.objective == pytest.approx(0.1 + 0.6)


def test_per_task_two_lists_best_first():
    scores = np.array([[0.2, 0.9, 0.5, 0.7]])
    team = assign(scores, ids(4), ["t0"], TeamConstraints(per_task=2))
    assert team.picks == [[1, 3]]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.data())
def test_greedy_is_argmax_per_task_with_ties_to_the_lower_index(n_tasks, n, data):
    values = data.draw(
        st.lists(st.sampled_from([0.0, 0.5, 0.5, 1.0, np.nan]), min_size=n_tasks * n, max_size=n_tasks * n)
    )
    scores = np.array(values).reshape(n_tasks, n)
    scores[:, -1] = 0.25  # every task has a candidate
    team = assign(scores, ids(n), ids(n_tasks, "t"), solver="greedy")
    expected = [[int(np.argmax(np.where(np.isnan(row), -np.inf, row)))] for row in scores]  # first max
    assert team.picks == expected
    assert team.solver == "greedy"


def test_greedy_per_task_two_breaks_ties_by_employee_order():
    scores = np.array([[0.5, 0.9, 0.5, 0.5]])
    team = assign(scores, ids(4), ["t0"], TeamConstraints(per_task=2, exclude=["e0"]), solver="greedy")
    assert team.picks == [[1, 2]]


def test_descending_order_puts_nan_last_and_ties_by_index():
    order = descending_order(np.array([[np.nan, -np.inf, 0.5, 0.5, 2.0]]))
    assert order.tolist() == [[4, 2, 3, 1, 0]]


def refusal(call) -> str:
    with pytest.raises(InfeasibleTeam) as err:
        call()
    message = str(err.value)
    assert "\n" not in message
    assert isinstance(err.value, TeamformError) and err.value.exit_code == 2
    return message


def test_check_counts_refuses_more_seats_than_people_before_any_scores():
    c = TeamConstraints(per_task=2, exclude=[f"e{i}" for i in range(29)])
    message = refusal(lambda: check_counts(5, 36, c, ids(36)))
    assert message == (
        "team.per_task=2 needs 10 seats but only 7 people can take tasks (36 employees, "
        "29 excluded); lower team.per_task or raise team.max_tasks_per_person"
    )
    # greedy may reuse people, so the same request is fine there
    assert check_counts(5, 36, c, ids(36), solver="greedy").sum() == 7
    assert check_counts(5, 36, TeamConstraints(per_task=2, max_tasks_per_person=2), ids(36)).sum() == 72


@pytest.mark.parametrize(
    ("n_tasks", "n", "constraints", "expected"),
    [
        (3, 5, TeamConstraints(require=["e1"], exclude=["e1"]), "team.require: e1 is also in team.exclude"),
        (
            3,
            5,
            TeamConstraints(require=ids(4)),
            "team.require names 4 people but the 3 tasks have only 3 seats",
        ),
        (1, 5, TeamConstraints(exclude=["e999"]), "team.exclude: unknown employee id 'e999'"),
        (1, 5, TeamConstraints(require=["x", "y"]), "team.require: unknown employee id 'x' (and 1 more)"),
        (1, 5, TeamConstraints(require=["e2"], capacity={"e2": 0}), "team.require: e2 has capacity 0"),
        (
            1,
            3,
            TeamConstraints(per_task=3, exclude=["e0"]),
            "team.per_task=3 needs 3 different people per task",
        ),
        (
            3,
            3,
            TeamConstraints(max_tasks_per_person=2, capacity={"e0": 0, "e1": 0}),
            (
                "team.per_task=1 needs 3 seats but only 1 person can take tasks, "
                "2 seats in all (3 employees, 0 excluded)"
            ),
        ),
        (0, 3, TeamConstraints(), "the project has no tasks"),
    ],
)
def test_check_counts_refusals_name_the_key(n_tasks, n, constraints, expected):
    assert expected in refusal(lambda: check_counts(n_tasks, n, constraints, ids(n)))


def test_duplicate_employee_ids_are_refused():
    assert "employee id 'e1' appears more than once" in refusal(
        lambda: check_counts(1, 3, TeamConstraints(), ["e0", "e1", "e1"])
    )


def test_task_with_too_few_candidates():
    scores = np.array([[0.5, 0.4, 0.3], [0.5, np.nan, np.nan]])
    c = TeamConstraints(per_task=2, max_tasks_per_person=2)
    message = refusal(lambda: assign(scores, ids(3), ["t1", "t3"], c))
    assert message.startswith("task t3 has only 1 candidate for team.per_task=2; lower team.per_task")


def test_milp_infeasible_names_the_task_limit():
    # both tasks can only use e0, who takes one task: a Hall violation counts alone cannot see
    scores = np.array([[0.5, np.nan], [0.7, np.nan]])
    assert "team.max_tasks_per_person" in refusal(lambda: assign(scores, ids(2), ["t0", "t1"]))
    # with a require that is not the problem, the message still names the task limit
    scores = np.array([[0.5, np.nan, 0.2], [0.7, np.nan, np.nan], [0.6, np.nan, np.nan]])
    c = TeamConstraints(require=["e2"])
    message = refusal(lambda: assign(scores, ids(3), ["t0", "t1", "t2"], c))
    assert message.startswith("team.per_task=1:") and "team.max_tasks_per_person" in message


def test_milp_infeasible_names_require_when_it_binds():
    # e1 and e2 are candidates for t0 only, which has one seat
    scores = np.array([[0.1, 0.2, 0.3], [0.5, np.nan, np.nan]])
    c = TeamConstraints(require=["e1", "e2"], max_tasks_per_person=2)
    assert refusal(lambda: assign(scores, ids(3), ["t0", "t1"], c)).startswith("team.require:")


def test_required_person_without_scores():
    scores = np.array([[0.1, np.nan], [0.5, np.nan]])
    c = TeamConstraints(require=["e1"], max_tasks_per_person=2)
    assert "team.require: e1 is not a candidate for any task" in refusal(
        lambda: assign(scores, ids(2), ["a", "b"], c)
    )


def test_bad_config_values_name_the_key():
    with pytest.raises(ConfigError, match=r"^team\.per_task must be an integer >= 1, got 0$"):
        TeamConstraints(per_task=0)
    with pytest.raises(ConfigError, match="team.max_tasks_per_person"):
        TeamConstraints(max_tasks_per_person=True)
    with pytest.raises(ConfigError, match="capacity of employee 'e1'"):
        TeamConstraints(capacity={"e1": -1})
    with pytest.raises(ConfigError, match=r"unknown team\.solver 'best'; choose one of: exact, greedy"):
        assign(np.zeros((1, 1)), ["e0"], ["t0"], solver="best")


def test_ids_are_normalised():
    c = TeamConstraints(exclude="e1", require=[7, "e2", "e2"])
    assert c.exclude == ("e1",)
    assert c.require == ("7", "e2")
    assert c.as_dict()["require"] == ["7", "e2"]


def test_scores_must_match_the_ids():
    with pytest.raises(ValueError, match="fused scores"):
        assign(np.zeros((2, 3)), ids(3), ["t0"])
    with pytest.raises(ValueError, match="finite"):
        assign(np.array([[np.inf, 0.0]]), ids(2), ["t0"])


def test_the_team_package_imports_no_framework():
    code = (
        "import sys, bench.team.assign, bench.team.explain, bench.team.render, bench.team.project; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'hydra', 'omegaconf', 'lightning'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
