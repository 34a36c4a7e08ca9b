"""The reserved ``capacity`` key of the custom format: reading, validation, export, the hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.core.dataset import Dataset, Employee, Task
from bench.core.errors import DataError
from bench.data.custom import load_custom
from bench.data.export import export_custom

EMPLOYEES = (
    '{"id": "e1", "capacity": 2, "aspects": {"role": "Plant manager", "goals": "Learn Python"}}\n'
    '{"id": "e2", "aspects": {"role": "HR partner"}, "capacity": 0}\n'
    '{"id": "e3", "aspects": {"behavior": "Calm under pressure"}}\n'
    '{"id": "e4", "aspects": {"role": "Buyer"}, "capacity": null}\n'
)
EMPLOYEES_CSV = (
    "id,role,capacity,goals,behavior\n"
    "e1,Plant manager,2,Learn Python,\n"
    "e2,HR partner, 0 ,,\n"
    "e3,,,,Calm under pressure\n"
    "e4,Buyer,,,\n"
)
TASKS = (
    '{"id": "t1", "project": "Kiln retrofit", "task": "Plan the downtime"}\n'
    '{"id": "t2", "project": "Payroll", "task": "Audit overtime"}\n'
)
LABELS = "task_id,employee_id,label\nt1,e1,2\nt1,e2,0\nt2,e2,1\n"
CAPACITIES = {"e1": 2, "e2": 0, "e3": None, "e4": None}


def make(tmp_path: Path, employees: str, name: str = "employees.jsonl") -> Path:
    root = tmp_path / "data"
    root.mkdir(parents=True)
    (root / name).write_text(employees, encoding="utf-8")
    (root / "tasks.jsonl").write_text(TASKS, encoding="utf-8")
    (root / "labels.csv").write_text(LABELS, encoding="utf-8")
    return root


def capacities(dataset: Dataset) -> dict[str, int | None]:
    return {e.id: e.capacity for e in dataset.employees}


def expect_error(root: Path, file: str, line: int, *fragments: str) -> str:
    """Loading ``root`` fails with one line naming ``root/file:line``, the fragments and a fix."""
    with pytest.raises(DataError) as info:
        load_custom(root)
    message = str(info.value)
    prefix = f"{root / file}:{line}: "
    assert message.startswith(prefix), message
    assert info.value.line == line
    assert "\n" not in message
    assert "; " in message[len(prefix) :], f"no fix in: {message}"
    for fragment in fragments:
        assert fragment in message, message
    return message


def hash_without_capacity(dataset: Dataset) -> str:
    """The content hash as computed before ``capacity`` existed (a frozen copy of that code)."""
    canonical: dict[str, Any] = {
        "aspects": list(dataset.aspects),
        "employees": sorted(
            ([e.id, {a: t for a, t in sorted(e.aspects.items()) if t}] for e in dataset.employees),
            key=lambda r: r[0],
        ),
        "tasks": sorted([t.id, t.project, t.task] for t in dataset.tasks),
        "qrels": {t: dict(sorted(d.items())) for t, d in sorted(dataset.qrels.items()) if d},
        "train_tasks": sorted([t.id, t.project, t.task] for t in dataset.train_tasks),
        "context": dataset.context.strip(),
    }
    blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def without_capacities(dataset: Dataset) -> Dataset:
    return replace(dataset, employees=[replace(e, capacity=None) for e in dataset.employees])


# ---- reading ------------------------------------------------------------------------------
def test_jsonl_capacity_is_a_top_level_key_not_an_aspect(tmp_path):
    ds = load_custom(make(tmp_path, EMPLOYEES))
    assert capacities(ds) == CAPACITIES  # absent and null are both "no capacity"; 0 is kept
    assert ds.aspects == ["role", "goals", "behavior"]
    assert "capacity" not in ds.concat_texts()["e1"]


def test_an_aspect_named_capacity_inside_aspects_stays_an_aspect(tmp_path):
    line = '{"id": "e1", "capacity": 3, "aspects": {"role": "Welder", "capacity": "Two shifts a week"}}\n'
    ds = load_custom(make(tmp_path, line + '{"id": "e2", "aspects": {"role": "Buyer"}}\n'))
    assert ds.aspects == ["role", "capacity"]
    assert ds.employees[0] == Employee("e1", {"role": "Welder", "capacity": "Two shifts a week"}, 3)


def test_csv_capacity_column_is_reserved(tmp_path):
    ds = load_custom(make(tmp_path, EMPLOYEES_CSV, "employees.csv"))
    assert capacities(ds) == CAPACITIES  # empty cell: None; surrounding spaces are ignored
    assert ds.aspects == ["role", "goals", "behavior"]
    jsonl = load_custom(make(tmp_path / "j", EMPLOYEES))
    assert ds.hash == jsonl.hash


def test_csv_with_only_id_and_capacity_has_no_aspect_columns(tmp_path):
    root = make(tmp_path, "id,capacity\ne1,2\n", "employees.csv")
    expect_error(root, "employees.csv", 1, "no aspect columns")


def test_employee_keeps_working_without_capacity():
    assert Employee("e1", {"role": "x"}).capacity is None
    with pytest.raises(AttributeError):  # still frozen
        Employee("e1", {}).capacity = 2  # type: ignore[misc]


# ---- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, fragment",
    [
        ("true", "is a JSON bool"),
        ("false", "is a JSON bool"),
        ("2.5", "is a JSON float"),
        ("2.0", "is a JSON float"),
        ('"2"', "is a JSON str"),
        ("[2]", "is a JSON list"),
        ('{"n": 2}', "is a JSON dict"),
        ("-1", "is negative (-1)"),
        ("1000001", "above the limit 1000000"),
        ("1" + "0" * 400, "above the limit"),
    ],
)
def test_bad_jsonl_capacity_is_a_one_line_error(tmp_path, value, fragment):
    bad = f'{{"id": "e9", "aspects": {{"role": "Ops"}}, "capacity": {value}}}\n'
    root = make(tmp_path, EMPLOYEES + bad)
    message = expect_error(root, "employees.jsonl", 5, "capacity of employee 'e9'", fragment, "whole number")
    assert len(message) < 300, message  # a long value is shortened, not pasted whole


@pytest.mark.parametrize(
    "cell, fragment",
    [
        ("2.5", "'2.5', not a whole number"),
        ("two", "'two', not a whole number"),
        ("+1", "not a whole number"),
        ("1e3", "not a whole number"),
        ("\u00b2", "not a whole number"),  # str.isdigit() is true for superscript two
        ("-3", "is negative (-3)"),
        ("99999999999", "above the limit 1000000"),
        ("x" * 5000, "not a whole number"),
    ],
)
def test_bad_csv_capacity_is_a_one_line_error(tmp_path, cell, fragment):
    root = make(tmp_path, EMPLOYEES_CSV + f"e9,Ops,{cell},,\n", "employees.csv")
    message = expect_error(root, "employees.csv", 6, "capacity of employee 'e9'", fragment, "capacity column")
    assert len(message) < 300, message


def test_zero_padded_csv_capacity_reads_as_its_number(tmp_path):
    root = make(tmp_path, "id,role,capacity\ne1,Ops,00000003\ne2,Buyer,\n", "employees.csv")
    assert load_custom(root).employees[0].capacity == 3


def test_jsonl_unknown_key_lists_capacity_in_the_fix(tmp_path):
    root = make(tmp_path, '{"id": "e1", "aspects": {"role": "Ops"}, "cap": 2}\n')
    expect_error(root, "employees.jsonl", 1, "unknown key 'cap'", "id, aspects, capacity")


# ---- export round trip --------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, employees", [("employees.jsonl", EMPLOYEES), ("employees.csv", EMPLOYEES_CSV)]
)
def test_export_round_trips_capacity(tmp_path, name, employees):
    ds = load_custom(make(tmp_path, employees, name))
    out = export_custom(ds, tmp_path / "export")
    lines = [json.loads(x) for x in (out / "employees.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {row["id"]: row.get("capacity") for row in lines} == CAPACITIES
    assert all(set(row) <= {"id", "aspects", "capacity"} for row in lines)
    assert "capacity" not in lines[2]  # unset: the key is left out, not written as null
    back = load_custom(out)
    assert back.hash == ds.hash
    assert capacities(back) == CAPACITIES


def test_export_round_trips_an_in_memory_dataset_with_capacities(tmp_path):
    ds = Dataset(
        "demo",
        [Employee("e1", {"role": "Welder", "capacity": "Two shifts"}, 1), Employee("e2", {"role": "Buyer"})],
        [Task("t1", "Kiln", "Weld the frame")],
        {"t1": {"e1": 1}},
    )
    back = load_custom(export_custom(ds, tmp_path / "export"))
    assert back.hash == ds.hash
    assert back.employees == ds.employees


# ---- the content hash ---------------------------------------------------------------------
def test_hash_without_capacities_is_the_hash_from_before_capacity(tmp_path):
    from bench.data.demo import build_demo

    for ds in (build_demo(seed=0), load_custom(make(tmp_path, EMPLOYEES)), Dataset("x", [], [], {})):
        plain = without_capacities(ds)
        assert plain.hash == hash_without_capacity(plain)
        assert all(len(row) == 2 for row in plain.canonical()["employees"])  # [id, aspects] only


def test_hash_of_the_small_fixture_is_pinned(tmp_path):
    # Computed with the code before capacity existed (bench/dataset.py at the parent commit).
    plain = without_capacities(load_custom(make(tmp_path, EMPLOYEES)))
    assert plain.hash == "91244324f3338814"


def test_setting_a_capacity_changes_the_hash(tmp_path):
    ds = load_custom(make(tmp_path, EMPLOYEES))
    plain = without_capacities(ds)
    assert ds.hash != plain.hash
    one = replace(plain, employees=[replace(plain.employees[0], capacity=2), *plain.employees[1:]])
    zero = replace(plain, employees=[replace(plain.employees[0], capacity=0), *plain.employees[1:]])
    assert len({plain.hash, one.hash, zero.hash}) == 3  # 0 is a capacity, not "unset"


def test_team_constraints_take_capacity_from_the_employees_file(tmp_path):
    from omegaconf import OmegaConf

    from bench.run.team import constraints_of

    cfg = OmegaConf.create({"team": {"per_task": 1, "max_tasks_per_person": 3, "exclude": [], "require": []}})
    constraints = constraints_of(cfg, load_custom(make(tmp_path, EMPLOYEES)))
    assert constraints.capacity == {"e1": 2, "e2": 0}
    assert list(constraints.caps(["e1", "e2", "e3", "e4"])) == [2, 0, 3, 3]
