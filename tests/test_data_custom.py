"""The custom data format: loading (JSONL / CSV, labels / qrels), every malformed case, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.core.dataset import Dataset, Employee, Task
from bench.core.errors import DataError
from bench.data.custom import load_custom
from bench.data.export import MARKER, export_custom

EMPLOYEES = (
    '{"id": "e1", "aspects": {"role": "Plant manager", "goals": "Learn Python"}}\n'
    '{"id": "e2", "aspects": {"role": "HR partner", "behavior": "", "goals": null}}\n'
    '{"id": "e3", "aspects": {"behavior": "Calm under pressure"}}\n'
)
EMPLOYEES_CSV = (
    "id,role,goals,behavior\ne1,Plant manager,Learn Python,\ne2,HR partner,,\ne3,,,Calm under pressure\n"
)
TASKS = (
    '{"id": "t1", "project": "Kiln retrofit", "task": "Plan the downtime"}\n'
    '{"id": "t2", "project": "Payroll", "task": "Audit overtime"}\n'
)
LABELS = "task_id,employee_id,label\nt1,e1,2\nt1,e2,0\nt2,e2,1\n"
QRELS = "t1 0 e1 2\nt1 0 e2 0\nt2 0 e2 1\n"
TRAIN = '{"id": "s1", "project": "Showroom", "task": "Design the layout"}\n'
GOOD = {"employees.jsonl": EMPLOYEES, "tasks.jsonl": TASKS, "labels.csv": LABELS}


def make(
    tmp_path: Path, changes: dict[str, str | bytes | None] | None = None, base: dict | None = None
) -> Path:
    """A dataset directory: ``base`` (default GOOD) with ``changes`` (None removes a file)."""
    root = tmp_path / "data"
    root.mkdir()
    files = {**(GOOD if base is None else base), **(changes or {})}
    for name, content in files.items():
        if content is None:
            continue
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (root / name).write_bytes(data)
    return root


def expect_error(root: Path, file: str | None, line: int | None, *fragments: str) -> str:
    """Loading ``root`` fails with one line naming ``root/file:line``, the fragments and a fix."""
    with pytest.raises(DataError) as info:
        load_custom(root)
    message = str(info.value)
    where = root if file is None else root / file
    prefix = f"{where}: " if line is None else f"{where}:{line}: "
    assert message.startswith(prefix), message
    assert info.value.line == line
    assert "\n" not in message
    assert "; " in message[len(prefix) :], f"no fix in: {message}"
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---- loading ------------------------------------------------------------------------------
def test_jsonl_loads_with_aspects_from_the_data(tmp_path):
    root = make(tmp_path, {"train_tasks.jsonl": TRAIN, "context.md": "We make tiles.\n"})
    ds = load_custom(str(root))
    assert ds.name == "data"  # the directory's name (data.name overrides it; the hash ignores it)
    named = load_custom(str(root), name="acme-2026")
    assert named.name == "acme-2026" and named.hash == ds.hash
    assert ds.aspects == ["role", "goals", "behavior"]  # key order of first appearance
    assert [e.id for e in ds.employees] == ["e1", "e2", "e3"]
    assert dict(ds.employees[1].aspects) == {"role": "HR partner"}  # empty / null aspects are absent
    assert ds.tasks[0] == Task("t1", "Kiln retrofit", "Plan the downtime")
    assert ds.qrels == {"t1": {"e1": 2, "e2": 0}, "t2": {"e2": 1}}
    assert [t.id for t in ds.train_tasks] == ["s1"]
    assert ds.context == "We make tiles."  # surrounding whitespace removed
    assert ds.notes == []


def test_csv_employees_equal_jsonl_employees(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    jsonl = load_custom(make(tmp_path / "a"))
    csv_ = load_custom(make(tmp_path / "b", {"employees.jsonl": None, "employees.csv": EMPLOYEES_CSV}))
    assert csv_.aspects == ["role", "goals", "behavior"]
    assert [dict(e.aspects) for e in csv_.employees] == [dict(e.aspects) for e in jsonl.employees]
    # Same content, but the aspect order is part of the dataset: JSONL saw role, goals, behavior too.
    assert csv_.hash == jsonl.hash


def test_csv_quoted_newlines_commas_quotes_and_crlf(tmp_path):
    text = (
        "id,role,experience\r\n"
        'e1,"Line manager, tiles","Led the kiln retrofit.\r\nThen said ""never again"".\r\n\r\nDone."\r\n'
        'e2,Analyst,"one\nline"\r\n'
        "e3,Engineer,plain\r\n"
    )
    root = make(
        tmp_path,
        {
            "employees.jsonl": None,
            "employees.csv": text,
            "labels.csv": "task_id,employee_id,label\nt1,e3,1\n",
        },
    )
    ds = load_custom(root)
    e1, e2, e3 = ds.employees
    assert e1.aspects["role"] == "Line manager, tiles"
    assert e1.aspects["experience"] == 'Led the kiln retrofit.\r\nThen said "never again".\r\n\r\nDone.'
    assert e2.aspects["experience"] == "one\nline"
    assert e3.id == "e3"


def test_csv_error_after_multiline_row_names_the_physical_line(tmp_path):
    text = 'id,role\ne1,"two\nlines"\ne2,x,extra\n'
    root = make(tmp_path, {"employees.jsonl": None, "employees.csv": text})
    expect_error(root, "employees.csv", 4, "3 field(s)", "header has 2")


def test_csv_unclosed_quote_is_reported_where_the_row_starts(tmp_path):
    text = 'id,role,goals\ne1,"Plant manager,x\ne2,HR,y\n'
    root = make(tmp_path, {"employees.jsonl": None, "employees.csv": text})
    expect_error(root, "employees.csv", 2, "quote left open")


def test_csv_fields_larger_than_the_csv_module_default_limit(tmp_path):
    long = "kiln " * 40_000  # 200 000 characters > csv's default 131 072
    root = make(tmp_path, {"employees.jsonl": None, "employees.csv": f'id,experience\ne1,"{long}"\ne2,x\n'})
    assert load_custom(root).employees[0].aspects["experience"] == long


def test_qrels_variant_equals_labels_csv(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_csv = load_custom(make(tmp_path / "a"))
    with_qrels = load_custom(make(tmp_path / "b", {"labels.csv": None, "qrels.txt": QRELS}))
    assert with_qrels.qrels == with_csv.qrels
    assert with_qrels.hash == with_csv.hash


def test_qrels_tabs_and_any_iteration_field(tmp_path):
    ds = load_custom(make(tmp_path, {"labels.csv": None, "qrels.txt": "t1\tQ0\te1\t3\n"}))
    assert ds.qrels == {"t1": {"e1": 3}}


def test_blank_lines_bom_crlf_and_int_ids_are_counted_not_dropped(tmp_path):
    employees = '\ufeff{"id": 1, "aspects": {"role": "A"}}\r\n\r\n{"id": "e2", "aspects": {"role": "B"}}\r\n'
    root = make(
        tmp_path,
        {
            "employees.jsonl": employees,
            "labels.csv": "task_id,employee_id,label\n\nt1,1,1\n",
            "qrels.txt": None,
            "notes.txt": "hello",
        },
    )
    ds = load_custom(root)
    assert [e.id for e in ds.employees] == ["1", "e2"]
    assert "employees.jsonl: skipped 1 blank line(s)" in ds.notes
    assert "labels.csv: skipped 1 blank line(s)" in ds.notes
    assert "labels.csv: 1 of 2 evaluation task(s) have no labels" in ds.notes
    assert any("notes.txt" in n for n in ds.notes)


def test_employee_without_any_text_is_kept_and_noted(tmp_path):
    employees = EMPLOYEES + '{"id": "e4", "aspects": {}}\n'
    ds = load_custom(make(tmp_path, {"employees.jsonl": employees}))
    assert ds.employees[-1] == Employee("e4", {})
    assert any("1 employee(s) have no aspect text" in n for n in ds.notes)


def test_hash_changes_with_a_label(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = load_custom(make(tmp_path / "a"))
    b = load_custom(make(tmp_path / "b", {"labels.csv": LABELS.replace("t2,e2,1", "t2,e2,2")}))
    assert a.hash != b.hash


# ---- malformed: the directory and its files -------------------------------------------------
def test_missing_directory(tmp_path):
    expect_error(
        tmp_path / "nope", None, None, "no such directory", "employees.jsonl", "tasks.jsonl", "labels.csv"
    )


def test_root_is_a_file(tmp_path):
    (tmp_path / "f").write_text("x")
    expect_error(tmp_path / "f", None, None, "is not a directory")


@pytest.mark.parametrize(
    ("missing", "named"),
    [("employees.jsonl", "employees.jsonl"), ("tasks.jsonl", "tasks.jsonl"), ("labels.csv", "labels.csv")],
)
def test_missing_file_names_the_expected_files(tmp_path, missing, named):
    message = expect_error(make(tmp_path, {missing: None}), named, None, "missing")
    for expected in ("employees.jsonl", "employees.csv", "tasks.jsonl", "labels.csv", "qrels.txt"):
        assert expected in message


def test_both_labels_and_qrels_is_ambiguous(tmp_path):
    expect_error(make(tmp_path, {"qrels.txt": QRELS}), None, None, "labels.csv and qrels.txt", "ambiguous")


def test_both_employee_files_is_ambiguous(tmp_path):
    expect_error(
        make(tmp_path, {"employees.csv": EMPLOYEES_CSV}), None, None, "employees.jsonl and employees.csv"
    )


@pytest.mark.parametrize(
    "name",
    [
        "employees.jsonl",
        "tasks.jsonl",
        "labels.csv",
        "employees.csv",
        "qrels.txt",
        "train_tasks.jsonl",
        "context.md",
    ],
)
@pytest.mark.parametrize("content", ["", "  \n\n"])
def test_empty_file(tmp_path, name, content):
    changes: dict[str, str | None] = {name: content}
    if name == "employees.csv":
        changes["employees.jsonl"] = None
    if name == "qrels.txt":
        changes["labels.csv"] = None
    expect_error(make(tmp_path, changes), name, None, "empty")


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("tasks.jsonl", TASKS.encode() + b'{"id": "t3", "project": "P", "task": "caf\xe9"}\n', 3),
        ("employees.jsonl", b'{"id": "e1", "aspects": {"role": "\xff"}}\n', 1),
        ("labels.csv", b"task_id,employee_id,label\nt1,e1,1\n\n\xc3(,e2,1\n", 4),
        ("context.md", b"We make tiles.\nand \x80 panels", 2),
    ],
)
def test_invalid_utf8_names_the_line(tmp_path, name, content, line):
    expect_error(make(tmp_path, {name: content}), name, line, "not valid UTF-8", "UTF-8 encoding")


def test_invalid_utf8_in_csv_after_quoted_newline(tmp_path):
    content = b'id,role\ne1,"a\nb"\ne2,\xe9t\xe9\n'
    expect_error(
        make(tmp_path, {"employees.jsonl": None, "employees.csv": content}), "employees.csv", 4, "UTF-8"
    )


def test_header_only_files(tmp_path):
    expect_error(
        make(tmp_path, {"labels.csv": "task_id,employee_id,label\n"}), "labels.csv", None, "no label rows"
    )


def test_header_only_employees_csv(tmp_path):
    root = make(tmp_path, {"employees.jsonl": None, "employees.csv": "id,role\n"})
    expect_error(root, "employees.csv", None, "no employee rows")


# ---- malformed: JSON lines ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["employees.jsonl", "tasks.jsonl", "train_tasks.jsonl"])
def test_invalid_json_line(tmp_path, name):
    base = {"employees.jsonl": EMPLOYEES, "tasks.jsonl": TASKS, "train_tasks.jsonl": TRAIN}[name]
    expect_error(make(tmp_path, {name: base + '{"id": "x", \n'}), name, base.count("\n") + 1, "invalid JSON")


def test_json_line_that_is_not_an_object(tmp_path):
    expect_error(make(tmp_path, {"tasks.jsonl": TASKS + '["t3", "P", "T"]\n'}), "tasks.jsonl", 3, "JSON list")


def test_json_key_given_twice(tmp_path):
    line = '{"id": "t3", "id": "t4", "project": "P", "task": "T"}\n'
    expect_error(make(tmp_path, {"tasks.jsonl": TASKS + line}), "tasks.jsonl", 3, "'id' appears twice")


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"aspects": {"role": "x"}}', "id is missing"),
        ('{"id": null, "aspects": {"role": "x"}}', "id is missing"),
        ('{"id": "", "aspects": {"role": "x"}}', "id is empty"),
        ('{"id": 1.5, "aspects": {"role": "x"}}', "id is a JSON float"),
        ('{"id": "e 4", "aspects": {"role": "x"}}', "contains whitespace"),
    ],
)
def test_missing_or_bad_employee_id(tmp_path, line, fragment):
    expect_error(make(tmp_path, {"employees.jsonl": EMPLOYEES + line + "\n"}), "employees.jsonl", 4, fragment)


def test_missing_task_id(tmp_path):
    line = '{"project": "P", "task": "T"}\n'
    expect_error(make(tmp_path, {"tasks.jsonl": TASKS + line}), "tasks.jsonl", 3, "id is missing")


def test_duplicate_employee_ids_name_both_lines(tmp_path):
    line = '{"id": "e2", "aspects": {"role": "x"}}\n'
    expect_error(
        make(tmp_path, {"employees.jsonl": EMPLOYEES + line}),
        "employees.jsonl",
        4,
        "duplicate id 'e2'",
        "first on line 2",
    )


def test_duplicate_task_ids_name_both_lines(tmp_path):
    line = '{"id": "t1", "project": "P", "task": "T"}\n'
    expect_error(
        make(tmp_path, {"tasks.jsonl": TASKS + line}),
        "tasks.jsonl",
        3,
        "duplicate id 't1'",
        "first on line 1",
    )


def test_unknown_employee_key_is_named_with_the_allowed_ones(tmp_path):
    line = '{"id": "e4", "role": "x", "aspects": {}}\n'
    message = expect_error(
        make(tmp_path, {"employees.jsonl": EMPLOYEES + line}), "employees.jsonl", 4, "unknown key 'role'"
    )
    assert "id, aspects" in message


def test_unknown_task_keys_are_named_with_the_allowed_ones(tmp_path):
    line = '{"id": "t3", "project": "P", "task": "T", "due": "May", "owner": "x"}\n'
    message = expect_error(make(tmp_path, {"tasks.jsonl": TASKS + line}), "tasks.jsonl", 3, "'due', 'owner'")
    assert "id, project, task" in message


@pytest.mark.parametrize(
    ("aspects", "fragment"),
    [
        ('["role"]', "'aspects' of employee 'e4' is a JSON list"),
        ("null", "'aspects' of employee 'e4' is missing"),
        ('{"role": ["a", "b"]}', "aspect 'role' of employee 'e4' is a JSON list"),
        ('{"": "x"}', "aspect with an empty name"),
    ],
)
def test_bad_aspects(tmp_path, aspects, fragment):
    line = f'{{"id": "e4", "aspects": {aspects}}}\n'
    expect_error(make(tmp_path, {"employees.jsonl": EMPLOYEES + line}), "employees.jsonl", 4, fragment)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ('"task": "T"', "'project' of task 't3' is missing"),
        ('"project": "P", "task": ""', "'task' of task 't3' is empty"),
        ('"project": " \\n ", "task": "T"', "'project' of task 't3' is empty"),
        ('"project": "P", "task": 7', "'task' of task 't3' is a JSON int"),
    ],
)
def test_task_without_text(tmp_path, fields, fragment):
    line = f'{{"id": "t3", {fields}}}\n'
    expect_error(make(tmp_path, {"tasks.jsonl": TASKS + line}), "tasks.jsonl", 3, fragment)


def test_all_employees_without_text(tmp_path):
    employees = '{"id": "e1", "aspects": {"role": ""}}\n{"id": "e2", "aspects": {}}\n'
    expect_error(
        make(tmp_path, {"employees.jsonl": employees}), "employees.jsonl", None, "no employee has any aspect"
    )


def test_train_task_ids_that_collide_with_eval_ids(tmp_path):
    train = TRAIN + '{"id": "t2", "project": "P", "task": "T"}\n'
    expect_error(
        make(tmp_path, {"train_tasks.jsonl": train}),
        "train_tasks.jsonl",
        2,
        "'t2' is also an evaluation task",
        "tasks.jsonl line 2",
    )


# ---- malformed: labels ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("t9,e1,1", "unknown task 't9'"),
        ("t1,e9,1", "unknown employee 'e9'"),
        ("t1,e3,yes", "label 'yes' is not an integer"),
        ("t1,e3,1.0", "label '1.0' is not an integer"),
        ("t1,e3,", "label '' is not an integer"),
        ("t1,e3,-1", "label -1 is negative"),
        ("t1,e1,1", "duplicate label for task 't1' and employee 'e1' (first on line 2)"),
        (",e3,1", "task id is empty"),
        ("s1,e1,1", "'s1' is a seed task"),
        ("t1,e3", "2 field(s) but the header has 3"),
        ("t1,e3,1,x", "4 field(s) but the header has 3"),
    ],
)
def test_bad_label_rows(tmp_path, row, fragment):
    root = make(tmp_path, {"labels.csv": LABELS + row + "\n", "train_tasks.jsonl": TRAIN})
    expect_error(root, "labels.csv", 5, fragment)


def test_labels_unknown_column_is_named_with_the_allowed_ones(tmp_path):
    labels = "task_id,employee_id,label,annotator\nt1,e1,1,ann\n"
    message = expect_error(
        make(tmp_path, {"labels.csv": labels}), "labels.csv", 1, "unknown column 'annotator'"
    )
    assert "task_id, employee_id, label" in message


def test_labels_missing_column(tmp_path):
    expect_error(make(tmp_path, {"labels.csv": "t1,e1,1\nt1,e2,0\n"}), "labels.csv", 1, "unknown column 't1'")
    (tmp_path / "x").mkdir()
    expect_error(
        make(tmp_path / "x", {"labels.csv": "task_id,employee_id\nt1,e1\n"}),
        "labels.csv",
        1,
        "lacks column(s) label",
    )


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("t1 0 e3", "3 field(s), expected 4"),
        ("t1 0 e3 1 x", "5 field(s), expected 4"),
        ("t1 0 e9 1", "unknown employee 'e9'"),
        ("t7 0 e1 1", "unknown task 't7'"),
        ("t1 0 e3 high", "'high' is not an integer"),
        ("t1 0 e1 0", "duplicate label"),
    ],
)
def test_bad_qrels_lines(tmp_path, row, fragment):
    root = make(tmp_path, {"labels.csv": None, "qrels.txt": QRELS + "\n" + row + "\n"})
    expect_error(root, "qrels.txt", 5, fragment)


# ---- malformed: employees.csv -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("role,goals\nA,B\n", 1, "no 'id' column"),
        ("id,role,role\ne1,a,b\n", 1, "column 'role' appears twice"),
        ("id,,goals\ne1,a,b\n", 1, "column 2 of the header has no name"),
        ("id\ne1\n", 1, "no aspect columns"),
        ("id,role\ne1,a\ne1,b\n", 3, "duplicate id 'e1' (first on line 2)"),
        ("id,role\n,a\n", 2, "id is empty"),
        ("id,role\ne1,a\ne2\n", 3, "1 field(s) but the header has 2"),
    ],
)
def test_bad_employees_csv(tmp_path, text, line, fragment):
    root = make(tmp_path, {"employees.jsonl": None, "employees.csv": text})
    expect_error(root, "employees.csv", line, fragment)


# ---- export ---------------------------------------------------------------------------------
def sample_dataset() -> Dataset:
    return Dataset(
        name="sample",
        employees=[
            Employee("e,2", {"goals": "Grow into\nmanagement \u2028 soon", "role": "Ops"}),  # goals first
            Employee("e1", {"role": 'Kiln "lead", tiles'}),
            Employee("e3", {}),
        ],
        tasks=[Task("t1", "Kiln retrofit", "Plan the downtime"), Task("t2", "Payroll", "Audit overtime")],
        qrels={"t1": {"e1": 2, "e,2": 0}, "t2": {}},
        train_tasks=[Task("s1", "Showroom", "Design the layout")],
        context="We make ceramic tiles.",
        aspects=["role", "goals", "behavior"],
    )


def test_export_round_trip_keeps_the_hash(tmp_path):
    ds = sample_dataset()
    out = export_custom(ds, tmp_path / "exp")
    assert out == (tmp_path / "exp").absolute()
    assert {p.name for p in out.iterdir()} == {
        "employees.jsonl",
        "tasks.jsonl",
        "labels.csv",
        "train_tasks.jsonl",
        "context.md",
        MARKER,
    }
    loaded = load_custom(out)
    assert loaded.hash == ds.hash
    assert loaded.aspects == ["role", "goals", "behavior"]
    assert not list(tmp_path.glob(".exp*"))  # no staging left behind


def test_export_round_trip_from_csv_and_qrels_sources(tmp_path):
    root = make(
        tmp_path,
        {
            "employees.jsonl": None,
            "employees.csv": EMPLOYEES_CSV,
            "labels.csv": None,
            "qrels.txt": QRELS,
            "train_tasks.jsonl": TRAIN,
            "context.md": "Tiles.\n\n",
        },
    )
    ds = load_custom(root)
    assert load_custom(export_custom(ds, tmp_path / "exp")).hash == ds.hash


def test_export_replaces_a_previous_export_and_removes_stale_files(tmp_path):
    ds = sample_dataset()
    out = export_custom(ds, tmp_path / "exp")
    smaller = sample_dataset()
    smaller.train_tasks, smaller.context = [], ""
    export_custom(smaller, out)
    assert not (out / "train_tasks.jsonl").exists() and not (out / "context.md").exists()
    assert load_custom(out).hash == smaller.hash != ds.hash
    assert json.loads((out / MARKER).read_text())["hash"] == smaller.hash


def test_export_into_an_empty_directory(tmp_path):
    (tmp_path / "exp").mkdir()
    assert load_custom(export_custom(sample_dataset(), tmp_path / "exp")).hash == sample_dataset().hash


def test_export_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "thesis.tex").write_text("mine")
    with pytest.raises(DataError, match="is not empty and is not a previous"):
        export_custom(sample_dataset(), tmp_path / "exp")
    assert (tmp_path / "exp" / "thesis.tex").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataError, match="is not a directory"):
        export_custom(sample_dataset(), tmp_path / "file")


def test_export_refuses_data_the_format_cannot_hold(tmp_path):
    ds = sample_dataset()
    ds.tasks.append(Task("t 3", "P", "T"))
    with pytest.raises(DataError, match="cannot be written in the custom format.*contains whitespace"):
        export_custom(ds, tmp_path / "exp")
    assert not (tmp_path / "exp").exists()


_ID = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=6)
_TEXT = st.text(min_size=1, max_size=30).filter(lambda s: s.strip())


@st.composite
def datasets(draw) -> Dataset:
    aspects = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=4, unique=True))
    ids = draw(st.lists(_ID, min_size=2, max_size=8, unique=True))
    n_emp = draw(st.integers(1, len(ids) - 1))
    employees = [Employee(i, draw(st.dictionaries(st.sampled_from(aspects), _TEXT))) for i in ids[:n_emp]]
    if not any(e.aspects for e in employees):
        employees[0] = Employee(employees[0].id, {aspects[0]: "text"})
    tasks = [Task(i, draw(_TEXT), draw(_TEXT)) for i in ids[n_emp:]]
    qrels = {
        t.id: draw(st.dictionaries(st.sampled_from([e.id for e in employees]), st.integers(0, 3)))
        for t in tasks
    }
    qrels[tasks[0].id][employees[0].id] = 1  # at least one label
    return Dataset("h", employees, tasks, qrels, context=draw(st.text(max_size=20)), aspects=aspects)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(datasets())
def test_export_round_trip_property(tmp_path, ds):
    out = export_custom(ds, tmp_path / "prop")  # re-exports over the previous example's export
    assert load_custom(out).hash == ds.hash
