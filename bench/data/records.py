"""Employee and task records of the custom format (``employees.*``, ``tasks.jsonl``).

Each reader checks every row (keys, ids, texts, capacities, duplicates) and raises
:class:`bench.core.errors.DataError` naming the file, the line and the fix.

``capacity`` (the most tasks a person may take in ``teamform team``) is a reserved key, not an
aspect: a top-level key of a JSON line (an aspect named ``capacity`` inside ``aspects`` is still
an aspect), and a reserved column of the CSV (which therefore cannot hold an aspect of that name).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aggregators.registry import AGGREGATORS
from bench.core.dataset import Employee, Task
from bench.core.errors import DataError
from bench.data.readers import check_keys, read_csv, read_jsonl

EMPLOYEE_KEYS = ("id", "aspects", "capacity")
TASK_KEYS = ("id", "project", "task")
EMPLOYEE_EXAMPLE = '{"id": "e17", "aspects": {"role": "...", "experience": "..."}}'
CAPACITY = "capacity"
# Far above any team's task count, and small enough for the int64 capacity arrays of bench.team.
MAX_CAPACITY = 1_000_000
_DIGITS = re.compile(r"[0-9]+")
TASK_EXAMPLE = '{"id": "t3", "project": "...", "task": "..."}'


def parse_id(path: Path, line: int, value: Any, what: str = "id") -> str:
    """An id as a string: a JSON string or integer, non-empty, without whitespace.

    Ids end up in TREC files, whose fields are separated by whitespace.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = "missing" if value is None else f"a JSON {type(value).__name__}"
        raise DataError(path, f"{what} is {kind}", line, f"give every row a string {what}")
    text = str(value)
    if not text:
        raise DataError(path, f"{what} is empty", line, f"give every row a non-empty {what}")
    if any(ch.isspace() for ch in text):
        raise DataError(
            path, f"{what} {text!r} contains whitespace", line, "use ids without spaces, tabs or newlines"
        )
    return text


def _first_seen(path: Path, line: int, ident: str, lines: dict[str, int], what: str = "id") -> None:
    if ident in lines:
        raise DataError(
            path,
            f"duplicate {what} {ident!r} (first on line {lines[ident]})",
            line,
            f"give every row a unique {what}",
        )
    lines[ident] = line


def reserved_aspect_names() -> set[str]:
    """Names an aspect cannot take: they name other views of a system (``concat``, aggregators)."""
    return {"concat", *AGGREGATORS, *(f"weighted_{name}" for name in AGGREGATORS)}


def check_aspect_name(path: Path, line: int, name: str) -> None:
    """An aspect name becomes part of system names, run-file names and W&B keys: printable, not a view's."""
    if not name.isprintable():
        raise DataError(
            path,
            f"aspect name {name!r} holds a control character (tab, newline, ...)",
            line,
            "name every aspect with printable characters",
        )
    if name in reserved_aspect_names():
        raise DataError(
            path,
            f"aspect name {name!r} is also the name of a view (the concatenated profile or an aggregator)",
            line,
            f"rename the aspect, e.g. {name}_text",
        )


def _brief(text: str) -> str:
    """A value as quoted in an error message: at most 20 characters."""
    return text if len(text) <= 20 else f"{text[:20]}..."


def _check_capacity(path: Path, line: int, ident: str, value: int, fix: str) -> int:
    if value < 0:
        raise DataError(path, f"capacity of employee {ident!r} is negative ({_brief(str(value))})", line, fix)
    if value > MAX_CAPACITY:
        raise DataError(
            path,
            f"capacity of employee {ident!r} is {_brief(str(value))}, above the limit {MAX_CAPACITY}",
            line,
            fix,
        )
    return value


def parse_capacity_json(path: Path, line: int, ident: str, value: Any) -> int | None:
    """The ``capacity`` of a JSON line: absent or ``null`` is ``None``, else an integer >= 0.

    JSON booleans, floats (even ``2.0``) and strings are refused, not converted.
    """
    fix = 'write "capacity" as a whole number of tasks >= 0, e.g. "capacity": 2, or leave the key out'
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(
            path,
            f"capacity of employee {ident!r} is a JSON {type(value).__name__} ({_brief(repr(value))})",
            line,
            fix,
        )
    return _check_capacity(path, line, ident, value, fix)


def parse_capacity_cell(path: Path, line: int, ident: str, cell: str) -> int | None:
    """The ``capacity`` cell of a CSV row: empty is ``None``, else decimal digits (an integer >= 0)."""
    fix = "write a whole number of tasks >= 0 in the capacity column, or leave the cell empty"
    text = cell.strip()
    if not text:
        return None
    shown = _brief(text)
    if text.startswith("-") and _DIGITS.fullmatch(text[1:]):
        raise DataError(path, f"capacity of employee {ident!r} is negative ({shown})", line, fix)
    if not _DIGITS.fullmatch(text):
        raise DataError(path, f"capacity of employee {ident!r} is {shown!r}, not a whole number", line, fix)
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_CAPACITY)):  # also keeps int() away from very long digit strings
        raise DataError(
            path, f"capacity of employee {ident!r} is {shown}, above the limit {MAX_CAPACITY}", line, fix
        )
    return _check_capacity(path, line, ident, int(digits), fix)


def _note_blank(notes: list[str], path: Path, blank: int) -> None:
    if blank:
        notes.append(f"{path.name}: skipped {blank} blank line(s)")


def _note_textless(notes: list[str], path: Path, employees: list[Employee]) -> None:
    empty = sum(1 for e in employees if not e.aspects)
    if empty:
        notes.append(f"{path.name}: {empty} employee(s) have no aspect text (kept; they can only rank last)")
    if empty == len(employees):
        raise DataError(
            path, "no employee has any aspect text", fix="fill in at least one aspect per employee"
        )


def read_employees_jsonl(path: Path, notes: list[str]) -> tuple[list[Employee], list[str], dict[str, int]]:
    """Employees from ``{"id", "aspects": {name: text}, "capacity": n}`` lines (capacity optional).

    Returns:
        ``(employees, aspect names in order of first appearance, id -> line)``.
    """
    rows, blank = read_jsonl(path, f"add one line per employee, e.g. {EMPLOYEE_EXAMPLE}", EMPLOYEE_EXAMPLE)
    _note_blank(notes, path, blank)
    employees: list[Employee] = []
    aspects: dict[str, None] = {}
    lines: dict[str, int] = {}
    for line, obj in rows:
        check_keys(path, line, obj, EMPLOYEE_KEYS, "key")
        ident = parse_id(path, line, obj.get("id"))
        _first_seen(path, line, ident, lines)
        texts = obj.get("aspects")
        if not isinstance(texts, dict):
            found = "missing" if texts is None else f"a JSON {type(texts).__name__}"
            raise DataError(
                path,
                f"'aspects' of employee {ident!r} is {found}",
                line,
                f"write the aspect texts as an object, e.g. {EMPLOYEE_EXAMPLE}",
            )
        kept: dict[str, str] = {}
        for name, text in texts.items():
            if not name.strip():
                raise DataError(
                    path, f"employee {ident!r} has an aspect with an empty name", line, "name every aspect"
                )
            check_aspect_name(path, line, name)
            if text is not None and not isinstance(text, str):
                raise DataError(
                    path,
                    f"aspect {name!r} of employee {ident!r} is a JSON {type(text).__name__}",
                    line,
                    "write each aspect as one string (join list items into one text)",
                )
            aspects.setdefault(name, None)
            if text and text.strip():
                kept[name] = text
        capacity = parse_capacity_json(path, line, ident, obj.get(CAPACITY))
        employees.append(Employee(ident, kept, capacity))
    _note_textless(notes, path, employees)
    return employees, list(aspects), lines


def read_employees_csv(path: Path, notes: list[str]) -> tuple[list[Employee], list[str], dict[str, int]]:
    """Employees from a CSV with an ``id`` column, one column per aspect and an optional
    ``capacity`` column (reserved: never an aspect; an empty cell is no capacity).

    Returns:
        ``(employees, aspect names in column order, id -> line)``.
    """
    fix_empty = "write a header line `id,<aspect>,<aspect>...` and one row per employee"
    header_line, header, rows, blank = read_csv(path, fix_empty)
    _note_blank(notes, path, blank)
    if "id" not in header:
        raise DataError(
            path,
            f"the header has no 'id' column (found {', '.join(map(repr, header))})",
            header_line,
            "make the first line a header with an id column and one column per aspect",
        )
    seen: dict[str, int] = {}
    for number, name in enumerate(header, 1):
        if not name:
            raise DataError(
                path, f"column {number} of the header has no name", header_line, "name every column"
            )
        if name in seen:
            raise DataError(
                path, f"column {name!r} appears twice in the header", header_line, "name every column once"
            )
        if name not in ("id", CAPACITY):
            check_aspect_name(path, header_line, name)
        seen[name] = number
    aspects = [name for name in header if name not in ("id", CAPACITY)]
    if not aspects:
        raise DataError(
            path, "the header has no aspect columns", header_line, "add one column per aspect after id"
        )
    id_col = header.index("id")
    capacity_col = header.index(CAPACITY) if CAPACITY in header else None
    employees: list[Employee] = []
    lines: dict[str, int] = {}
    for line, fields in rows:
        ident = parse_id(path, line, fields[id_col].strip())
        _first_seen(path, line, ident, lines)
        texts = {
            name: text
            for name, text in zip(header, fields, strict=True)
            if name not in ("id", CAPACITY) and text.strip()
        }
        capacity = None
        if capacity_col is not None:
            capacity = parse_capacity_cell(path, line, ident, fields[capacity_col])
        employees.append(Employee(ident, texts, capacity))
    if not employees:
        raise DataError(path, "the file has a header but no employee rows", fix=fix_empty)
    _note_textless(notes, path, employees)
    return employees, aspects, lines


def read_tasks(
    path: Path, notes: list[str], eval_lines: dict[str, int] | None = None
) -> tuple[list[Task], dict[str, int]]:
    """Tasks from ``{"id", "project", "task"}`` lines (``tasks.jsonl`` or ``train_tasks.jsonl``).

    Args:
        path: the file.
        notes: where skipped blank lines are counted.
        eval_lines: for seed tasks, the evaluation task ids (id -> line in tasks.jsonl): a seed
            task may not reuse one.

    Returns:
        ``(tasks, id -> line)``.
    """
    rows, blank = read_jsonl(path, f"add one line per task, e.g. {TASK_EXAMPLE}", TASK_EXAMPLE)
    _note_blank(notes, path, blank)
    tasks: list[Task] = []
    lines: dict[str, int] = {}
    for line, obj in rows:
        check_keys(path, line, obj, TASK_KEYS, "key")
        ident = parse_id(path, line, obj.get("id"))
        _first_seen(path, line, ident, lines)
        if eval_lines is not None and ident in eval_lines:
            raise DataError(
                path,
                f"seed task id {ident!r} is also an evaluation task (tasks.jsonl line {eval_lines[ident]})",
                line,
                "give seed tasks ids (and tasks) that are not in the evaluation set",
            )
        fields = {}
        for key in ("project", "task"):
            value = obj.get(key)
            if not isinstance(value, str) or not value.strip():
                found = (
                    "missing"
                    if value is None
                    else "empty"
                    if isinstance(value, str)
                    else f"a JSON {type(value).__name__}"
                )
                raise DataError(
                    path, f"{key!r} of task {ident!r} is {found}", line, f"give every task a {key} text"
                )
            fields[key] = value
        tasks.append(Task(ident, fields["project"], fields["task"]))
    return tasks, lines
