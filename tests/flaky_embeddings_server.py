"""A loopback OpenAI embeddings server that fails on a script, for retry and failure tests.

``POST /v1/embeddings`` on ``127.0.0.1`` (a free port) answers, in order:

1. 401 when the bearer token is not ``key``, 404 when the model is not in ``models``;
2. the next entry of ``script`` while one is left: an HTTP status (``429``, ``500``...) sent with
   ``headers``, ``"slow"`` (sleep ``slow_s``, then a normal answer: longer than the client's
   timeout makes a timeout) or ``200`` (a normal answer);
3. ``fail_status`` when the request holds one of ``fail_texts`` (a batch that keeps failing);
4. otherwise unit vectors derived from each input's hash (:func:`tests.loopback_openai.vector`),
   in shuffled order (the API does not promise order).

It counts ``requests``, keeps ``bodies`` and the ``texts`` it embedded, and shuts itself down after
``lifetime_s`` seconds even if the test hangs (and always on leaving the ``with`` block).

Example:
    >>> with FlakyEmbeddingsServer(script=[429]) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_openai_server import LoopbackServer
from tests.loopback_openai import vector

KEY = "sk-test-flaky-loopback"


class FlakyEmbeddingsServer(LoopbackServer):
    """Use as a context manager; :attr:`base_url` is the ``/v1`` URL. See the module docstring."""

    def __init__(
        self,
        script: Iterable[int | str] = (),
        headers: dict[str, str] | None = None,
        fail_texts: Iterable[str] = (),
        fail_status: int = 500,
        key: str = KEY,
        models: Iterable[str] = ("text-embedding-3-small", "text-embedding-3-large"),
        dim: int = 8,
        slow_s: float = 1.0,
        lifetime_s: float = 60.0,
    ) -> None:
        self.script, self.headers = list(script), dict(headers or {})
        self.fail_texts, self.fail_status = set(fail_texts), fail_status
        self.key, self.models, self.dim = key, set(models), dim
        self.slow_s, self.lifetime_s = slow_s, lifetime_s
        self.lock = threading.Lock()
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.texts: list[str] = []  # every text answered with a vector, in order
        self._timer: threading.Timer | None = None

    def __enter__(self) -> FlakyEmbeddingsServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                status, payload, headers = server.answer(body, token)
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # A short poll makes shutdown quick (the default 0.5 s costs that much per test).
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        self._timer = threading.Timer(self.lifetime_s, self._httpd.shutdown)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().__exit__(*exc_info)

    def answer(self, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``(status, JSON body, headers)`` of one request (see the module docstring)."""
        inputs = [str(t) for t in body.get("input", [])]
        with self.lock:
            self.requests += 1
            self.bodies.append(body)
        if token != self.key:
            return 401, _error(f"Incorrect API key provided: {token}", "invalid_request_error"), {}
        if body.get("model") not in self.models:
            return 404, _error(f"The model {body.get('model')!r} does not exist", "invalid_request_error"), {}
        with self.lock:
            step = self.script.pop(0) if self.script else 200
        if step == "slow":
            time.sleep(self.slow_s)
        elif step != 200:
            return int(step), _error(f"scripted HTTP {step}", "server_error"), dict(self.headers)
        if self.fail_texts & set(inputs):
            return self.fail_status, _error("this batch keeps failing", "server_error"), {}
        dim = int(body.get("dimensions") or self.dim)
        data = [
            {"object": "embedding", "index": i, "embedding": vector(t, dim)} for i, t in enumerate(inputs)
        ]
        random.Random(self.requests).shuffle(data)
        with self.lock:
            self.texts.extend(inputs)
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return 200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}, {}


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}
