"""Employee and task records of the custom format (``employees.*``, ``tasks.jsonl``).

Each reader checks every row (keys, ids, texts, duplicates) and raises
:class:`bench.errors.DataError` naming the file, the line and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.data.readers import check_keys, read_csv, read_jsonl
from bench.dataset import Employee, Task
from bench.errors import DataError

EMPLOYEE_KEYS = ("id", "aspects")
TASK_KEYS = ("id", "project", "task")
EMPLOYEE_EXAMPLE = '{"id": "e17", "aspects": {"role": "...", "experience": "..."}}'
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
    from aggregators import AGGREGATORS

    return {"concat", *AGGREGATORS, *(f"weighted_{name}" for name in AGGREGATORS)}


def check_aspect_name(path: Path, line: int, name: str) -> None:
    """An aspect name becomes part of system names, run-file names and W&B keys: printable, not a view's."""
    if not name.isprintable():
        raise DataError(
            path, f"aspect name {name!r} holds a control character (tab, newline, ...)", line,
            "name every aspect with printable characters",
        )
    if name in reserved_aspect_names():
        raise DataError(
            path, f"aspect name {name!r} is also the name of a view (the concatenated profile or an aggregator)",
            line, f"rename the aspect, e.g. {name}_text",
        )


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
    """Employees from ``{"id", "aspects": {name: text}}`` lines.

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
        employees.append(Employee(ident, kept))
    _note_textless(notes, path, employees)
    return employees, list(aspects), lines


def read_employees_csv(path: Path, notes: list[str]) -> tuple[list[Employee], list[str], dict[str, int]]:
    """Employees from a CSV with an ``id`` column and one column per aspect.

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
        if name != "id":
            check_aspect_name(path, header_line, name)
        seen[name] = number
    if len(header) == 1:
        raise DataError(
            path, "the header has no aspect columns", header_line, "add one column per aspect after id"
        )
    id_col = header.index("id")
    aspects = [name for name in header if name != "id"]
    employees: list[Employee] = []
    lines: dict[str, int] = {}
    for line, fields in rows:
        ident = parse_id(path, line, fields[id_col].strip())
        _first_seen(path, line, ident, lines)
        texts = {
            name: text for name, text in zip(header, fields, strict=True) if name != "id" and text.strip()
        }
        employees.append(Employee(ident, texts))
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
