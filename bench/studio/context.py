"""What every request of one studio shares: the data, the settings, the store and the secrets."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from bench.core.dataset import Dataset, Employee, Task
from bench.studio import queue
from bench.studio.outputs import Outputs, added_tasks
from bench.studio.security import Sessions
from bench.studio.services import StudioServices
from bench.studio.settings import LabelSettings
from bench.studio.storage import Store


@dataclass
class Studio:
    """One running label studio.

    Attributes:
        dataset: the input data.
        settings: the ``label.*`` settings.
        services: the injected callables.
        store: the SQLite state.
        outputs: writes the derived files.
        token: the access token of this run (in the printed URL).
        sessions: the browsers logged in.
        cookie: the session cookie's name (unique per run, so servers on other ports don't clash).
    """

    dataset: Dataset
    settings: LabelSettings
    services: StudioServices
    store: Store
    outputs: Outputs
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    sessions: Sessions = field(init=False)
    cookie: str = field(default_factory=lambda: f"studio_{secrets.token_hex(4)}")

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.settings.session_hours * 3600)
        self.employees: dict[str, Employee] = {e.id: e for e in self.dataset.employees}
        self.eval_tasks: dict[str, Task] = {t.id: t for t in self.dataset.tasks}

    def tasks(self, conn: sqlite3.Connection) -> dict[str, Task]:
        """Every evaluation task: the input's and those typed in the team builder."""
        return {**self.eval_tasks, **{t.id: t for t in added_tasks(conn)}}

    def employee_view(self, employee_id: str) -> dict[str, Any]:
        """An employee for the page: the id and ``[aspect, text]`` in the data's aspect order."""
        employee = self.employees[employee_id]
        aspects = [[a, employee.aspects[a]] for a in self.dataset.aspects if employee.aspects.get(a)]
        return {"id": employee.id, "aspects": aspects}

    def state(self, conn: sqlite3.Connection, annotator: str) -> dict[str, Any]:
        """The annotate page's state: the current pair (``None`` when done) and the progress.

        The pair's source (top-k or uniform) and whether it is shared are never sent.
        """
        row = queue.current(conn, annotator)
        pair = None
        if row is not None:
            task = self.tasks(conn)[row["task_id"]]
            pair = {
                "id": row["pos"],
                "task": {"id": task.id, "project": task.project, "task": task.task},
                "employee": self.employee_view(row["employee_id"]),
            }
        return {"annotator": annotator, "pair": pair, "progress": queue.progress(conn, annotator)}
