"""OpenAI ``text-embedding-3-small/large`` baselines (paper Table 1) through the openai SDK.

Used only when ``OPENAI_API_KEY`` is set; otherwise :func:`openai_skip_reason` gives the one
line the caller logs before skipping these systems. Texts go out in batches (at most
:data:`MAX_BATCH` inputs per request) and come back in input order.

Failures stay small. Transient failures (429, 5xx, 408/409, timeouts, connection errors) are
retried by this module, not the SDK (its ``max_retries`` is 0), with exponential backoff, jitter
and the server's ``Retry-After`` (the helpers of :mod:`data_synth.client`, so LLM calls and
embeddings retry alike). When the retries run out, the key is refused (401/403), the model is
unknown (404) or the server rejects or garbles the request, :meth:`OpenAIEmbedder.encode` raises
:class:`bench.core.errors.SystemUnavailable` with a one-line reason naming the system, the
endpoint and the cause (never the key); the caller skips this system and keeps the others.

With ``cache_dir`` every batch is written to an :class:`models.embedding_cache.EmbeddingCache`
(same layout, keys and fingerprint as :class:`models.embedding_cache.CachedEncoder`) as soon as
it arrives, so a run that fails half-way keeps what it paid for and a rerun requests only the
missing texts.

Privacy: this sends employee aspect texts to the OpenAI API (or to ``base_url``). Only ids and
numbers are logged.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import openai
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bench.core.errors import ConfigError, SystemUnavailable, unknown_choice
from bench.core.io import content_key
from data_synth.client import is_transient, retry_after_s
from models.embedding_cache import CacheStats, EmbeddingCache, text_keys

# System-name encoder part -> OpenAI model id (the one mapping of the OpenAI baselines).
OPENAI_MODELS: dict[str, str] = {
    "openai-small": "text-embedding-3-small",
    "openai-large": "text-embedding-3-large",
}
MAX_BATCH = 2048  # inputs per request allowed by the embeddings API
DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the SDK's, when neither base_url nor OPENAI_BASE_URL is set
_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_*\-]{4,}")


def openai_skip_reason(env: Mapping[str, str] | None = None) -> str | None:
    """``None`` when the OpenAI baselines can run, else the one line to log when skipping them."""
    env = os.environ if env is None else env
    if not env.get("OPENAI_API_KEY"):
        return (
            "OpenAI baselines skipped: OPENAI_API_KEY is not set "
            "(export it to evaluate text-embedding-3-small/large)"
        )
    return None


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: what may appear in messages and cache metadata.

    Example:
        >>> public_url("https://user:pw@example.org:8443/v1?token=x")
        'https://example.org:8443/v1'
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


class OpenAIEmbedder:
    """Embeds texts with an OpenAI embeddings model; same interface as :class:`models.encoder.Encoder`.

    Args:
        name: ``openai-small`` or ``openai-large`` (:data:`OPENAI_MODELS`).
        dimensions: shorten the vectors (text-embedding-3 supports it); ``None`` = full size.
        batch_size: inputs per request (1 to 2048).
        base_url: another endpoint speaking the same API (``None``: ``OPENAI_BASE_URL``, else the SDK's).
        api_key: the key (``None``: ``OPENAI_API_KEY``). Never stored in configs, caches or messages.
        max_retries: retries of one request after transient failures (so ``max_retries + 1`` tries);
            the SDK itself does not retry.
        timeout: seconds per request.
        backoff_initial_s: the first backoff wait and the jitter's range (0 in tests: no waiting).
        backoff_max_s: the largest wait, also the cap on a server's ``Retry-After``.
        cache_dir: an embedding-cache root (``paths.cache_dir``/embeddings): cached texts are not
            sent, and each fetched batch is stored at once. ``None``: no cache.
        sleep: how to wait ``seconds`` between tries (``time.sleep``; tests inject a recorder).

    Raises:
        ConfigError: an unknown ``name`` or an out-of-range setting.

    Example:
        >>> emb = OpenAIEmbedder("openai-small", cache_dir=".cache/embeddings")  # doctest: +SKIP
        >>> emb.encode_documents(["role: welder"]).shape  # doctest: +SKIP
        (1, 1536)
    """

    def __init__(
        self,
        name: str = "openai-small",
        dimensions: int | None = None,
        batch_size: int = 256,
        base_url: str | None = None,
        api_key: str | None = None,
        max_retries: int = 5,
        timeout: float = 60.0,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        cache_dir: str | Path | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if name not in OPENAI_MODELS:
            raise unknown_choice("OpenAI embedding model", name, OPENAI_MODELS)
        if not 1 <= int(batch_size) <= MAX_BATCH:
            raise ConfigError(f"OpenAI batch_size must be between 1 and {MAX_BATCH}, not {batch_size}")
        if (
            int(max_retries) < 0
            or float(backoff_initial_s) < 0
            or float(backoff_max_s) < 0
            or float(timeout) <= 0
        ):
            raise ConfigError(
                f"OpenAI max_retries={max_retries}, backoff_initial_s={backoff_initial_s} and backoff_max_s="
                f"{backoff_max_s} must be 0 or more and timeout={timeout} above 0"
            )
        self.name, self.model = name, OPENAI_MODELS[name]
        self.dimensions, self.batch_size = dimensions, int(batch_size)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self.max_retries, self.timeout = int(max_retries), float(timeout)
        self.backoff_initial_s, self.backoff_max_s = float(backoff_initial_s), float(backoff_max_s)
        self.cache = None if cache_dir is None else EmbeddingCache(cache_dir)
        self._api_key, self._sleep = api_key, sleep or time.sleep
        self._client = None
        self.requests = 0  # API calls answered, for tests and logs
        self.retries = 0  # tries repeated after a transient failure
        self.cache_stats = CacheStats()  # texts served from cache_dir (hits) and fetched (misses)

    @property
    def client(self):  # noqa: ANN201 - openai.OpenAI
        if self._client is None:
            self._client = openai.OpenAI(
                api_key=self._api_key or os.environ.get("OPENAI_API_KEY"),
                base_url=self.base_url,
                max_retries=0,  # the retries are ours (counted, Retry-After honoured, then SystemUnavailable)
                timeout=self.timeout,
            )
        return self._client

    @property
    def url(self) -> str:
        """The endpoint, without credentials (for messages and cache metadata)."""
        return public_url(self.base_url or DEFAULT_BASE_URL)

    @property
    def fingerprint(self) -> str:
        """Cache key: model id, dimensions and endpoint host (an OpenAI model id names fixed weights).

        The key, the URL's path and its query are not part of it, so it is the same in every run
        and for every user of one endpoint.
        """
        parts = urlsplit(self.base_url or DEFAULT_BASE_URL)
        host = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
        return f"{self.name}-{content_key(self.model, self.dimensions, host)}"

    def settings(self) -> dict[str, object]:
        return {"model": self.model, "dimensions": self.dimensions, "base_url": self.url}

    def count_truncated(self, texts: Sequence[str], kind: str = "document") -> int:
        """The API rejects over-long inputs instead of truncating them: always 0."""
        return 0

    def encode(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        """``(n, dim)`` float32 unit vectors in input order (queries and documents alike).

        Each distinct text not in ``cache_dir`` is sent once; each batch is cached as it arrives.

        Raises:
            ValueError: a text is empty (the API rejects it).
            SystemUnavailable: the API cannot be used (see the module docstring); batches fetched
                before the failure are in ``cache_dir``.
        """
        texts = [str(t) for t in texts]
        for i, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"OpenAI embeddings reject empty input (text {i} of the batch is empty)")
        if not texts:
            return np.zeros((0, self.dimensions or 0), np.float32)
        vectors: dict[str, np.ndarray] = {}
        if self.cache is not None:
            found, cached = self.cache.lookup(self.fingerprint, kind, text_keys(texts))
            vectors.update((texts[i], cached[i]) for i in np.flatnonzero(found))
        todo = list(dict.fromkeys(t for t in texts if t not in vectors))  # distinct, in input order
        self.cache_stats.add(CacheStats(hits=len(set(texts)) - len(todo), misses=len(todo)))
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start : start + self.batch_size]
            try:
                new = self._request(batch)  # (batch, dim)
            except (openai.OpenAIError, OSError) as exc:  # every API failure becomes one reason
                raise SystemUnavailable(self._reason(exc, done=start, total=len(todo))) from None
            if self.cache is not None:
                self.cache.store(self.fingerprint, kind, text_keys(batch), new, meta=self.settings())
            vectors.update(zip(batch, new, strict=True))
        return np.stack([vectors[t] for t in texts]).astype(np.float32, copy=False)  # (n, dim)

    def _request(self, batch: list[str]) -> np.ndarray:
        """Unit vectors ``(batch, dim)`` of one batch, retrying transient failures."""
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        retrying = Retrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        response = None
        for attempt in retrying:
            with attempt:
                response = self.client.embeddings.create(
                    model=self.model, input=batch, encoding_format="float", **extra
                )
        self.requests += 1
        rows = sorted(
            getattr(response, "data", None) or [], key=lambda item: item.index
        )  # order is not promised
        if [r.index for r in rows] != list(range(len(batch))):
            raise SystemUnavailable(
                f"{self.name} unavailable: {self.url} returned {len(rows)} embeddings "
                f"for {len(batch)} inputs; check that base_url serves the OpenAI embeddings API"
            )
        vectors = np.asarray([r.embedding for r in rows], dtype=np.float32)  # (batch, dim)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with jitter, at least the server's ``Retry-After``, at most
        ``backoff_max_s``."""
        base = wait_exponential_jitter(
            initial=self.backoff_initial_s, max=self.backoff_max_s, jitter=self.backoff_initial_s
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        return min(max(base, retry_after_s(exc)), self.backoff_max_s)

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1

    def _reason(self, exc: BaseException, done: int, total: int) -> str:
        """The one line of :class:`SystemUnavailable` for an API failure (no key, no newline)."""
        head, kind = f"{self.name} unavailable:", type(exc).__name__
        status = getattr(exc, "status_code", None)
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"{head} {self.url} refused the API key (HTTP {status} {kind}); check OPENAI_API_KEY"
        if isinstance(exc, openai.NotFoundError):
            return (
                f"{head} {self.url} does not know model {self.model!r} (HTTP 404); "
                "check base_url and the model name"
            )
        cause = f"({kind}: {self._one_line(exc)})"
        if is_transient(exc):
            tries = f"after {self.max_retries} {'retry' if self.max_retries == 1 else 'retries'} {cause}"
            if isinstance(exc, openai.APITimeoutError | TimeoutError):
                what = f"requests to {self.url} timed out ({self.timeout:g} s)"
            elif isinstance(exc, openai.APIStatusError):
                what = f"{self.url} answered HTTP {status}"
            else:
                what = f"connection to {self.url} failed"
            kept = (
                "embedded and cached, a rerun fetches only the rest" if self.cache is not None else "embedded"
            )
            return f"{head} {what} {tries}; {done} of {total} new texts {kept}"
        if isinstance(exc, openai.APIStatusError):
            return f"{head} {self.url} rejected the request (HTTP {status}) {cause}"
        if isinstance(exc, openai.OpenAIError) and not (self._api_key or os.environ.get("OPENAI_API_KEY")):
            return f"{head} no API key; set OPENAI_API_KEY"
        return f"{head} request to {self.url} failed {cause}"

    def _one_line(self, exc: BaseException, limit: int = 200) -> str:
        """``exc``'s message on one line, at most ``limit`` characters, with anything key-like removed."""
        text = " ".join(str(exc).split())
        key = self._api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            text = text.replace(key, "<redacted>")
        text = _KEY_LIKE.sub("<redacted>", text)
        return text if len(text) <= limit else text[: limit - 3] + "..."

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "document")
