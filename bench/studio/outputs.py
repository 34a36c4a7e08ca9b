"""The files the studio derives from its database: a complete ``data=custom`` directory.

``annotations.jsonl`` keeps every event (one JSON line each, appended with a single write);
``labels.csv`` holds one row per judged pair (the input labels, overlaid by the studio's: the
latest answer of one annotator, the majority across several), rewritten atomically after each
answer; ``employees.jsonl``, ``tasks.jsonl`` (with the tasks typed in the team builder) and the
rest are written by :func:`bench.data.export.write_custom`. All of it is written while the
database's write lock is held, so the files follow the commits in order.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bench.core.dataset import Dataset, Task
from bench.core.io import atomic_write_text
from bench.data.export import labels_csv, write_custom
from bench.studio.storage import event_row

EVENTS_NAME, LABELS_NAME = "annotations.jsonl", "labels.csv"


def majority(labels: Iterable[int]) -> int:
    """The most frequent label; a tie goes to the lowest of the tied labels (relevant needs a majority).

    Example:
        >>> majority([1, 0, 1]), majority([1, 0]), majority([2])
        (1, 0, 2)
    """
    counts = Counter(labels)
    top = max(counts.values())
    return min(label for label, n in counts.items() if n == top)


def annotator_labels(conn: sqlite3.Connection) -> dict[tuple[str, str], dict[str, int]]:
    """``(task_id, employee_id) -> annotator -> label``: each annotator's latest answer not undone."""
    labels: dict[tuple[str, str], dict[str, int]] = {}
    rows = conn.execute(
        "SELECT annotator, task_id, employee_id, label FROM events "
        "WHERE kind = 'answer' AND undone = 0 ORDER BY id"
    )
    for row in rows:
        labels.setdefault((row["task_id"], row["employee_id"]), {})[row["annotator"]] = int(row["label"])
    return labels


def added_tasks(conn: sqlite3.Connection) -> list[Task]:
    """The tasks typed in the team builder, in the order they were added."""
    rows = conn.execute("SELECT id, project, task FROM tasks ORDER BY created, id").fetchall()
    return [Task(r["id"], r["project"], r["task"]) for r in rows]


class Outputs:
    """Writes the derived files of one output directory.

    Args:
        out_dir: the directory.
        dataset: the input dataset (its labels are kept unless the studio judged the pair).
    """

    def __init__(self, out_dir: Path, dataset: Dataset) -> None:
        self.out_dir, self.dataset = Path(out_dir), dataset

    def qrels(self, conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
        """The input labels overlaid by the studio's majority labels."""
        merged = {t: dict(row) for t, row in self.dataset.qrels.items()}
        for (task_id, employee_id), by_annotator in annotator_labels(conn).items():
            merged.setdefault(task_id, {})[employee_id] = majority(by_annotator.values())
        return merged

    def write_all(self, conn: sqlite3.Connection) -> None:
        """The whole dataset and a fresh annotations.jsonl (at start, and when tasks are added)."""
        ds = self.dataset
        tasks = ds.tasks + added_tasks(conn)
        write_custom(
            Dataset(
                ds.name,
                ds.employees,
                tasks,
                self.qrels(conn),
                train_tasks=ds.train_tasks,
                context=ds.context,
                aspects=list(ds.aspects),
            ),
            self.out_dir,
        )
        rows = conn.execute("SELECT * FROM events ORDER BY id").fetchall()
        atomic_write_text(self.out_dir / EVENTS_NAME, "".join(_line(event_row(r)) for r in rows))

    def after_events(self, conn: sqlite3.Connection, events: list[dict]) -> None:
        """Append ``events`` to annotations.jsonl and rewrite labels.csv if a label changed."""
        if not events:
            return
        data = "".join(_line(e) for e in events).encode("utf-8")
        fd = os.open(self.out_dir / EVENTS_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)  # one write of whole lines: a reader never sees half an event
            os.fsync(fd)
        finally:
            os.close(fd)
        if any(e["kind"] in ("answer", "undo") for e in events):
            atomic_write_text(self.out_dir / LABELS_NAME, labels_csv(self.qrels(conn)))


def _line(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False) + "\n"


def read_events(path: Path) -> list[dict]:
    """The events of an annotations.jsonl (blank lines skipped)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
