"""The annotate page's JSON API: the current pair, answer, skip and undo.

Every write runs in one ``BEGIN IMMEDIATE`` transaction that records the event, moves the
annotator's queue, appends annotations.jsonl and rewrites labels.csv, then answers the new state.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from bench.studio import queue
from bench.studio.context import Studio
from bench.studio.deps import studio_of, user, writer
from bench.studio.security import Refused, Session

router = APIRouter(prefix="/api/annotate")


class Answer(BaseModel):
    """An answer to the pair the page showed."""

    pair: int
    label: int


class Skip(BaseModel):
    pair: int


@router.get("/state")
def state(studio: Studio = Depends(studio_of), session: Session = Depends(user)) -> dict:
    """The current pair and the progress (claims the next pair when none is open)."""
    with studio.store.write() as conn:
        return studio.state(conn, session.annotator)


@router.post("/answer")
def answer(body: Answer, studio: Studio = Depends(studio_of), session: Session = Depends(writer)) -> dict:
    """Record a label; answers the next state."""
    if body.label not in studio.settings.scale:
        raise Refused(400, "Bad answer", f"label {body.label} is not on the scale {studio.settings.scale}")
    return _write(studio, session, lambda conn: queue.answer(conn, session.annotator, body.pair, body.label))


@router.post("/skip")
def skip(body: Skip, studio: Studio = Depends(studio_of), session: Session = Depends(writer)) -> dict:
    """Skip the pair; answers the next state."""
    return _write(studio, session, lambda conn: queue.skip(conn, session.annotator, body.pair))


@router.post("/undo")
def undo(studio: Studio = Depends(studio_of), session: Session = Depends(writer)) -> dict:
    """Undo the latest answer or skip; the undone pair is shown again."""
    return _write(studio, session, lambda conn: queue.undo(conn, session.annotator), undo=True)


def _write(
    studio: Studio, session: Session, change: Callable[[sqlite3.Connection], list[dict]], undo: bool = False
) -> dict:
    with studio.store.write() as conn:
        try:
            events = change(conn)
        except queue.QueueConflict:
            raise Refused(
                409,
                "Already answered",
                "this pair was already answered (another tab?)",
                "the page now shows your current pair",
            ) from None
        studio.outputs.after_events(conn, events)
        result = studio.state(conn, session.annotator)
    if undo:
        result["undone"] = bool(events)
    return result
