"""Leakage guard: normalisation, near-duplicates, phrase containment and the dataset report."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.core.dataset import Dataset, Employee, Task
from bench.data.leakage import (
    KINDS,
    LeakageFinding,
    NearDuplicateIndex,
    leakage_report,
    near_duplicate,
    normalise_text,
    token_jaccard,
)
from bench.data.textmatch import PhraseIndex


# ---- normalisation and similarity -----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plan the Downtime.", "plan the downtime"),
        ("  plan\tthe\n\ndowntime  ", "plan the downtime"),
        ("Kiln-retrofit (Q3)!!", "kiln retrofit q3"),
        ("snake_case & C++", "snake case c"),
        ("ＫＩＬＮ ﬁring", "kiln firing"),  # NFKC: full-width letters, the fi ligature
        ("Straße", "strasse"),  # case folding
        ("...!?", ""),
    ],
)
def test_normalise_text(text, expected):
    assert normalise_text(text) == expected


def test_token_jaccard_by_hand():
    # {plan, the, kiln, downtime} vs {plan, kiln, downtime, now}: 3 shared of 5 distinct.
    assert token_jaccard("Plan the kiln downtime", "plan, kiln downtime now") == pytest.approx(3 / 5)
    assert token_jaccard("a b", "c d") == 0.0
    assert token_jaccard("A b!", "b a") == 1.0
    assert token_jaccard("", "...") == 1.0 and token_jaccard("", "a") == 0.0


def test_near_duplicate_threshold_is_inclusive():
    assert near_duplicate("Plan the kiln downtime", "plan kiln downtime now", 0.6)
    assert not near_duplicate("Plan the kiln downtime", "plan kiln downtime now", 0.61)
    assert near_duplicate("Plan the kiln downtime.", "PLAN THE KILN DOWNTIME")  # default 0.8


_WORDS = st.sampled_from(["plan", "Plan", "kiln", "the", "downtime,", "audit", "a", "b", "c!", "tiles"])
_PHRASE = st.lists(_WORDS, max_size=6).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PHRASE, max_size=12), _PHRASE, st.sampled_from([0.3, 0.5, 0.6, 0.75, 0.8, 1.0]))
def test_near_duplicate_index_equals_brute_force(texts, query, threshold):
    expected = [i for i, t in enumerate(texts) if token_jaccard(query, t) >= threshold]
    assert NearDuplicateIndex(texts, threshold).matches(query) == expected


def test_near_duplicate_index_rejects_a_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicateIndex(["a"], 0.0)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PHRASE, max_size=10), st.lists(_WORDS, max_size=25).map(" ".join), st.integers(1, 4))
def test_phrase_index_equals_brute_force(phrases, text, head):
    haystack = f" {normalise_text(text)} "
    expected = [
        i for i, p in enumerate(phrases) if normalise_text(p) and f" {normalise_text(p)} " in haystack
    ]
    assert PhraseIndex(phrases, head=head).find(text) == expected


def test_phrase_index_respects_word_boundaries():
    index = PhraseIndex(["plan the kiln", "kiln"])
    assert index.find("We are planning the kiln work") == [1]
    assert index.find("Plan the kiln!") == [0, 1]
    assert index.find("kilns") == []


# ---- the dataset report ------------------------------------------------------------------------
def _dataset() -> Dataset:
    tasks = [
        Task("t1", "Kiln retrofit", "Plan the kiln downtime"),
        Task("t2", "Payroll", "Audit overtime claims"),
        Task("t3", "Showroom", "Design the tile display"),
        Task("t4", "Logistics", "!!!"),  # no words: matches nothing
    ]
    train = [
        Task("s1", "Kiln retrofit", "Plan the kiln downtime"),  # exact query (and task text)
        Task("s2", "Other project", "Audit overtime claims"),  # exact task text only
        Task("s3", "SHOWROOM", "design the tile-display."),  # normalised query
        Task("s4", "Warehouse", "AUDIT overtime   claims!"),  # normalised task text
        Task("s5", "Kiln retrofit", "Plan the kiln shutdown"),  # different: no finding
        Task("s6", "Logistics", "???"),  # no words: matches nothing
    ]
    employees = [
        Employee(
            "e1", {"experience": "Last year I had to Plan the kiln downtime twice.", "role": "Engineer"}
        ),
        Employee("e2", {"goals": "Learn to AUDIT overtime-claims properly", "role": "Audit overtime claims"}),
        Employee("e3", {"role": "Designs the tile display"}),  # 'designs' != 'design': no finding
    ]
    return Dataset("leaky", employees, tasks, {}, train_tasks=train)


def test_report_finds_each_kind_once():
    report = leakage_report(_dataset())
    found = {(f.kind, f.match, f.task_id, f.other_id, f.where) for f in report.findings}
    assert found == {
        ("train_eval", "exact", "t1", "s1", "query"),
        ("train_eval", "exact", "t2", "s2", "task text"),
        ("train_eval", "normalised", "t3", "s3", "query"),
        ("train_eval", "normalised", "t2", "s4", "task text"),
        ("eval_in_employee", "exact", "t1", "e1", "experience"),
        ("eval_in_employee", "normalised", "t2", "e2", "goals"),
        ("eval_in_employee", "exact", "t2", "e2", "role"),
    }
    assert report.counts() == {
        "train_eval_exact": 2,
        "train_eval_normalised": 2,
        "eval_in_employee_exact": 2,
        "eval_in_employee_normalised": 1,
    }
    assert report.total == 7 == len(report.to_json())


def test_report_lines_carry_ids_never_text():
    ds = _dataset()
    lines = leakage_report(ds).lines()
    assert "seed task 's1' duplicates eval task 't1' (exact query)" in lines
    assert "eval task 't2' appears in employee 'e2' aspect 'goals' (normalised)" in lines
    texts = [t.task for t in ds.tasks + ds.train_tasks] + [
        x for e in ds.employees for x in e.aspects.values()
    ]
    words = {w for text in texts for w in normalise_text(text).split() if len(w) > 3}
    for line in lines:
        assert not words & set(normalise_text(line).split()), line


def test_report_lines_limit():
    report = leakage_report(_dataset())
    lines = report.lines(limit=3)
    assert len(lines) == 4 and lines[-1] == "... and 4 more finding(s)"


def test_clean_dataset_has_zero_counts():
    ds = Dataset(
        "clean",
        [Employee("e1", {"role": "Engineer"})],
        [Task("t1", "P", "Plan the downtime")],
        {},
        train_tasks=[Task("s1", "P", "Audit payroll")],
    )
    report = leakage_report(ds)
    assert report.total == 0 and report.counts() == dict.fromkeys(KINDS, 0) and report.lines() == []


def test_finding_is_a_value():
    assert LeakageFinding("train_eval", "exact", "t1", "s1", "query") == LeakageFinding(
        "train_eval", "exact", "t1", "s1", "query"
    )


def test_twenty_thousand_tasks_by_a_thousand_employees_is_fast():
    """20k tasks x 1k employees x 5 aspects (about 3 M characters) in a few seconds, not hours."""
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(3000)]

    def sentence(n: int) -> str:
        return " ".join(rng.choices(vocab, k=n)) + "."

    tasks = [Task(f"t{i}", sentence(3), sentence(rng.randint(5, 12))) for i in range(20_000)]
    employees = [
        Employee(
            f"e{i}", {a: sentence(100) for a in ("role", "abilities", "experience", "goals", "behavior")}
        )
        for i in range(1000)
    ]
    employees[7] = Employee("e7", {"experience": f"Once: {tasks[123].task.upper()} Then more."})
    train = [Task("s1", tasks[9].project, tasks[9].task)]
    ds = Dataset("big", employees, tasks, {}, train_tasks=train)
    report = leakage_report(ds)
    assert {(f.task_id, f.other_id) for f in report.findings} == {("t123", "e7"), ("t9", "s1")}
