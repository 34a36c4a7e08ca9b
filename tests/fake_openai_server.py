"""A loopback OpenAI-compatible chat server for tests, with faults at set, seeded rates.

It answers ``POST /v1/chat/completions`` and ``GET /v1/models`` on ``127.0.0.1`` (stdlib
``ThreadingHTTPServer`` in a daemon thread). Each request belongs to a *prompt*: the content of
its first user message. Whether a request fails is a function of the seed, the prompt and how many
times that prompt was asked before, so runs are reproducible whatever the order of concurrent
requests:

- ``rate_429`` / ``rate_500``: answer HTTP 429 (with ``Retry-After: 0``) / 500;
- ``rate_slow``: sleep ``slow_s`` before answering (longer than the client's timeout makes a timeout);
- ``rate_malformed``: answer 200 with text that is not valid JSON for the schema;
- ``max_faults``: no prompt gets more than this many faults (so every prompt completes);
- ``reject_json_schema``: answer 400 to ``response_format.type == "json_schema"`` (a server
  without structured output), so clients must fall back to ``json_object``.

Valid replies come from ``responder(prompt, request_body) -> dict``, by default a minimal instance
built from the request's JSON schema (:func:`instance_from_schema`). The server counts requests per
prompt (``counts``) and valid replies per prompt (``ok``), and keeps ``bodies`` of every request.

Example:
    >>> with FakeOpenAIServer(seed=0) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


def instance_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A small value valid for a JSON schema (objects, arrays, enums, ``$ref``, ``anyOf``).

    Example:
        >>> instance_from_schema({"type": "object", "properties": {"a": {"type": "integer"},
        ...     "b": {"type": "array", "items": {"type": "string"}, "minItems": 2}}})
        {'a': 0, 'b': ['x', 'x']}
    """
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return instance_from_schema(root["$defs"][name], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance_from_schema(options[0], root)
    kind = schema.get("type", "object")
    if kind == "object":
        return {name: instance_from_schema(sub, root) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [
            instance_from_schema(schema.get("items", {}), root)
            for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0.0))
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "x" * max(1, schema.get("minLength", 1))


def default_responder(prompt: str, body: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid instance of the request's schema (``json_schema`` or llama.cpp ``schema``)."""
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema") or {}
    return instance_from_schema(schema)


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 (a free port) for one handler class; stop with ``__exit__``."""

    _httpd: ThreadingHTTPServer | None = None

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def __exit__(self, *exc_info: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base_url(self) -> str:
        """The ``/v1`` URL to point the openai SDK at."""
        assert self._httpd is not None, "start the server with a `with` block"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"


class FakeOpenAIServer(LoopbackServer):
    """The test server; use as a context manager. See the module docstring for the knobs."""

    def __init__(
        self,
        seed: int = 0,
        rate_429: float = 0.0,
        rate_500: float = 0.0,
        rate_slow: float = 0.0,
        rate_malformed: float = 0.0,
        slow_s: float = 2.0,
        delay_s: float = 0.0,
        max_faults: int = 2,
        reject_json_schema: bool = False,
        responder: Responder = default_responder,
        prompt_tokens: int = 100,
        completion_tokens: int = 10,
    ) -> None:
        self.seed, self.max_faults = seed, max_faults
        self.rates = {"429": rate_429, "500": rate_500, "slow": rate_slow, "malformed": rate_malformed}
        self.slow_s, self.delay_s = slow_s, delay_s
        self.reject_json_schema, self.responder = reject_json_schema, responder
        self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()  # requests per prompt
        self.ok: Counter[str] = Counter()  # valid replies per prompt
        self.faults: Counter[str] = Counter()  # faults served, by kind
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> FakeOpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                status, payload, headers = server.handle(body)
                self._send(status, payload, headers)

            def _send(
                self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        self._serve(Handler)
        return self

    def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait until no request is being answered (e.g. those of a killed client)."""
        deadline = time.monotonic() + timeout_s
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.in_flight:
            raise TimeoutError(f"{self.in_flight} requests still in flight after {timeout_s} s")

    def reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()
            self.ok.clear()
            self.faults.clear()
            self.bodies.clear()

    # ---------------------------------------------------------------- behaviour
    def _draw(self, prompt: str, nth: int, kind: str) -> float:
        """A uniform [0, 1) number fixed by seed, prompt, attempt and fault kind."""
        digest = hashlib.sha256(f"{self.seed}|{prompt}|{nth}|{kind}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Decide and build the answer to one chat request: (status, JSON body, headers)."""
        with self.lock:
            self.in_flight += 1
        try:
            return self._handle(body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        messages = body.get("messages", [])
        prompt = next((m.get("content", "") for m in messages if m.get("role") == "user"), "")
        with self.lock:
            nth = self.counts[prompt]
            self.counts[prompt] += 1
            self.bodies.append(body)
            faulted = sum(1 for k in self.faults if k[0] == prompt)
        fmt = body.get("response_format") or {}
        if self.reject_json_schema and fmt.get("type") == "json_schema":
            return (
                400,
                {
                    "error": {
                        "message": "response_format json_schema is not supported",
                        "type": "invalid_request_error",
                    }
                },
                {},
            )
        fault = None
        if faulted < self.max_faults:
            fault = next(
                (k for k, rate in self.rates.items() if rate and self._draw(prompt, nth, k) < rate), None
            )
        if fault is not None:
            with self.lock:
                self.faults[(prompt, nth, fault)] += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if fault == "429":
            return (
                429,
                {"error": {"message": "rate limited", "type": "rate_limit_error"}},
                {"Retry-After": "0"},
            )
        if fault == "500":
            return 500, {"error": {"message": "internal error", "type": "server_error"}}, {}
        if fault == "slow":
            time.sleep(self.slow_s)
        if fault == "malformed":
            content = '{"this is": "not valid'  # cut-off JSON
        else:
            content = json.dumps(self.responder(prompt, body))
        if fault != "malformed":
            with self.lock:
                self.ok[prompt] += 1
        return 200, self._completion(body, content), {}

    def fault_counts(self) -> Counter[str]:
        """Faults served, by kind."""
        out: Counter[str] = Counter()
        for (_, _, kind), n in self.faults.items():
            out[kind] += n
        return out

    def _completion(self, body: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake-model"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens,
            },
        }
