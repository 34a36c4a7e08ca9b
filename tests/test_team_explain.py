"""Team explanations (team.json) and TEAM.md: ranks by hand and by a slow reference, displaced, escaping."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.team.assign import Assignment, TeamConstraints, assign
from bench.team.explain import explain_tasks, ranks_of, team_document
from bench.team.render import cell, compare_solvers, render_team_md

NAN = np.nan
EMPLOYEES = ["e0", "e1", "e2", "e3"]
TASKS = ["t0", "t1"]
ASPECTS = ["role", "goals"]
ASPECT_SCORES = np.array(
    [  # (m_aspects, n_tasks, n_employees)
        [[0.7, 0.9, 0.7, 0.1], [0.3, 0.3, 0.3, 0.3]],  # role
        [[NAN, 0.2, 0.8, 0.8], [0.5, NAN, -1.0, 0.0]],  # goals
    ]
)
FUSED = np.array([[0.6, 0.9, 0.8, 0.2], [0.5, 0.85, 0.1, 0.4]])  # (n_tasks, n_employees)


def slow_ranks(row: list[float]) -> list[int]:
    """1-based ranks by (-score, index) among the non-NaN entries; 0 for NaN."""
    order = sorted((i for i, s in enumerate(row) if not math.isnan(s)), key=lambda i: (-row[i], i))
    ranks = [0] * len(row)
    for position, i in enumerate(order):
        ranks[i] = position + 1
    return ranks


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([0.0, 0.5, 0.5, 1.0, -2.0, NAN]), min_size=5, max_size=5),
        min_size=1,
        max_size=3,
    )
)
def test_ranks_of_matches_a_slow_reference(rows):
    scores = np.array(rows)  # (n_rows, 5)
    assert ranks_of(scores, [0, 1, 2, 3, 4]).tolist() == [slow_ranks(row) for row in rows]
    assert ranks_of(scores, [3, 1]).tolist() == [[slow_ranks(row)[3], slow_ranks(row)[1]] for row in rows]


def test_hand_made_example():
    # exact: t0 <- e2 and t1 <- e1 total 0.8 + 0.85 = 1.65, more than any pairing giving t0 e1
    team = assign(FUSED, EMPLOYEES, TASKS)
    assert team.picks == [[2], [1]]
    t0, t1 = explain_tasks(ASPECT_SCORES, ASPECTS, FUSED, team, TASKS, EMPLOYEES, TeamConstraints())
    assert t0["assigned"] == [
        {
            "employee_id": "e2",
            "fused_score": 0.8,
            "rank": 2,  # 0.9 of e1 is higher
            "aspects": {
                "role": {"rank": 3, "score": 0.7},  # e1 0.9, e0 0.7 (earlier)
                "goals": {"rank": 1, "score": 0.8},
            },
        }
    ]  # ties e3, earlier
    assert t1["assigned"][0]["aspects"] == {
        "role": {"rank": 2, "score": 0.3},  # all 0.3: index order
        "goals": {"rank": None, "score": None},
    }
    assert t0["next"] == [
        {"employee_id": "e1", "fused_score": 0.9, "rank": 1, "assigned_to": "t1"},
        {"employee_id": "e0", "fused_score": 0.6, "rank": 3, "assigned_to": None},
        {"employee_id": "e3", "fused_score": 0.2, "rank": 4, "assigned_to": None},
    ]
    assert [p["employee_id"] for p in t1["next"]] == ["e0", "e3", "e2"]
    assert t1["next"][2]["assigned_to"] == "t0"
    assert t0["displaced"]["employee_id"] == "e1"
    assert t0["displaced"]["taken_by"] == "t1"
    assert "e1 takes at most 1 task" in t0["displaced"]["reason"]
    assert t1["displaced"] is None


def test_displaced_by_exclude_has_no_taker_and_next_skips_excluded():
    fused = np.array([[0.9, 0.5, 0.4, 0.3, 0.2]])
    c = TeamConstraints(exclude=["e0"])
    team = assign(fused, ids5(), ["t0"], c)
    (row,) = explain_tasks(fused[None], ["role"], fused, team, ["t0"], ids5(), c)
    assert row["displaced"] == {
        "employee_id": "e0",
        "fused_score": 0.9,
        "taken_by": None,
        "reason": "in team.exclude",
    }
    assert [p["employee_id"] for p in row["next"]] == ["e2", "e3", "e4"]
    assert [p["rank"] for p in row["next"]] == [3, 4, 5]  # ranks count the excluded e0
    (plain,) = explain_tasks(fused[None], ["role"], fused, team, ["t0"], ids5())
    assert [p["employee_id"] for p in plain["next"]] == ["e0", "e2", "e3"]


def test_displaced_by_require():
    fused = np.array([[0.9, 0.1]])
    c = TeamConstraints(require=["e1"])
    team = assign(fused, ["e0", "e1"], ["t0"], c)
    (row,) = explain_tasks(fused[None], ["role"], fused, team, ["t0"], ["e0", "e1"], c)
    assert row["displaced"]["taken_by"] is None and "team.require" in row["displaced"]["reason"]


def test_a_tie_with_the_top_candidate_is_not_displacement():
    fused = np.array([[0.5, 0.5], [0.5, 0.1]])
    team = Assignment(picks=[[1], [0]], objective=1.0, solver="exact")
    t0, _ = explain_tasks(fused[None], ["role"], fused, team, TASKS, ["e0", "e1"])
    assert t0["displaced"] is None
    worse = Assignment(picks=[[1], [0]], objective=0.9, solver="exact")
    fused[0, 1] = 0.4
    t0, _ = explain_tasks(fused[None], ["role"], fused, worse, TASKS, ["e0", "e1"])
    assert t0["displaced"]["employee_id"] == "e0" and t0["displaced"]["taken_by"] == "t1"


@pytest.mark.timeout(60)
def test_explain_scales_to_100k_employees():
    rng = np.random.default_rng(0)
    aspect_scores = rng.random((5, 4, 100_000))  # (m_aspects, n_tasks, n_employees)
    fused = aspect_scores.mean(axis=0)
    employees = [f"e{i}" for i in range(100_000)]
    team = assign(fused, employees, ["a", "b", "c", "d"], TeamConstraints(per_task=2))
    rows = explain_tasks(aspect_scores, list("vwxyz"), fused, team, ["a", "b", "c", "d"], employees)
    best = int(np.argmax(fused[0]))
    for person in rows[0]["assigned"]:
        e = employees.index(person["employee_id"])
        assert person["rank"] == 1 + int((fused[0] > fused[0, e]).sum())
        assert person["aspects"]["v"]["rank"] == 1 + int((aspect_scores[0, 0] > aspect_scores[0, 0, e]).sum())
    assert rows[0]["displaced"] is None or rows[0]["displaced"]["employee_id"] == employees[best]


def ids5() -> list[str]:
    return [f"e{i}" for i in range(5)]


def build_doc() -> dict:
    team = assign(FUSED, EMPLOYEES, TASKS)
    tasks = explain_tasks(ASPECT_SCORES, ASPECTS, FUSED, team, TASKS, EMPLOYEES, TeamConstraints())
    comparison = compare_solvers(FUSED, EMPLOYEES, TASKS)
    return team_document(
        "Coffee | app",
        "minilm/borda",
        team.solver,
        team.objective,
        tasks,
        TeamConstraints(exclude=["e3"]),
        {"comparison": comparison},
    )


def test_team_document_is_strict_json_in_order():
    doc = build_doc()
    assert list(doc) == ["project", "system", "solver", "objective", "constraints", "tasks", "comparison"]
    assert doc["constraints"] == {
        "per_task": 1,
        "max_tasks_per_person": 1,
        "exclude": ["e3"],
        "require": [],
        "capacity": {},
    }
    assert doc["objective"] == pytest.approx(0.8 + 0.85)
    json.dumps(doc, allow_nan=False)  # NaN aspect scores became null
    with pytest.raises(ValueError, match="tasks"):
        team_document("p", "s", "exact", 0.0, [], {}, {"tasks": []})


def test_compare_solvers_counts_differing_tasks():
    comparison = compare_solvers(FUSED, EMPLOYEES, TASKS)
    # greedy gives e1 to both tasks: 0.9 + 0.85
    assert comparison == {
        "exact": pytest.approx(1.65),
        "greedy": pytest.approx(1.75),
        "differing_tasks": ["t0"],
        "n_differing": 1,
    }


def unescaped_pipes(line: str) -> int:
    return line.replace("\\\\", "").replace("\\|", "").count("|")


def test_cell_escapes_pipes_backslashes_and_newlines():
    assert cell("a|b\nc\r\n d") == "a\\|b c d"
    assert unescaped_pipes(cell("x\\|y")) == 0  # a backslash before a pipe cannot unescape it


def test_render_shows_no_employee_text_unless_given():
    doc = build_doc()
    texts = {"e2": {"role": "SECRET-ROLE | lead\nof the cafe"}, "e1": {"goals": "SECRET-GOAL"}}
    task_texts = {"t0": "Design | build\nthe UI", "t1": "Run the API"}
    plain = render_team_md(doc, task_texts)
    assert "SECRET" not in plain and "Profiles" not in plain
    shown = render_team_md(doc, task_texts, employee_texts=texts)
    assert "| e2 | role | SECRET-ROLE \\| lead of the cafe |" in shown
    assert "| e1 | goals | SECRET-GOAL |" in shown
    for md in (plain, shown):
        assert "Design \\| build the UI" in md
        table = None
        for line in md.splitlines():
            if line.startswith("|"):
                table = unescaped_pipes(line) if table is None else table
                assert unescaped_pipes(line) == table, line  # every row of a table has its columns
            else:
                table = None


def test_render_lists_assignments_next_and_displaced():
    md = render_team_md(build_doc(), {"t0": "Design the UI", "t1": "Run the API"})
    assert md.startswith("# Team: Coffee \\| app\n")
    assert "- **Objective:** 1.6500" in md
    assert "exclude: e3, require: none" in md
    assert "| t0 | Design the UI | e2 | 0.800 | 2 | role 3 (0.70), goals 1 (0.80) |" in md
    assert "| t1 | Run the API | e1 | 0.850 | 1 | role 2 (0.30), goals n/a |" in md
    assert "| t0 | e1 0.900 (rank 1, on t1), e0 0.600 (rank 3), e3 0.200 (rank 4) |" in md
    assert "- t0's top candidate e1 (0.900) went to t1: " in md
    assert "Greedy vs exact:** exact 1.6500, greedy 1.7500; 1 task(s) differ (t0)" in md
    no_text = render_team_md(build_doc(), None)
    assert "| t0 | e2 | 0.800 | 2 |" in no_text and "Design the UI" not in no_text
