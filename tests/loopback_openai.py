"""A loopback OpenAI API for whole-command tests: chat completions and embeddings on 127.0.0.1.

Chat requests are answered by :class:`tests.fake_openai_server.FakeOpenAIServer`'s logic (a
minimal valid instance of the request's JSON schema); ``POST /v1/embeddings`` returns unit
vectors derived from each input's hash. Point ``OPENAI_BASE_URL`` at :attr:`base_url` and both
``llm=openai`` and the ``openai-small/large`` baselines talk to it. It records the bearer tokens
it was sent (to prove the key was used) and how many texts it embedded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

import numpy as np

from tests.fake_openai_server import FakeOpenAIServer, LoopbackServer


def vector(text: str, dim: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "big")
    v = np.random.default_rng(seed).standard_normal(dim)
    return (v / np.linalg.norm(v)).tolist()


class LoopbackOpenAI(LoopbackServer):
    """Use as a context manager; :attr:`base_url` is the ``/v1`` URL."""

    def __init__(self, dim: int = 16) -> None:
        self.dim = dim
        self.chat = FakeOpenAIServer(seed=0)
        self.tokens: set[str] = set()
        self.embedded = 0
        self.lock = threading.Lock()

    def __enter__(self) -> LoopbackOpenAI:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with server.lock:
                    server.tokens.add(self.headers.get("Authorization", "").removeprefix("Bearer "))
                if self.path.rstrip("/").endswith("/embeddings"):
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    with server.lock:
                        server.embedded += len(inputs)
                    dim = int(body.get("dimensions") or server.dim)
                    data = [
                        {"object": "embedding", "index": i, "embedding": vector(str(t), dim)}
                        for i, t in enumerate(inputs)
                    ]
                    status, payload = (
                        200,
                        {
                            "object": "list",
                            "data": data,
                            "model": body.get("model"),
                            "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
                        },
                    )
                else:
                    status, payload, _ = server.chat.handle(body)
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self._serve(Handler)
        return self
