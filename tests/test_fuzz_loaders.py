"""Bad input never crashes: property-based tests of the custom-format loader and `teamform data validate`.

Every file of a custom dataset is replaced by arbitrary bytes, by mutations of a valid file
(truncation, inserted or flipped bytes, duplicated or dropped lines), by random JSON lines, by
CSV with random quoting or by random qrels lines. The loader must return a dataset that holds
together (unique ids, labels that name known tasks and employees, a hash, stats) or raise
:class:`bench.core.errors.TeamformError`; any other exception is a bug. Through the CLI the same
inputs end with exit code 0, or 2 and one ``error:`` line, never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.core.dataset import Dataset
from bench.core.errors import DataError, TeamformError
from bench.data.custom import load_custom

EMPLOYEES = (
    '{"id": "e1", "aspects": {"role": "Plant manager", "experience": "I had to plan the kiln downtime."}}\n'
    '{"id": "e2", "aspects": {"role": "HR partner", "goals": "learn SAP"}}\n'
    '{"id": 3, "aspects": {"role": "Kiln operator", "experience": null}}\n'
)
EMPLOYEES_CSV = (
    'id,role,experience\ne1,Plant manager,"I had to plan\nthe kiln downtime."\ne2,"HR partner, ""people""",\n'
)
TASKS = (
    '{"id": "t1", "project": "Kiln retrofit", "task": "Plan the kiln downtime"}\n'
    '{"id": "t2", "project": "Payroll", "task": "Move payroll to SAP"}\n'
)
LABELS = "task_id,employee_id,label\nt1,e1,1\nt1,e2,0\nt2,e2,2\n"
QRELS = "t1 0 e1 1\nt1 0 e2 0\nt2 0 e2 2\n"
TRAIN = '{"id": "s1", "project": "Kiln retrofit", "task": "plan the KILN downtime!"}\n'
CONTEXT = "A tile maker with three plants.\n"
VALID = {
    "employees.jsonl": EMPLOYEES,
    "tasks.jsonl": TASKS,
    "labels.csv": LABELS,
    "train_tasks.jsonl": TRAIN,
    "context.md": CONTEXT,
}
# Which file a fuzzed name replaces (a CSV employees file replaces the JSONL one; qrels the labels).
REPLACES = {"employees.csv": "employees.jsonl", "qrels.txt": "labels.csv"}
FILES = [
    "employees.jsonl",
    "employees.csv",
    "tasks.jsonl",
    "labels.csv",
    "qrels.txt",
    "train_tasks.jsonl",
    "context.md",
]
BASE = {"employees.csv": EMPLOYEES_CSV, "qrels.txt": QRELS, **VALID}

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    """The valid dataset with ``files`` replacing their counterparts (``None`` content: delete)."""
    contents: dict[str, bytes | None] = {k: v.encode() for k, v in VALID.items()}
    for name, data in files.items():
        if name in REPLACES:
            contents.pop(REPLACES[name], None)
        contents[name] = data
    root.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        if data is not None:
            (root / name).write_bytes(data)
    return root


def check_loads_or_user_error(root: Path) -> Dataset | None:
    """Load ``root``: a consistent dataset or a one-line TeamformError; anything else fails the test."""
    try:
        dataset = load_custom(root)
    except TeamformError as error:
        message = str(error)
        assert message.strip(), type(error)
        if isinstance(error, DataError):
            assert str(error.path) in message  # names the file
        return None
    check_consistent(dataset)
    return dataset


def check_consistent(dataset: Dataset) -> None:
    """What every consumer of a loaded dataset relies on."""
    ids = dataset.employee_ids
    assert len(ids) == len(set(ids)) and ids
    task_ids = [t.id for t in dataset.tasks]
    assert len(task_ids) == len(set(task_ids)) and task_ids
    assert not set(task_ids) & {t.id for t in dataset.train_tasks}
    for ident in [*ids, *task_ids]:
        assert ident and not any(ch.isspace() for ch in ident)  # TREC fields are whitespace-separated
    known = set(ids)
    for task, labels in dataset.qrels.items():
        assert task in task_ids
        assert set(labels) <= known and all(isinstance(g, int) and g >= 0 for g in labels.values())
    from bench.data.records import reserved_aspect_names

    assert all(a.strip() and a.isprintable() and a not in reserved_aspect_names() for a in dataset.aspects)
    assert any(e.aspects for e in dataset.employees)
    for e in dataset.employees:
        assert set(e.aspects) <= set(dataset.aspects) and all(
            isinstance(t, str) and t.strip() for t in e.aspects.values()
        )
    assert len(dataset.hash) == 16
    json.dumps(dataset.stats())
    for text in dataset.concat_texts().values():
        text.encode("utf-8")  # tokenizers and hashes encode every text
    for task in dataset.tasks:
        task.query.encode("utf-8")


def fuzz(files: dict[str, bytes]) -> Dataset | None:
    with tempfile.TemporaryDirectory() as tmp:
        return check_loads_or_user_error(write_dir(Path(tmp) / "data", files))


# ---------------------------------------------------------------- strategies
# Mostly plausible values (so that many examples get past the syntax checks and exercise the
# cross-file checks and the Dataset itself), sometimes anything.
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
plausible_ids = st.sampled_from(["e1", "e2", "3", 3, "e4", "t1", "t2", "t3", "s1", "s2"])
odd_ids = st.one_of(
    st.sampled_from(["", " ", "e 1", "e\u2028", "e\x00", "#", True, 2.5]),
    st.integers(-3, 5),
    st.text(max_size=6),
    json_values,
)
ids = st.one_of(plausible_ids, plausible_ids, plausible_ids, odd_ids)
plain_texts = st.text(max_size=40)
texts = st.one_of(
    plain_texts,
    plain_texts,
    plain_texts,
    st.none(),
    st.just(""),
    st.integers(),
    st.lists(st.text(max_size=5), max_size=2),
    st.just("a \ud800 b"),
)
aspect_names = st.one_of(
    st.sampled_from(["role", "experience", "goals", "behavior"]),
    st.sampled_from(["", " ", "id", "a/b", "x\x00y", "concat", "\n"]),
    st.text(max_size=8),
)


@st.composite
def employee_line(draw: st.DrawFn) -> str:
    obj = {
        "id": draw(ids),
        "aspects": draw(
            st.dictionaries(aspect_names, texts, max_size=4) if draw(st.integers(0, 5)) else json_values
        ),
    }
    if draw(st.integers(0, 5)) == 0:
        obj = (
            draw(st.dictionaries(st.sampled_from(["id", "aspects", "name", ""]), json_values, max_size=3))
            | obj
        )
    if draw(st.integers(0, 7)) == 0:
        del obj[draw(st.sampled_from(["id", "aspects"]))]
    return dumps(obj, draw(st.booleans()))


@st.composite
def task_line(draw: st.DrawFn) -> str:
    obj = {"id": draw(ids), "project": draw(texts), "task": draw(texts)}
    if draw(st.integers(0, 5)) == 0:
        obj[draw(st.sampled_from(["extra", "id", "task"]))] = draw(json_values)
    if draw(st.integers(0, 7)) == 0:
        del obj[draw(st.sampled_from(["id", "project", "task"]))]
    return dumps(obj, draw(st.booleans()))


def dumps(obj: object, ascii_only: bool) -> str:
    """JSON text; with ``ascii_only`` every non-ASCII character (lone surrogates too) is a \\u escape."""
    return json.dumps(obj, ensure_ascii=ascii_only)


def jsonl(line: st.SearchStrategy[str], valid: str) -> st.SearchStrategy[bytes]:
    """The valid file with generated lines inserted (some of them junk, blank or cut short),
    lines joined with \\n or \\r\\n, sometimes without the valid lines at all."""
    junk = st.one_of(
        st.text(max_size=20),
        st.just(""),
        st.just("   "),
        json_values.map(json.dumps),
        st.just("{"),
        st.just('{"id": "e1"'),
    )
    generated = st.lists(
        st.integers(0, 9).flatmap(lambda k: junk if k == 0 else line), min_size=1, max_size=5
    )

    def build(parts: tuple[list[str], bool, int, str, bool]) -> bytes:
        new, keep_valid, at, sep, final = parts
        base = valid.splitlines() if keep_valid else []
        at = min(at, len(base))
        lines = base[:at] + new + base[at:]
        return (sep.join(lines) + (sep if final else "")).encode("utf-8", "surrogatepass")

    return st.tuples(
        generated,
        st.integers(0, 4).map(bool),
        st.integers(0, 5),
        st.sampled_from(["\n", "\r\n"]),
        st.booleans(),
    ).map(build)


CSV_PIECES = st.sampled_from(
    ['"', ",", "\n", "\r", " ", "ab", "e1", "e2", "t1", "t2", "1", "0", "2", "-1", "x"]
)


@st.composite
def csv_text(draw: st.DrawFn, header: list[str], plausible: list[list[str]]) -> bytes:
    """A CSV whose fields use random quoting: quoted, unquoted, half-quoted, with stray quotes."""
    head = (
        header
        if draw(st.integers(0, 4))
        else draw(st.lists(st.sampled_from([*header, "", "id", "x"]), max_size=4))
    )
    cell = st.one_of(st.lists(CSV_PIECES, max_size=4).map("".join), st.text(max_size=6))
    row = st.one_of(
        st.sampled_from(plausible),
        st.sampled_from(plausible),
        st.lists(cell, min_size=len(head), max_size=len(head)),
        st.lists(cell, max_size=len(head) + 1),
    )
    rows = [head, *draw(st.lists(row, min_size=1, max_size=5))]
    out = []
    for fields in rows:
        cells = []
        for value in fields:
            style = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))
            if style == 0:
                cells.append(value)  # raw: stray quotes, commas and newlines break the row
            elif style == 1:
                cells.append('"' + value.replace('"', '""') + '"') if any(
                    c in value for c in '",\r\n'
                ) else cells.append(value)
            elif style == 2:
                cells.append('"' + value)  # an unclosed quote
            else:
                cells.append('"' + value.replace('"', '""') + '"')
        out.append(",".join(cells))
    sep = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return (sep.join(out) + draw(st.sampled_from(["", sep]))).encode()


EMPLOYEE_ROWS = [
    ["e1", "Plant manager", "kilns"],
    ["e2", "HR, partner", ""],
    ["e3", 'a "quoted" role', "x\ny"],
    ["e1", "dup", "x"],
    ["", "no id", ""],
]
LABEL_ROWS = [
    ["t1", "e1", "1"],
    ["t2", "e2", "0"],
    ["t1", "3", "2"],
    ["t2", "e1", "x"],
    ["s1", "e1", "1"],
    ["t1", "e9", "1"],
    ["t2", "e1", "-1"],
    ["t2", "e2", " 3 "],
]
qrels_token = st.one_of(
    st.sampled_from(["t1", "t2", "s1", "e1", "e2", "3", "0", "1", "2", "-1", "x", "1.5", "+2", "\u0663"]),
    st.text(max_size=4),
)
qrels_line = st.one_of(
    st.tuples(
        st.sampled_from(["t1", "t2", "s1", "t9"]),
        st.sampled_from(["0", "Q0", "x"]),
        st.sampled_from(["e1", "e2", "3", "e9"]),
        st.sampled_from(["0", "1", "2", "-1", "x", "10"]),
    ).map(list),
    st.lists(qrels_token, max_size=6),
)
qrels_text = st.tuples(
    st.lists(qrels_line.map(" ".join), max_size=6), st.sampled_from(["\n", "\r\n", "\t"])
).map(lambda t: (t[1].join(t[0]) + "\n").encode())


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """A valid file cut, spliced with random bytes, with a byte changed or a line doubled or dropped."""
    data = BASE[name].encode()
    kind = draw(st.integers(0, 4))
    at = draw(st.integers(0, len(data)))
    if kind == 0:
        return data[:at]
    if kind == 1:
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if kind == 2 and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    lines = data.splitlines(keepends=True)
    index = draw(st.integers(0, max(0, len(lines) - 1)))
    if kind == 3:
        return b"".join(lines[: index + 1] + lines[index:])
    return b"".join(lines[:index] + lines[index + 1 :])


def one_file(
    content: st.SearchStrategy[bytes], names: list[str] = FILES
) -> st.SearchStrategy[dict[str, bytes]]:
    return st.tuples(st.sampled_from(names), content).map(lambda t: {t[0]: t[1]})


# ---------------------------------------------------------------- in-process properties
def test_the_valid_fixture_loads() -> None:
    dataset = fuzz({})
    assert dataset is not None and dataset.stats()["employees"] == 3 and dataset.stats()["judged_pairs"] == 3
    assert fuzz({"employees.csv": EMPLOYEES_CSV.encode(), "qrels.txt": QRELS.encode()}) is not None


@FUZZ
@given(one_file(st.binary(max_size=300)))
@example({"employees.jsonl": b""})
@example({"tasks.jsonl": b"\xff\xfe\x00"})
@example({"labels.csv": b"\xef\xbb\xbf"})
@example({"context.md": b"\x80"})
def test_arbitrary_bytes_in_any_file(files: dict[str, bytes]) -> None:
    fuzz(files)


@FUZZ
@given(st.sampled_from(FILES).flatmap(lambda name: mutated(name).map(lambda data: {name: data})))
def test_mutated_valid_files(files: dict[str, bytes]) -> None:
    fuzz(files)


@FUZZ
@given(
    st.one_of(
        jsonl(employee_line(), EMPLOYEES).map(lambda b: {"employees.jsonl": b}),
        jsonl(task_line(), TASKS).map(lambda b: {"tasks.jsonl": b}),
        jsonl(task_line(), TRAIN).map(lambda b: {"train_tasks.jsonl": b}),
    )
)
@example({"employees.jsonl": b'{"id": "e1", "aspects": {"role": "\\ud800 lone surrogate"}}\n'})
@example({"tasks.jsonl": b'{"id": "t1", "project": "\\udfff", "task": "x"}\n'})
@example({"employees.jsonl": b'{"id": "e1", "aspects": {"role": "a", "role": "b"}}\n'})
@example({"employees.jsonl": b'{"id": "e\\u00a0x", "aspects": {"role": "a"}}\n'})
@example({"employees.jsonl": b'{"id": 1' + b"0" * 5000 + b', "aspects": {"role": "a"}}\n'})
def test_random_json_lines(files: dict[str, bytes]) -> None:
    fuzz(files)


@FUZZ
@given(
    st.one_of(
        csv_text(["id", "role", "experience"], EMPLOYEE_ROWS).map(lambda b: {"employees.csv": b}),
        csv_text(["task_id", "employee_id", "label"], LABEL_ROWS).map(lambda b: {"labels.csv": b}),
    )
)
def test_csv_with_random_quoting(files: dict[str, bytes]) -> None:
    fuzz(files)


@FUZZ
@given(qrels_text.map(lambda b: {"qrels.txt": b}))
def test_random_qrels_lines(files: dict[str, bytes]) -> None:
    fuzz(files)


@pytest.mark.parametrize("depth", [1_000, 200_000])
@pytest.mark.parametrize("name", ["employees.jsonl", "tasks.jsonl", "train_tasks.jsonl"])
def test_deeply_nested_json_is_a_data_error(name: str, depth: int) -> None:
    line = b'{"id": "x", "aspects": ' + b"[" * depth + b"]" * depth + b"}\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(Path(tmp) / "d", {name: line})
        with pytest.raises(DataError, match=rf"{name}:1"):
            load_custom(root)


def test_lone_surrogate_names_file_and_line() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(
            Path(tmp) / "d",
            {"employees.jsonl": EMPLOYEES.encode() + b'{"id": "e9", "aspects": {"role": "x\\ud83d"}}\n'},
        )
        with pytest.raises(DataError, match=r"employees.jsonl:4: .*surrogate.*UTF-8"):
            load_custom(root)


def test_huge_fields_load() -> None:
    big = "kiln " * 400_000  # 2 MB in one field
    employees = EMPLOYEES + json.dumps({"id": "e4", "aspects": {"role": big}}) + "\n"
    csv = EMPLOYEES_CSV + f'e4,"{big}",x\n'
    dataset = fuzz({"employees.jsonl": employees.encode(), "context.md": big.encode()})
    assert dataset is not None and len(dataset.employees[-1].aspects["role"]) == len(big)
    dataset = fuzz({"employees.csv": csv.encode()})
    assert dataset is not None and len(dataset.employees[-1].aspects["role"]) == len(big)


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("id,role,a\tb", "control character"),
        ("id,role,borda", "name of a view"),
        ("id,role,concat", "name of a view"),
    ],
)
def test_aspect_names_that_would_break_system_and_file_names(header: str, fragment: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(Path(tmp) / "d", {"employees.csv": f"{header}\ne1,x,y\ne2,z,w\n3,u,v\n".encode()})
        with pytest.raises(DataError, match=rf"employees.csv:1: .*{fragment}"):
            load_custom(root)
        root = write_dir(
            Path(tmp) / "j",
            {"employees.jsonl": b'{"id": "e1", "aspects": {"role": "a", "weighted_rrf": "b"}}\n'},
        )
        with pytest.raises(DataError, match=r"employees.jsonl:1: .*name of a view"):
            load_custom(root)


def test_run_names_with_spaces_stay_one_trec_field() -> None:
    import numpy as np

    from bench.metrics.trec import format_run

    text = format_run(["t1"], ["e1", "e2"], np.array([[0.5, 0.25]]), "bm25__job title", depth=10)
    assert [len(line.split()) for line in text.splitlines()] == [6, 6] and text.split()[
        5
    ] == "bm25__job_title"


@pytest.mark.parametrize("name", FILES)
def test_a_directory_in_place_of_a_file(name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(Path(tmp) / "d", {name: None})
        (root / name).mkdir()
        with pytest.raises(DataError, match=name):
            load_custom(root)


# ---------------------------------------------------------------- the CLI, a handful of examples
def validate(root: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(cwd / "outputs"), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "data", "validate", "data=custom", f"data.root={root}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def check_cli(files: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(Path(tmp) / "data", files)
        try:
            expected = load_custom(root)
        except TeamformError as error:
            expected = error
        proc = validate(root, Path(tmp))
        assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
        if isinstance(expected, TeamformError):
            lines = proc.stderr.splitlines()
            assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[
                -3000:
            ]
            assert " ".join(str(expected).split()) in lines[0]
        else:
            assert proc.returncode == 0, proc.stderr[-3000:]
            assert expected.hash in proc.stdout


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(
        one_file(st.binary(max_size=120)),
        st.sampled_from(FILES).flatmap(lambda name: mutated(name).map(lambda data: {name: data})),
        jsonl(employee_line(), EMPLOYEES).map(lambda b: {"employees.jsonl": b}),
        csv_text(["task_id", "employee_id", "label"], LABEL_ROWS).map(lambda b: {"labels.csv": b}),
    )
)
@example({"employees.jsonl": b'{"id": "e1", "aspects": {"role": "\\ud800"}}\n'})
@example({"tasks.jsonl": b'{"id": "t1", "project": ' + b"[" * 100_000 + b"\n"})
@example({"qrels.txt": b"t1 0 e1 1\n\xff\n"})
@example({})
def test_cli_validate_exits_0_or_2_with_one_line(files: dict[str, bytes]) -> None:
    check_cli(files)
