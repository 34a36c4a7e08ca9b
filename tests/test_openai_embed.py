"""OpenAI embedding baselines through the real openai SDK against a loopback embeddings server."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bench.errors import ConfigError
from models.embedding_cache import CachedEncoder
from models.openai_embed import OpenAIEmbedder, openai_skip_reason

KEY = "sk-test-loopback"


def fake_vector(text: str, dim: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


class EmbeddingsHandler(BaseHTTPRequestHandler):
    """``POST /v1/embeddings``: vectors derived from each input's hash, answered in shuffled order."""

    def log_message(self, *args) -> None:  # noqa: ANN002 - keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.bodies.append(body)
        if self.path != "/v1/embeddings" or self.headers.get("Authorization") != f"Bearer {KEY}":
            self.send_response(401)
            self.end_headers()
            return
        dim = body.get("dimensions", 12)
        data = []
        for i, text in enumerate(body["input"]):
            vector = fake_vector(text, dim)
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(vector.tobytes()).decode()
            else:
                embedding = vector.tolist()
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        random.Random(len(server.bodies)).shuffle(data)  # the API does not promise order
        reply = {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        raw = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture()
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EmbeddingsHandler)
    httpd.bodies = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def embedder(httpd: ThreadingHTTPServer, **kwargs) -> OpenAIEmbedder:  # noqa: ANN003
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    return OpenAIEmbedder(base_url=url, api_key=KEY, max_retries=0, timeout=10, **kwargs)


def test_batched_in_order_and_normalised(server: ThreadingHTTPServer) -> None:
    texts = [f"employee profile {i}" for i in range(7)]
    emb = embedder(server, batch_size=3)
    vectors = emb.encode_documents(texts)
    assert [len(b["input"]) for b in server.bodies] == [3, 3, 1]
    assert all(b["model"] == "text-embedding-3-small" for b in server.bodies)
    expected = np.stack([fake_vector(t, 12) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    assert vectors.dtype == np.float32 and emb.requests == 3


def test_dimensions_and_large_model(server: ThreadingHTTPServer) -> None:
    emb = embedder(server, name="openai-large", dimensions=5)
    assert emb.encode_queries(["a task"]).shape == (1, 5)
    assert server.bodies[-1]["model"] == "text-embedding-3-large" and server.bodies[-1]["dimensions"] == 5
    assert emb.fingerprint != embedder(server, name="openai-large").fingerprint


def test_cached_texts_are_sent_once(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    cached = CachedEncoder(embedder(server, batch_size=2), tmp_path)
    first = cached.encode_documents(["x", "y", "z", "x"])
    assert sum(len(b["input"]) for b in server.bodies) == 3
    again = cached.encode_documents(["z", "y", "x"])
    assert sum(len(b["input"]) for b in server.bodies) == 3 and cached.stats.misses == 3
    np.testing.assert_array_equal(again, first[[2, 1, 0]])


def test_skip_reason_without_key(server: ThreadingHTTPServer) -> None:
    reason = openai_skip_reason({})
    assert reason is not None and "OPENAI_API_KEY" in reason and "\n" not in reason
    assert openai_skip_reason({"OPENAI_API_KEY": "sk-x"}) is None
    with pytest.raises(ValueError, match="empty"):
        embedder(server).encode(["ok", " "])
    with pytest.raises(ConfigError, match="openai-large, openai-small"):
        OpenAIEmbedder("ada")
