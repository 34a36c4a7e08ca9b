"""``teamform data export``: write any dataset in the custom format (``docs/design.md`` section 4).

The export holds employee text by design: it is the user's own data, written where they asked.
It is built in a temporary sibling directory (every file written atomically), checked by
reading it back with :func:`bench.data.custom.load_custom` (same content hash), then moved into
place, so ``out`` holds either the previous export or the complete new one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.core.dataset import Dataset, Employee, Task
from bench.core.errors import DataError
from bench.core.io import atomic_write_text, write_json, write_jsonl
from bench.data.custom import FORMAT_FILES, load_custom

MARKER = ".teamform-export.json"


def _task_rows(tasks: list[Task]) -> list[dict[str, str]]:
    return [{"id": t.id, "project": t.project, "task": t.task} for t in tasks]


def _employee_row(employee: Employee, aspects: list[str]) -> dict[str, Any]:
    """One ``employees.jsonl`` line: every aspect (``null`` when absent), ``capacity`` when set."""
    row: dict[str, Any] = {"id": employee.id}
    if employee.capacity is not None:
        row["capacity"] = employee.capacity
    row["aspects"] = {a: employee.aspects.get(a) or None for a in aspects}
    return row


def labels_csv(qrels: dict[str, dict[str, int]]) -> str:
    """``task_id,employee_id,label`` with one row per pair (the custom format's ``labels.csv``)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["task_id", "employee_id", "label"])
    for task_id, judged in qrels.items():
        for employee_id, grade in judged.items():
            writer.writerow([task_id, employee_id, int(grade)])
    return buffer.getvalue()


def write_custom(dataset: Dataset, directory: Path) -> list[str]:
    """Write the custom-format files of ``dataset`` into ``directory`` (atomically, one by one).

    Every employee line lists all aspects in the dataset's order (``null`` when absent), so
    the aspect order read back is the dataset's; an employee's ``capacity`` is written as the
    top-level key when set (an aspect named ``capacity`` stays inside ``aspects``).

    Returns:
        The names of the files written.
    """
    aspects = list(dataset.aspects)
    employees = (_employee_row(e, aspects) for e in dataset.employees)
    write_jsonl(directory / "employees.jsonl", employees)
    write_jsonl(directory / "tasks.jsonl", _task_rows(dataset.tasks))
    atomic_write_text(directory / "labels.csv", labels_csv(dataset.qrels))
    names = ["employees.jsonl", "tasks.jsonl", "labels.csv"]
    if dataset.train_tasks:
        write_jsonl(directory / "train_tasks.jsonl", _task_rows(dataset.train_tasks))
        names.append("train_tasks.jsonl")
    if dataset.context.strip():
        atomic_write_text(directory / "context.md", dataset.context.rstrip("\n") + "\n")
        names.append("context.md")
    return names


def _is_previous_export(out: Path) -> bool:
    try:
        marker = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("format") == "teamform-custom"


def export_custom(dataset: Dataset, out: Path) -> Path:
    """Write ``dataset`` to directory ``out`` in the custom format, so that
    ``load_custom(out).hash == dataset.hash``.

    ``out`` may be missing, empty, or a previous export (replaced as a whole); anything else is
    refused.

    Args:
        dataset: the dataset (any loader's).
        out: the target directory.

    Returns:
        The directory written (absolute).

    Raises:
        DataError: ``out`` is a file or a non-empty directory that is not a previous export, or
            the dataset cannot be expressed in the custom format.

    Example:
        >>> export_custom(load_dataset(cfg.data), Path("exports/demo"))  # doctest: +SKIP
        PosixPath('/home/me/exports/demo')
    """
    out = Path(out).expanduser().absolute()
    if out.exists():
        if not out.is_dir():
            raise DataError(
                out, "exists and is not a directory", fix="choose a new or empty directory for out="
            )
        if any(out.iterdir()) and not _is_previous_export(out):
            raise DataError(
                out,
                "is not empty and is not a previous `teamform data export`",
                fix="choose a new or empty directory for out=",
            )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.export-"))
    try:
        names = write_custom(dataset, staging)
        try:
            loaded = load_custom(staging)
        except DataError as error:
            raise DataError(
                out,
                f"the dataset cannot be written in the custom format ({error.problem})",
                fix="fix the source data",
            ) from None
        if loaded.hash != dataset.hash:
            raise RuntimeError(
                f"export of {dataset.name} does not read back identically: {loaded.hash} != {dataset.hash}"
            )
        write_json(
            staging / MARKER,
            {
                "format": "teamform-custom",
                "version": 1,
                "dataset": dataset.name,
                "hash": dataset.hash,
                "files": names,
            },
        )
        _replace_dir(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def _replace_dir(staging: Path, out: Path) -> None:
    """Move ``staging`` to ``out``; an existing ``out`` (empty or an export) is swapped out first."""
    if not out.exists():
        os.replace(staging, out)
        return
    if not any(out.iterdir()):
        out.rmdir()
        os.replace(staging, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.replace(out, old / "export")
    os.replace(staging, out)
    shutil.rmtree(old)


__all__ = ["FORMAT_FILES", "MARKER", "export_custom", "write_custom"]
