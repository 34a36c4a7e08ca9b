"""The HTML side: login by the access link, the two pages, the packaged assets, error pages.

Templates are rendered by Jinja2 with autoescaping on (project names in the team builder's list
are escaped there). Employee and task texts never go into the HTML by the server: the scripts
fetch them as JSON and set them with ``textContent``, so any markup in a profile shows as text,
in full, and never runs. The Content-Security-Policy forbids inline scripts besides.
"""

from __future__ import annotations

from importlib import resources
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from bench.studio.context import Studio
from bench.studio.deps import LOGIN_FIX, studio_of, user
from bench.studio.security import Refused, Session, same
from bench.studio.settings import ANNOTATOR_NAME

router = APIRouter()
ENV = Environment(
    loader=PackageLoader("bench.studio", "templates"), autoescape=True, undefined=StrictUndefined
)
ASSET_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
# The one asset served without a session: the error and login pages' styles (no data in it).
PUBLIC_ASSETS = {"studio.css"}
ASSETS = {
    p.name: p.read_bytes()
    for p in resources.files("bench.studio").joinpath("static").iterdir()
    if p.name.endswith(tuple(ASSET_TYPES))
}
BAD_LINK = (
    "this access link is not valid or has expired: it is mistyped, or it is from an earlier start "
    "of the server (each start makes a new one)"
)


def render(name: str, status: int = 200, **values: object) -> HTMLResponse:
    values.setdefault("annotator", None)
    values.setdefault("csrf", "")
    values.setdefault("page", "")
    return HTMLResponse(ENV.get_template(name).render(**values), status_code=status)


def refused(request: Request, error: Refused) -> Response:
    """The answer to a refused request: JSON for the API, an error page otherwise."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": error.problem, "fix": error.fix}, status_code=error.status)
    return render("error.html", error.status, title=error.title, problem=error.problem, fix=error.fix)


def _login(studio: Studio, annotator: str) -> RedirectResponse:
    session = studio.sessions.create(annotator)
    response = RedirectResponse("/annotate", status_code=303)
    response.set_cookie(
        studio.cookie,
        session.id,
        httponly=True,
        samesite="strict",
        path="/",
        max_age=int(studio.settings.session_hours * 3600),
    )
    return response


def _check_token(studio: Studio, token: str | None) -> None:
    if not same(token, studio.token):
        raise Refused(403, "Access link not valid", BAD_LINK, LOGIN_FIX)


@router.get("/login")
def login(
    request: Request,
    token: str | None = None,
    annotator: str | None = None,
    studio: Studio = Depends(studio_of),
) -> Response:
    """The printed URL: check the token, open a session, land on the annotate page."""
    _check_token(studio, token)
    name = studio.settings.annotator or annotator
    if name is None:
        return render("login.html", title="Sign in", token=token, error="")
    if not ANNOTATOR_NAME.fullmatch(name):
        return render(
            "login.html", 400, title="Sign in", token=token, error="Use 1-64 letters, digits or _.@-"
        )
    return _login(studio, name)


@router.post("/login")
async def login_form(request: Request, studio: Studio = Depends(studio_of)) -> Response:
    """The sign-in form of a studio started without ``label.annotator``: the name per browser."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [None])[0]
    _check_token(studio, token)
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        raise Refused(403, "Cross-site request refused", "this request came from another site")
    name = (form.get("annotator") or [""])[0].strip()
    if not ANNOTATOR_NAME.fullmatch(name):
        return render(
            "login.html", 400, title="Sign in", token=token, error="Use 1-64 letters, digits or _.@-"
        )
    return _login(studio, name)


@router.get("/")
def home(_: Session = Depends(user)) -> Response:
    return RedirectResponse("/annotate", status_code=303)


@router.get("/annotate")
def annotate_page(studio: Studio = Depends(studio_of), session: Session = Depends(user)) -> Response:
    scale = sorted(studio.settings.scale, reverse=True)
    names = {0: "Not relevant", 1: "Relevant"} if studio.settings.grades is None else {0: "Not relevant"}
    buttons = [(g, names.get(g, f"Grade {g}")) for g in scale]
    return render(
        "annotate.html",
        title="Annotate",
        page="annotate",
        annotator=session.annotator,
        csrf=session.csrf,
        buttons=buttons,
    )


@router.get("/team")
def team_page(studio: Studio = Depends(studio_of), session: Session = Depends(user)) -> Response:
    with studio.store.connect() as conn:
        projects = sorted({t.project for t in studio.tasks(conn).values()})
    return render(
        "team.html",
        title="Team builder",
        page="team",
        annotator=session.annotator,
        csrf=session.csrf,
        projects=projects,
    )


@router.get("/static/{name}")
def asset(name: str, request: Request) -> Response:
    """A packaged script or style (no CDN: the studio works offline)."""
    if name not in ASSETS:
        return Response("not found", status_code=404, media_type="text/plain")
    if name not in PUBLIC_ASSETS:
        user(request)
    suffix = name[name.rfind(".") :]
    return Response(ASSETS[name], media_type=ASSET_TYPES[suffix])
