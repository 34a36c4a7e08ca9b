"""OpenAI embedding baselines through the real openai SDK against a loopback embeddings server."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bench.core.errors import ConfigError, SystemUnavailable
from bench.core.io import content_key
from models.embedding_cache import CachedEncoder
from models.openai_embed import OpenAIEmbedder, openai_skip_reason
from tests.flaky_embeddings_server import KEY as FLAKY_KEY
from tests.flaky_embeddings_server import FlakyEmbeddingsServer
from tests.loopback_openai import vector

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
        reply = {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
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


# ---------------------------------------------------------------- failures that stay small


def flaky(server: FlakyEmbeddingsServer, waits: list[float] | None = None, **kwargs) -> OpenAIEmbedder:  # noqa: ANN003
    """An embedder on ``server`` that never really waits (``waits`` records the backoff)."""
    options = {"api_key": FLAKY_KEY, "max_retries": 5, "timeout": 5.0, "backoff_initial_s": 0.0}
    recorder = waits.append if waits is not None else (lambda seconds: None)
    return OpenAIEmbedder(base_url=server.base_url, sleep=recorder, **{**options, **kwargs})


def closed_port_url() -> str:
    """A loopback URL nothing listens on (a port bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def unit(texts: list[str], dim: int = 8) -> np.ndarray:
    return np.asarray([vector(t, dim) for t in texts], dtype=np.float32)  # (n, dim)


def test_unreachable_endpoint_is_unavailable_after_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    url, waits = closed_port_url(), []
    emb = OpenAIEmbedder(base_url=url, max_retries=3, timeout=5.0, backoff_initial_s=0.0, sleep=waits.append)
    with pytest.raises(SystemUnavailable) as caught:
        emb.encode_documents(["welder", "nurse"])
    reason = str(caught.value)
    assert reason.startswith(
        f"openai-small unavailable: connection to {url} failed after 3 retries (APIConnectionError: "
    )
    assert "0 of 2 new texts" in reason and "\n" not in reason and KEY not in reason
    assert emb.retries == 3 and waits == [0.0, 0.0, 0.0] and emb.requests == 0


@pytest.mark.parametrize("status", [429, 500, 503, 408, 409])
def test_transient_statuses_are_retried(status: int) -> None:
    texts = ["welder", "nurse", "pilot"]
    with FlakyEmbeddingsServer(script=[status, status]) as server:
        emb = flaky(server, batch_size=2)
        vectors = emb.encode_documents(texts)
    assert (
        server.requests == 2 + 2 and emb.retries == 2 and emb.requests == 2
    )  # 2 failures, then both batches
    np.testing.assert_allclose(vectors, unit(texts), rtol=1e-6)


def test_429_twice_then_200_and_500_then_200() -> None:
    with FlakyEmbeddingsServer(script=[429, 429]) as server:
        emb = flaky(server)
        assert emb.encode_queries(["a task"]).shape == (1, 8)
    assert server.requests == 3 and emb.retries == 2
    with FlakyEmbeddingsServer(script=[500]) as server:
        emb = flaky(server)
        assert emb.encode_queries(["a task"]).shape == (1, 8)
    assert server.requests == 2 and emb.retries == 1


def test_persistent_5xx_is_unavailable_after_max_retries() -> None:
    with FlakyEmbeddingsServer(script=[502] * 10) as server:
        emb = flaky(server, max_retries=2)
        with pytest.raises(
            SystemUnavailable, match=r"answered HTTP 502 after 2 retries \(InternalServerError"
        ):
            emb.encode_documents(["welder"])
    assert server.requests == 3 and emb.retries == 2


def test_refused_key_and_unknown_model_are_not_retried() -> None:
    with FlakyEmbeddingsServer() as server:
        wrong = flaky(server, api_key="sk-wrong-key-123456")
        with pytest.raises(SystemUnavailable) as caught:
            wrong.encode_documents(["welder"])
        assert server.requests == 1 and wrong.retries == 0
    reason = str(caught.value)
    assert reason == (
        f"openai-small unavailable: {server.base_url} refused the API key (HTTP 401 AuthenticationError); "
        "check OPENAI_API_KEY"
    )
    assert "sk-wrong" not in reason
    with FlakyEmbeddingsServer(script=[403]) as server:
        with pytest.raises(SystemUnavailable, match="refused the API key \\(HTTP 403"):
            flaky(server).encode_documents(["welder"])
        assert server.requests == 1
    with FlakyEmbeddingsServer(models=["another-model"]) as server:
        with pytest.raises(
            SystemUnavailable, match="does not know model 'text-embedding-3-large' \\(HTTP 404\\)"
        ):
            flaky(server, name="openai-large").encode_documents(["welder"])
        assert server.requests == 1
    with FlakyEmbeddingsServer(script=[400]) as server:
        with pytest.raises(SystemUnavailable, match="rejected the request \\(HTTP 400\\) \\(BadRequestError"):
            flaky(server).encode_documents(["welder"])
        assert server.requests == 1


def test_missing_key_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FlakyEmbeddingsServer() as server:
        with pytest.raises(
            SystemUnavailable, match="openai-small unavailable: no API key; set OPENAI_API_KEY"
        ):
            flaky(server, api_key=None).encode_documents(["welder"])
    assert server.requests == 0


def test_retry_after_is_honoured_and_capped() -> None:
    waits: list[float] = []
    with FlakyEmbeddingsServer(script=[429], headers={"Retry-After": "7"}) as server:
        flaky(server, waits, backoff_max_s=30.0).encode_documents(["welder"])
    assert waits == [7.0] and server.requests == 2
    waits.clear()
    with FlakyEmbeddingsServer(script=[503], headers={"Retry-After": "120"}) as server:
        flaky(server, waits, backoff_max_s=30.0).encode_documents(["welder"])
    assert waits == [30.0]
    waits.clear()
    with FlakyEmbeddingsServer(script=[429], headers={"retry-after-ms": "250"}) as server:
        flaky(server, waits).encode_documents(["welder"])
    assert waits == [0.25]


def test_backoff_is_exponential_with_jitter() -> None:
    waits: list[float] = []
    with FlakyEmbeddingsServer(script=[500] * 4) as server:
        flaky(server, waits, backoff_initial_s=1.0, backoff_max_s=5.0).encode_documents(["welder"])
    assert len(waits) == 4
    for wait, low in zip(waits, [1.0, 2.0, 4.0, 5.0], strict=True):
        assert low <= wait <= min(low + 1.0, 5.0)  # initial * 2**retry + U(0, initial), at most the max


def test_timeouts_are_retried_then_unavailable() -> None:
    with FlakyEmbeddingsServer(script=["slow"], slow_s=1.0) as server:
        emb = flaky(server, timeout=0.2, max_retries=1)
        assert emb.encode_documents(["welder"]).shape == (1, 8)
        assert emb.retries == 1
    with FlakyEmbeddingsServer(script=["slow", "slow"], slow_s=1.0) as server:
        emb = flaky(server, timeout=0.2, max_retries=1)
        with pytest.raises(SystemUnavailable, match=r"timed out \(0.2 s\) after 1 retry \(APITimeoutError"):
            emb.encode_documents(["welder"])


def test_a_failed_run_keeps_its_batches_and_a_rerun_pays_only_the_rest(tmp_path: Path) -> None:
    texts = [f"employee profile {i}" for i in range(6)]
    cache = tmp_path / "embeddings"
    with FlakyEmbeddingsServer(fail_texts=[texts[4]]) as server:  # the third batch keeps failing
        with pytest.raises(
            SystemUnavailable, match="4 of 6 new texts embedded and cached, a rerun fetches only the rest"
        ):
            flaky(server, batch_size=2, max_retries=1, cache_dir=cache).encode_documents(texts)
        assert server.texts == texts[:4] and server.requests == 2 + 2  # two batches, then 1 try + 1 retry

        server.fail_texts.clear()
        before = server.requests
        rerun = flaky(server, batch_size=2, cache_dir=cache)
        vectors = rerun.encode_documents(texts)
        assert server.requests - before == 1 and server.texts[4:] == texts[4:]  # only the missing batch
        assert (rerun.cache_stats.hits, rerun.cache_stats.misses) == (4, 2)
        np.testing.assert_allclose(vectors, unit(texts), rtol=1e-6)

        before = server.requests
        again = flaky(server, batch_size=2, cache_dir=cache).encode_documents(texts[::-1])
        wrapped = CachedEncoder(flaky(server, cache_dir=cache), cache).encode_documents(texts)
        assert server.requests == before  # a third run, bare or behind CachedEncoder, pays nothing
        np.testing.assert_allclose(again, vectors[::-1], rtol=1e-6)
        np.testing.assert_allclose(wrapped, vectors, rtol=1e-6)
        assert flaky(server, cache_dir=cache).encode_queries(texts[:1]).shape == (1, 8)  # queries: own kind
        assert server.requests == before + 1


def test_duplicates_are_sent_once() -> None:
    with FlakyEmbeddingsServer() as server:
        vectors = flaky(server, batch_size=2).encode_documents(["a", "b", "a", "c", "b"])
    assert server.texts == ["a", "b", "c"]
    np.testing.assert_array_equal(vectors[0], vectors[2])


def test_fingerprint_is_stable_and_holds_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    first = OpenAIEmbedder(base_url="http://127.0.0.1:1234/v1", api_key="sk-first-key-0001")
    second = OpenAIEmbedder(base_url="http://127.0.0.1:1234/v1/", api_key="sk-second-key-0002")
    assert (
        first.fingerprint
        == second.fingerprint
        == f"openai-small-{content_key('text-embedding-3-small', None, '127.0.0.1:1234')}"
    )
    assert "key" not in first.fingerprint and "sk-" not in str(first.settings())
    assert (
        OpenAIEmbedder().fingerprint
        == f"openai-small-{content_key('text-embedding-3-small', None, 'api.openai.com')}"
    )
    others = {
        OpenAIEmbedder(base_url="http://127.0.0.1:1235/v1").fingerprint,
        OpenAIEmbedder(base_url="http://127.0.0.1:1234/v1", dimensions=64).fingerprint,
        OpenAIEmbedder("openai-large", base_url="http://127.0.0.1:1234/v1").fingerprint,
    }
    assert first.fingerprint not in others and len(others) == 3
    hidden = OpenAIEmbedder(base_url="https://user:secret@example.org/v1?token=abc")
    assert (
        hidden.url == "https://example.org/v1" and hidden.settings()["base_url"] == "https://example.org/v1"
    )


def test_bad_retry_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="max_retries=-1"):
        OpenAIEmbedder(max_retries=-1)
    with pytest.raises(ConfigError, match="timeout=0"):
        OpenAIEmbedder(timeout=0)
