"""The team builder's JSON API: a project's tasks, the task split, the proposed team, judgements.

Proposing a team registers its tasks: a task already known (same project and text) keeps its
id, a new one gets a fresh ``studio-t{n}`` id and is written to tasks.jsonl. Accepting a pick
records it as relevant; replacing records the replaced person as not relevant and the chosen
one as relevant, for that task, as answers of the signed-in annotator.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from bench.core.errors import TeamformError
from bench.studio import queue
from bench.studio.context import Studio
from bench.studio.deps import studio_of, user, writer
from bench.studio.security import Refused, Session

router = APIRouter(prefix="/api/team")
MAX_TASKS, MAX_TEXT, MAX_PROJECT = 50, 2000, 300


class Split(BaseModel):
    text: str = Field(max_length=20_000)


class Propose(BaseModel):
    project: str = Field(min_length=1, max_length=MAX_PROJECT)
    tasks: list[str] = Field(min_length=1, max_length=MAX_TASKS)


class Judge(BaseModel):
    task_id: str
    employee_id: str
    action: Literal["accept", "replace"]
    replacement: str | None = None


@router.get("/tasks")
def project_tasks(project: str, studio: Studio = Depends(studio_of), _: Session = Depends(user)) -> dict:
    """The tasks known for ``project`` (input and typed), to edit."""
    with studio.store.connect() as conn:
        tasks = [t for t in studio.tasks(conn).values() if t.project == project.strip()]
    return {"project": project, "tasks": [{"id": t.id, "task": t.task} for t in tasks]}


@router.post("/split")
def split(body: Split, studio: Studio = Depends(studio_of), _: Session = Depends(writer)) -> dict:
    """The project description split into task texts."""
    try:
        tasks = [t.strip() for t in studio.services.split_project(body.text) if t.strip()]
    except TeamformError as error:
        raise Refused(502, "Split failed", str(error)) from None
    return {"tasks": tasks[:MAX_TASKS]}


@router.post("/propose")
def propose(body: Propose, studio: Studio = Depends(studio_of), _: Session = Depends(writer)) -> dict:
    """The proposed team for the project's tasks, with explanations and alternatives."""
    project = body.project.strip()
    texts = [t.strip() for t in body.tasks if t.strip()]
    if not project or not texts or any(len(t) > MAX_TEXT for t in texts):
        raise Refused(
            400,
            "Bad project",
            f"give a project name and 1 to {MAX_TASKS} tasks of at most {MAX_TEXT} characters",
        )
    if studio.services.propose_team is None:
        raise Refused(
            503,
            "No team proposer",
            "this studio was started without a team-formation system",
            "start `teamform label serve` with a system (label.system)",
        )
    try:
        team = studio.services.propose_team(project, texts)
    except TeamformError as error:
        raise Refused(502, "Team proposal failed", str(error)) from None
    rows = team.get("tasks") if isinstance(team, dict) else None
    if not isinstance(rows, list) or len(rows) != len(texts):
        raise Refused(502, "Team proposal failed", "the team proposer did not return one row per task")
    with studio.store.write() as conn:
        ids = _register(conn, studio, project, texts)
        studio.outputs.write_all(conn)
    return {
        "project": project,
        **{k: str(team.get(k, "")) for k in ("system", "solver", "objective")},
        "tasks": [
            _task_view(studio, task_id, text, row)
            for task_id, text, row in zip(ids, texts, rows, strict=True)
        ],
    }


@router.post("/judge")
def judge(body: Judge, studio: Studio = Depends(studio_of), session: Session = Depends(writer)) -> dict:
    """Accept a pick (relevant) or replace it (replaced: not relevant, replacement: relevant)."""
    relevant = studio.settings.relevant_grade
    judgements = [(body.task_id, body.employee_id, relevant)]
    if body.action == "replace":
        if not body.replacement or body.replacement == body.employee_id:
            raise Refused(400, "Bad replacement", "choose another employee to replace the pick with")
        judgements = [(body.task_id, body.employee_id, 0), (body.task_id, body.replacement, relevant)]
    unknown = [e for _, e, _ in judgements if e not in studio.employees]
    if unknown:
        raise Refused(400, "Unknown employee", f"no employee {unknown[0]!r} in the data")
    with studio.store.write() as conn:
        if body.task_id not in studio.tasks(conn):
            raise Refused(400, "Unknown task", f"no task {body.task_id!r}; propose the team again")
        events = queue.record_team(conn, session.annotator, judgements)
        studio.outputs.after_events(conn, events)
    return {"recorded": [{"task_id": t, "employee_id": e, "label": g} for t, e, g in judgements]}


def _register(conn: sqlite3.Connection, studio: Studio, project: str, texts: list[str]) -> list[str]:
    """The ids of the tasks, creating fresh ones for tasks not known yet."""
    known = {(t.project, t.task): t.id for t in studio.tasks(conn).values()}
    taken = set(studio.tasks(conn)) | {t.id for t in studio.dataset.train_tasks}
    ids, n = [], conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
    for text in texts:
        task_id = known.get((project, text))
        if task_id is None:
            n += 1
            while f"studio-t{n}" in taken:
                n += 1
            task_id = f"studio-t{n}"
            taken.add(task_id)
            known[(project, text)] = task_id
            conn.execute(
                "INSERT INTO tasks (id, project, task, created) VALUES (?, ?, ?, ?)",
                (task_id, project, text, queue.now()),
            )
        ids.append(task_id)
    return ids


def _task_view(studio: Studio, task_id: str, text: str, row: Any) -> dict:
    """One task of the proposed team, with each pick's profile and explanation."""
    row = row if isinstance(row, dict) else {}
    picks = []
    for pick in row.get("assigned") or []:
        explanation = sorted(
            (
                [a, int(v.get("rank", 0)), float(v.get("score", 0.0))]
                for a, v in (pick.get("aspects") or {}).items()
            ),
            key=lambda r: r[1],
        )
        picks.append({**_person(studio, pick), "explanation": explanation})
    displaced = row.get("displaced")
    return {
        "task_id": task_id,
        "text": text,
        "picks": picks,
        "next": [
            _person(studio, n) for n in row.get("next") or [] if n.get("employee_id") in studio.employees
        ],
        "displaced": displaced if isinstance(displaced, dict) else None,
    }


def _person(studio: Studio, entry: dict) -> dict:
    employee_id = entry.get("employee_id")
    if employee_id not in studio.employees:
        raise Refused(
            502, "Team proposal failed", f"the team proposer returned unknown employee {employee_id!r}"
        )
    return {
        "employee": studio.employee_view(employee_id),
        "fused_score": float(entry.get("fused_score") or 0.0),
    }
