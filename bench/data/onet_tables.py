"""Read the tables of the official O*NET text release (tab-separated, header on the first line).

The text release quotes a field only when it holds a double quote (``"Conduct ""head counts""
..."``), so the files are read with :mod:`csv` in its default (minimal) quoting mode with a tab
delimiter; ``QUOTE_NONE`` would keep the doubled quotes. Every defect is a one-line
:class:`~bench.core.errors.DataError` naming the file, line and fix.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from bench.core.errors import DataError

ONET_URL = "https://www.onetcenter.org/database.html"
GET_RELEASE = (
    f'download the official O*NET text release (the "text" zip from {ONET_URL}), unzip it '
    "and pass data.root=DIR (or set TEAMFORM_ONET=DIR)"
)

# The tables the loader reads, by the name the code uses -> file name of the text release.
FILES: dict[str, str] = {
    "occupations": "Occupation Data.txt",
    "job_zones": "Job Zones.txt",
    "tasks": "Task Statements.txt",
    "task_dwas": "Tasks to DWAs.txt",
    "related": "Related Occupations.txt",
    "skills": "Skills.txt",
    "knowledge": "Knowledge.txt",
    "work_styles": "Work Styles.txt",
    "technology": "Technology Skills.txt",
}

CODE = "O*NET-SOC Code"
Row = tuple[int, tuple[str, ...]]  # (line number, values of the requested columns)


def check_release(root: Path) -> None:
    """Raise a :class:`DataError` unless ``root`` is a directory holding every table in :data:`FILES`."""
    if not root.is_dir():
        raise DataError(
            root,
            f"O*NET directory not found (it must hold {FILES['occupations']!r} and the other tables)",
            fix=GET_RELEASE,
        )
    for name in FILES.values():
        if not (root / name).is_file():
            raise DataError(root / name, f"missing O*NET file {name!r}", fix=GET_RELEASE)


def read_table(root: Path, table: str, columns: Sequence[str]) -> list[Row]:
    """The rows of one table, reduced to ``columns``, with their line numbers.

    Args:
        root: directory of the text release.
        table: a key of :data:`FILES`.
        columns: header names to keep, in this order.

    Returns:
        ``[(line, (value, ...)), ...]`` in file order; blank lines are not rows.

    Example:
        ``read_table(root, "job_zones", ["O*NET-SOC Code", "Job Zone"])[0]``
        is ``(2, ("11-1011.00", "5"))`` on the 29.3 release.
    """
    path = root / FILES[table]
    fix = f"{path.name} must be the tab-separated file of the official text release; {GET_RELEASE}"
    rows: list[Row] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", strict=True)
            header = next(reader, None)
            if not header:
                raise DataError(path, "empty file (no header line)", line=1, fix=fix)
            missing = [c for c in columns if c not in header]
            if missing:
                raise DataError(
                    path, f"header lacks column(s) {', '.join(map(repr, missing))}", line=1, fix=fix
                )
            index = [header.index(c) for c in columns]
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    problem = f"{len(row)} tab-separated fields where the header has {len(header)}"
                    raise DataError(path, problem, line=reader.line_num, fix=fix)
                rows.append((reader.line_num, tuple(row[i] for i in index)))
    except csv.Error as error:
        raise DataError(path, f"unreadable row ({error})", line=reader.line_num, fix=fix) from None
    except UnicodeDecodeError as error:
        raise DataError(path, f"not UTF-8 text ({error.reason} at byte {error.start})", fix=fix) from None
    return rows


def number(root: Path, table: str, line: int, column: str, value: str) -> float:
    """``float(value)``, or a :class:`DataError` naming the file, line and column."""
    try:
        return float(value)
    except ValueError:
        path = root / FILES[table]
        raise DataError(
            path, f"column {column!r} holds {value!r}, not a number", line=line, fix=GET_RELEASE
        ) from None
