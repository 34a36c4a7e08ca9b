"""FastAPI dependencies: the studio of the app, the logged-in annotator, a checked write."""

from __future__ import annotations

from fastapi import Request

from bench.studio.context import Studio
from bench.studio.security import Refused, Session, check_write

LOGIN_FIX = "open the URL printed by `teamform label serve` (the one of its latest start)"


def studio_of(request: Request) -> Studio:
    """The :class:`Studio` this app serves."""
    return request.app.state.studio


def user(request: Request) -> Session:
    """The session of the request's cookie; refused with 403 when there is none."""
    studio = studio_of(request)
    session = studio.sessions.get(request.cookies.get(studio.cookie))
    if session is None:
        raise Refused(403, "Not signed in", "this page needs the access link of the label studio", LOGIN_FIX)
    return session


def writer(request: Request) -> Session:
    """The session of a write (POST) that passed the cross-site checks."""
    session = user(request)
    check_write({k.lower(): v for k, v in request.headers.items()}, session)
    return session
