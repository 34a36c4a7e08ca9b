"""Each annotator's queue: which pair they see next, and their answers, skips and undos.

An annotator walks the sampled pairs in their stored order. A shared pair is shown to everyone;
any other pair is *claimed* by the first annotator who reaches it, so nobody duplicates another's
work. An annotator never gets a pair twice, nor one they already judged in the team builder.
The current pair is the open assignment with the lowest sequence number, so after an undo the
undone pair comes back first. Every function takes a connection inside a write transaction
(:meth:`bench.studio.storage.Store.write`) and returns the new events as dicts.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from bench.studio.storage import event_row

ANNOTATE, TEAM_ORIGIN = "annotate", "team"
_CLAIMABLE = """
    FROM pairs p
    WHERE NOT EXISTS (SELECT 1 FROM assignments a WHERE a.annotator = :who AND a.pos = p.pos)
      AND (p.shared = 1 OR p.claimed_by IS NULL)
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.annotator = :who AND e.kind = 'answer'
                      AND e.undone = 0 AND e.task_id = p.task_id AND e.employee_id = p.employee_id)
"""


class QueueConflict(Exception):
    """The pair answered is not one of the annotator's open pairs (a stale page or a double submit)."""


def now() -> str:
    """The time of an event: UTC, ISO 8601, milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def current(conn: sqlite3.Connection, annotator: str) -> sqlite3.Row | None:
    """The pair the annotator sees now (claiming the next one if none is open), or ``None`` when done."""
    row = _open(conn, annotator)
    if row is not None:
        return row
    nxt = conn.execute(
        f"SELECT p.pos, p.shared {_CLAIMABLE} ORDER BY p.pos LIMIT 1", {"who": annotator}
    ).fetchone()
    if nxt is None:
        return None
    seq = conn.execute(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM assignments WHERE annotator = ?", (annotator,)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO assignments (annotator, seq, pos) VALUES (?, ?, ?)", (annotator, seq, nxt["pos"])
    )
    if not nxt["shared"]:
        conn.execute("UPDATE pairs SET claimed_by = ? WHERE pos = ?", (annotator, nxt["pos"]))
    return _open(conn, annotator)


def _open(conn: sqlite3.Connection, annotator: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT a.seq, p.* FROM assignments a JOIN pairs p ON p.pos = a.pos "
        "WHERE a.annotator = ? AND a.state = 'open' ORDER BY a.seq LIMIT 1",
        (annotator,),
    ).fetchone()


def progress(conn: sqlite3.Connection, annotator: str) -> dict[str, int]:
    """``{"judged", "skipped", "left"}`` for the annotator (left counts the open and claimable pairs)."""
    counts = dict(
        conn.execute(
            "SELECT state, COUNT(*) FROM assignments WHERE annotator = ? GROUP BY state", (annotator,)
        ).fetchall()
    )
    claimable = conn.execute(f"SELECT COUNT(*) {_CLAIMABLE}", {"who": annotator}).fetchone()[0]
    return {
        "judged": counts.get("answered", 0),
        "skipped": counts.get("skipped", 0),
        "left": counts.get("open", 0) + claimable,
    }


def _insert_event(conn: sqlite3.Connection, **values: object) -> dict:
    values.setdefault("time", now())
    names = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    cursor = conn.execute(f"INSERT INTO events ({names}) VALUES ({marks})", values)
    return event_row(conn.execute("SELECT * FROM events WHERE id = ?", (cursor.lastrowid,)).fetchone())


def _close(conn: sqlite3.Connection, annotator: str, pos: int, kind: str, label: int | None) -> dict:
    row = conn.execute(
        "SELECT p.* FROM assignments a JOIN pairs p ON p.pos = a.pos "
        "WHERE a.annotator = ? AND a.pos = ? AND a.state = 'open'",
        (annotator, pos),
    ).fetchone()
    if row is None:
        raise QueueConflict(f"pair {pos} is not open for {annotator}")
    event = _insert_event(
        conn,
        annotator=annotator,
        task_id=row["task_id"],
        employee_id=row["employee_id"],
        source=row["source"],
        origin=ANNOTATE,
        kind=kind,
        label=label,
        pos=pos,
    )
    state = "answered" if kind == "answer" else "skipped"
    conn.execute(
        "UPDATE assignments SET state = ?, event_id = ? WHERE annotator = ? AND pos = ?",
        (state, event["id"], annotator, pos),
    )
    if kind == "skip" and not row["shared"]:  # a skipped pair may go to someone else
        conn.execute("UPDATE pairs SET claimed_by = NULL WHERE pos = ? AND claimed_by = ?", (pos, annotator))
    return event


def answer(conn: sqlite3.Connection, annotator: str, pos: int, label: int) -> list[dict]:
    """Record the annotator's label for their open pair ``pos``.

    Raises:
        QueueConflict: ``pos`` is not open for this annotator.
    """
    return [_close(conn, annotator, pos, "answer", label)]


def skip(conn: sqlite3.Connection, annotator: str, pos: int) -> list[dict]:
    """Skip the open pair ``pos``; a non-shared pair is released for the other annotators."""
    return [_close(conn, annotator, pos, "skip", None)]


def undo(conn: sqlite3.Connection, annotator: str) -> list[dict]:
    """Undo the annotator's latest answer or skip on the annotate page; ``[]`` when there is none.

    The pair is reopened (and shown next); its event stays in the log, marked undone by an
    ``undo`` event.
    """
    last = conn.execute(
        "SELECT a.pos, a.event_id, p.shared, p.claimed_by FROM assignments a JOIN pairs p ON p.pos = a.pos "
        "WHERE a.annotator = ? AND a.state != 'open' ORDER BY a.event_id DESC LIMIT 1",
        (annotator,),
    ).fetchone()
    if last is None:
        return []
    undone = conn.execute("SELECT * FROM events WHERE id = ?", (last["event_id"],)).fetchone()
    conn.execute("UPDATE events SET undone = 1 WHERE id = ?", (undone["id"],))
    conn.execute(
        "UPDATE assignments SET state = 'open', event_id = NULL WHERE annotator = ? AND pos = ?",
        (annotator, last["pos"]),
    )
    if not last["shared"] and last["claimed_by"] is None:
        conn.execute("UPDATE pairs SET claimed_by = ? WHERE pos = ?", (annotator, last["pos"]))
    event = _insert_event(
        conn,
        annotator=annotator,
        task_id=undone["task_id"],
        employee_id=undone["employee_id"],
        source=undone["source"],
        origin=ANNOTATE,
        kind="undo",
        label=None,
        undoes=undone["id"],
        pos=last["pos"],
    )
    return [event]


def record_team(
    conn: sqlite3.Connection, annotator: str, judgements: list[tuple[str, str, int]]
) -> list[dict]:
    """Record team-builder judgements ``(task_id, employee_id, label)`` as answers of ``annotator``."""
    return [
        _insert_event(
            conn,
            annotator=annotator,
            task_id=t,
            employee_id=e,
            source="team",
            origin=TEAM_ORIGIN,
            kind="answer",
            label=label,
        )
        for t, e, label in judgements
    ]
