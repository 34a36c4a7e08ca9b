"""``create_app``: the label studio as a FastAPI application.

Example:
    >>> app = create_app(  # doctest: +SKIP
    ...     dataset, Path("outputs/label"), LabelSettings(top_share=0), StudioServices()
    ... )
    >>> app.state.studio.token  # doctest: +SKIP
    'pX3...'
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError
from bench.studio import annotate, pages, team
from bench.studio.context import Studio
from bench.studio.outputs import Outputs
from bench.studio.sampling import sample_pairs
from bench.studio.security import Guard, Refused
from bench.studio.services import StudioServices
from bench.studio.settings import LOOPBACK_HOSTS, LabelSettings
from bench.studio.storage import DB_NAME, Store

# The settings a stored sample follows from: a restart with other values is refused.
SAMPLE_KEYS = ("seed", "n_pairs", "top_share", "top_k", "overlap", "system")


def create_app(
    dataset: Dataset, out_dir: str | Path, settings: LabelSettings, services: StudioServices
) -> FastAPI:
    """Build the studio over ``dataset``, keeping its state and outputs in ``out_dir``.

    On first start the pairs are sampled (calling ``services.rank_top_k``) and stored; a restart
    on the same directory resumes from the stored state. The dataset is written to ``out_dir``
    in the custom format straight away, so the directory always loads with ``data=custom``.

    Args:
        dataset: the employees, tasks and input labels (any loader's; may have no labels).
        out_dir: the output directory (created if missing).
        settings: the ``label.*`` settings.
        services: the injected callables (ranking, team proposal, task split).

    Returns:
        The app; ``app.state.studio`` holds its :class:`bench.studio.context.Studio` (the
        access token is ``app.state.studio.token``).

    Raises:
        ConfigError: the directory holds a sample drawn with other settings or for other data,
            or ``label.top_share > 0`` without ``services.rank_top_k``.
    """
    out = Path(out_dir).expanduser().absolute()
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out / DB_NAME)
    key = {k: getattr(settings, k) for k in SAMPLE_KEYS}
    store.ensure_sample(key, lambda: sample_pairs(dataset, settings, services.rank_top_k))
    studio = Studio(dataset, settings, services, store, Outputs(out, dataset))
    with store.write() as conn:
        _check_stored_pairs(conn, studio, out)
        studio.outputs.write_all(conn)
    app = FastAPI(title="teamform label studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.studio = studio
    app.state.out_dir = out
    allowed = {*LOOPBACK_HOSTS, settings.host} if settings.loopback else None
    app.add_middleware(Guard, max_body_bytes=settings.max_body_bytes, allowed_hosts=allowed)
    app.include_router(pages.router)
    app.include_router(annotate.router)
    app.include_router(team.router)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    return app


def _check_stored_pairs(conn: sqlite3.Connection, studio: Studio, out: Path) -> None:
    """Every stored pair and team judgement must name a task and an employee of the data."""
    tasks = studio.tasks(conn)
    rows = conn.execute(
        "SELECT task_id, employee_id FROM pairs UNION SELECT task_id, employee_id FROM events"
    ).fetchall()
    for row in rows:
        if row["task_id"] not in tasks or row["employee_id"] not in studio.employees:
            raise ConfigError(
                f"{out / DB_NAME} holds pair ({row['task_id']}, {row['employee_id']}) "
                "that is not in the data; start with the data it was made for, or choose a new label.out"
            )


async def _refused(request: Request, error: Refused) -> Response:
    return pages.refused(request, error)


async def _invalid(request: Request, error: RequestValidationError) -> Response:
    """A malformed request body: the field names only (the values may be personal data)."""
    fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in error.errors()})
    return JSONResponse({"error": f"malformed request ({', '.join(fields)})", "fix": "reload the page"}, 422)
