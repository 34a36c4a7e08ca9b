"""Access control for pages that show personal data.

- An access token (``secrets.token_urlsafe``) is printed in the URL; opening it creates a
  server-side session whose id travels in an HttpOnly, SameSite=Strict cookie. Every other
  request needs that session. The token lives as long as the server: a URL of an earlier run is
  refused with a page that says which URL to open.
- Every write is a POST carrying the session's CSRF token in ``X-CSRF-Token`` (checked with
  ``hmac.compare_digest``); a browser's ``Origin`` must be the page's own, and a cross-site
  ``Sec-Fetch-Site`` is refused.
- :class:`Guard` (pure ASGI) refuses foreign ``Host`` headers on a loopback server (DNS
  rebinding), refuses bodies over the size limit with 413, adds the security headers to every
  response and turns any uncaught error into a bare 500 whose log line names the error type and
  the path only (no employee text reaches the logs).
"""

from __future__ import annotations

import hmac
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_HEADER = "x-csrf-token"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
        b"base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class Refused(Exception):
    """A request the studio refuses; rendered as an error page (or JSON under ``/api/``).

    Args:
        status: the HTTP status (403, 400, 409, ...).
        title: one line for the page title.
        problem: what is wrong.
        fix: what to do.
    """

    def __init__(self, status: int, title: str, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.status, self.title, self.problem, self.fix = status, title, problem, fix


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret given by a client."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass
class Session:
    """One browser's login: who annotates and the CSRF token of its writes."""

    id: str
    annotator: str
    csrf: str
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """The live sessions (in memory: a restarted server asks for its new URL).

    Args:
        max_idle_s: a session unused this long expires.
    """

    def __init__(self, max_idle_s: float) -> None:
        self.max_idle_s = max_idle_s
        self._lock = threading.Lock()
        self._items: dict[str, Session] = {}

    def create(self, annotator: str) -> Session:
        session = Session(secrets.token_urlsafe(32), annotator, secrets.token_urlsafe(32))
        with self._lock:
            self._items[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this cookie value, or ``None``."""
        if not session_id:
            return None
        now = time.monotonic()
        with self._lock:
            for key in [k for k, s in self._items.items() if now - s.last_seen > self.max_idle_s]:
                del self._items[key]
            match = next((s for k, s in self._items.items() if same(session_id, k)), None)
            if match is not None:
                match.last_seen = now
            return match


def check_write(headers: dict[str, str], session: Session) -> None:
    """Refuse a cross-site write: foreign ``Origin``/``Sec-Fetch-Site`` or a missing CSRF token."""
    origin, host = headers.get("origin"), headers.get("host", "")
    if origin is not None and (origin == "null" or urlsplit(origin).netloc != host):
        raise Refused(403, "Cross-site request refused", "this request came from another site")
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise Refused(403, "Cross-site request refused", "this request came from another site")
    if not same(headers.get(CSRF_HEADER), session.csrf):
        raise Refused(
            403,
            "Request refused",
            "the page's security token is missing or stale",
            "reload the page and try again",
        )


class Guard:
    """ASGI middleware: host check, body size limit, security headers, quiet 500s.

    Args:
        app: the wrapped application.
        max_body_bytes: larger request bodies get 413.
        allowed_hosts: host names (without port) the ``Host`` header may carry; ``None`` allows any.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, allowed_hosts: set[str] | None) -> None:
        self.app, self.max_body_bytes, self.allowed_hosts = app, max_body_bytes, allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.allowed_hosts is not None and _hostname(headers.get("host", "")) not in self.allowed_hosts:
            await _plain(
                send_secured, 400, "Bad Host header: open the URL printed by `teamform label serve`."
            )
            return
        body = await self._read_body(headers, receive)
        if body is None:
            await _plain(send_secured, 413, f"Request body too large (limit {self.max_body_bytes} bytes).")
            return
        replay = _replayer(body, receive)
        try:
            await self.app(scope, replay, send_secured)
        except Exception as error:  # noqa: BLE001 - the message may hold personal data: log the type only
            print(
                f"label studio: internal error ({type(error).__name__}) on {scope.get('method')} "
                f"{scope.get('path')}",
                file=sys.stderr,
            )
            if not started:
                await _plain(send_secured, 500, "Internal error; see the server's output.")

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes | None:
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            return None
        chunks, size = [], 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replayer(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
