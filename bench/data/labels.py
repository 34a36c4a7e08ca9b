"""Relevance labels of the custom format: ``labels.csv`` or TREC ``qrels.txt``.

Both give sparse graded labels ``task_id -> employee_id -> grade`` (0 = judged non-relevant,
1, 2, ... = relevant to that degree). Every row must name a known evaluation task and employee,
carry a non-negative integer grade and appear once.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.core.errors import DataError
from bench.data.readers import check_keys, read_csv, read_text

LABEL_COLUMNS = ("task_id", "employee_id", "label")
_INTEGER = re.compile(r"[+-]?\d+")


def parse_grade(path: Path, line: int, value: str) -> int:
    """A label as a non-negative integer (``"1"``, ``" 2 "``); anything else is an error."""
    text = value.strip()
    if not _INTEGER.fullmatch(text):
        raise DataError(
            path,
            f"label {value!r} is not an integer",
            line,
            "write 0 for non-relevant and 1 (or a higher integer grade) for relevant",
        )
    grade = int(text)
    if grade < 0:
        raise DataError(
            path,
            f"label {grade} is negative",
            line,
            "use 0 for non-relevant and positive integers for relevant",
        )
    return grade


class _LabelTable:
    """Collects labels, checking ids and duplicates against the loaded tasks and employees."""

    def __init__(
        self, path: Path, task_lines: dict[str, int], employee_lines: dict[str, int], train_ids: set[str]
    ):
        self.path, self.tasks, self.employees, self.train_ids = path, task_lines, employee_lines, train_ids
        self.qrels: dict[str, dict[str, int]] = {}
        self.lines: dict[tuple[str, str], int] = {}

    def add(self, line: int, task_id: str, employee_id: str, grade: int) -> None:
        path = self.path
        if not task_id or not employee_id:
            which = "task id" if not task_id else "employee id"
            raise DataError(
                path, f"{which} is empty", line, "give every label row a task id and an employee id"
            )
        if task_id not in self.tasks:
            if task_id in self.train_ids:
                raise DataError(
                    path,
                    f"task {task_id!r} is a seed task (train_tasks.jsonl), not an evaluation task",
                    line,
                    "label only tasks of tasks.jsonl, or move the task there",
                )
            raise DataError(path, f"unknown task {task_id!r}", line, "label only tasks listed in tasks.jsonl")
        if employee_id not in self.employees:
            raise DataError(
                path, f"unknown employee {employee_id!r}", line, "label only employees of the employees file"
            )
        key = (task_id, employee_id)
        if key in self.lines:
            raise DataError(
                path,
                f"duplicate label for task {task_id!r} and employee {employee_id!r} "
                f"(first on line {self.lines[key]})",
                line,
                "keep one label per pair",
            )
        self.lines[key] = line
        self.qrels.setdefault(task_id, {})[employee_id] = grade


def read_labels_csv(
    path: Path,
    task_lines: dict[str, int],
    employee_lines: dict[str, int],
    train_ids: set[str],
    notes: list[str],
) -> dict[str, dict[str, int]]:
    """Labels from ``labels.csv`` with the header ``task_id,employee_id,label`` (any column order).

    Args:
        path: the file.
        task_lines: evaluation task ids (id -> line in tasks.jsonl).
        employee_lines: employee ids (id -> line).
        train_ids: seed task ids, named in the error when a label points at one.
        notes: where skipped blank lines are counted.

    Returns:
        ``task_id -> employee_id -> grade``.
    """
    fix_empty = "write the header task_id,employee_id,label and one row per judged pair"
    header_line, header, rows, blank = read_csv(path, fix_empty)
    if blank:
        notes.append(f"{path.name}: skipped {blank} blank line(s)")
    check_keys(path, header_line, header, LABEL_COLUMNS, "column")
    missing = [c for c in LABEL_COLUMNS if c not in header]
    if missing:
        raise DataError(
            path,
            f"the header lacks column(s) {', '.join(missing)}",
            header_line,
            f"make the first line the header {','.join(LABEL_COLUMNS)}",
        )
    if len(set(header)) != len(header):
        raise DataError(path, "a column appears twice in the header", header_line, "name every column once")
    t, e, g = (header.index(c) for c in LABEL_COLUMNS)
    table = _LabelTable(path, task_lines, employee_lines, train_ids)
    for line, fields in rows:
        table.add(line, fields[t].strip(), fields[e].strip(), parse_grade(path, line, fields[g]))
    if not rows:
        raise DataError(path, "the file has a header but no label rows", fix=fix_empty)
    return table.qrels


def read_qrels(
    path: Path,
    task_lines: dict[str, int],
    employee_lines: dict[str, int],
    train_ids: set[str],
    notes: list[str],
) -> dict[str, dict[str, int]]:
    """Labels from a TREC qrels file: ``task_id iteration employee_id grade`` per line.

    The iteration field (usually ``0``) is ignored. Arguments and result as
    :func:`read_labels_csv`.
    """
    fix = "write one `task_id 0 employee_id grade` line per judged pair"
    text = read_text(path, fix)
    table = _LabelTable(path, task_lines, employee_lines, train_ids)
    blank = 0
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    for line, raw in enumerate(lines, 1):
        fields = raw.split()
        if not fields:
            blank += 1
            continue
        if len(fields) != 4:
            raise DataError(path, f"line has {len(fields)} field(s), expected 4", line, fix)
        table.add(line, fields[0], fields[2], parse_grade(path, line, fields[3]))
    if blank:
        notes.append(f"{path.name}: skipped {blank} blank line(s)")
    return table.qrels
