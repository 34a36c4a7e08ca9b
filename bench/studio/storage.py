"""The studio's state in one SQLite file (``studio.sqlite`` in the output directory).

Everything that concurrent requests write lives here: the sampled pairs and who claimed them,
each annotator's queue and position, the event log, and the tasks typed in the team builder. Each
request opens its own connection (WAL journal, so readers never wait for the writer); writes run
in ``BEGIN IMMEDIATE`` transactions, so two browsers answering at once are serialised by SQLite
and lose nothing. A restarted server pointed at the same directory resumes from this file.
Only ids, labels and task texts are stored: employee text stays in the dataset files.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.core.errors import ConfigError
from bench.studio.sampling import SampledPair

DB_NAME = "studio.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (
    pos INTEGER PRIMARY KEY,           -- the order pairs are shown in
    task_id TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    source TEXT NOT NULL,              -- top | uniform (never shown to annotators)
    shared INTEGER NOT NULL,           -- 1: every annotator judges it (agreement)
    claimed_by TEXT,                   -- the one annotator a non-shared pair is handed to
    UNIQUE (task_id, employee_id)
);
CREATE TABLE IF NOT EXISTS assignments (
    annotator TEXT NOT NULL,
    seq INTEGER NOT NULL,              -- the annotator's own order
    pos INTEGER NOT NULL REFERENCES pairs (pos),
    state TEXT NOT NULL DEFAULT 'open',  -- open | answered | skipped
    event_id INTEGER,                  -- the event that closed it
    PRIMARY KEY (annotator, seq),
    UNIQUE (annotator, pos)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    annotator TEXT NOT NULL,
    task_id TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    source TEXT NOT NULL,              -- top | uniform | team
    origin TEXT NOT NULL,              -- annotate | team
    kind TEXT NOT NULL,                -- answer | skip | undo
    label INTEGER,
    undoes INTEGER REFERENCES events (id),
    undone INTEGER NOT NULL DEFAULT 0,
    pos INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_annotator ON events (annotator, task_id, employee_id);
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, task TEXT NOT NULL, created TEXT NOT NULL
);
"""
EVENT_FIELDS = (
    "id",
    "time",
    "annotator",
    "task_id",
    "employee_id",
    "source",
    "origin",
    "kind",
    "label",
    "undoes",
)


class Store:
    """The SQLite file and its transactions.

    Args:
        path: the database file (created with its tables if missing).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection for this request or thread (autocommit; reads see the last commit)."""
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=True)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on error.

        The write lock is held for the whole block, so files derived from the database and
        written inside it (labels.csv, annotations.jsonl) are written in commit order.
        """
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def ensure_sample(self, key: dict, draw: Callable[[], list[SampledPair]]) -> int:
        """Store the sample on first start; on a restart check it was drawn with the same settings.

        Args:
            key: the settings the sample follows from (seed, sizes, shares, system).
            draw: draws the sample; called only when the database holds none.

        Returns:
            The number of sampled pairs.

        Raises:
            ConfigError: the directory holds a sample drawn with other settings.
        """
        blob = json.dumps(key, sort_keys=True)
        with self.write() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'sample'").fetchone()
            if row is not None:
                if row["value"] != blob:
                    old = json.loads(row["value"])
                    changed = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))
                    raise ConfigError(
                        f"{self.path.parent} was sampled with other settings "
                        f"({', '.join(f'label.{k}' for k in changed)} differ); "
                        "restart with the same settings to resume, or choose a new label.out"
                    )
                return int(conn.execute("SELECT COUNT(*) FROM pairs").fetchone()[0])
            pairs = draw()
            conn.executemany(
                "INSERT INTO pairs (pos, task_id, employee_id, source, shared) VALUES (?, ?, ?, ?, ?)",
                [(i, p.task_id, p.employee_id, p.source, int(p.shared)) for i, p in enumerate(pairs)],
            )
            conn.execute("INSERT INTO meta (key, value) VALUES ('sample', ?)", (blob,))
            return len(pairs)


def event_row(row: sqlite3.Row) -> dict:
    """An event as the line of annotations.jsonl."""
    return {name: row[name] for name in EVENT_FIELDS}
