"""OpenAI ``text-embedding-3-small/large`` baselines (paper Table 1) through the openai SDK.

Used only when ``OPENAI_API_KEY`` is set; otherwise :func:`openai_skip_reason` gives the one
line the caller logs before skipping these systems. Texts go out in batches (at most
:data:`MAX_BATCH` inputs per request) and come back in input order; wrap the embedder in
:class:`models.embedding_cache.CachedEncoder` so a text is sent once per model.

Privacy: this sends employee aspect texts to the OpenAI API (or to ``base_url``). Only ids and
numbers are logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from bench.errors import ConfigError, unknown_choice
from bench.io import content_key

# System-name encoder part -> OpenAI model id (the one mapping of the OpenAI baselines).
OPENAI_MODELS: dict[str, str] = {
    "openai-small": "text-embedding-3-small",
    "openai-large": "text-embedding-3-large",
}
MAX_BATCH = 2048  # inputs per request allowed by the embeddings API


def openai_skip_reason(env: Mapping[str, str] | None = None) -> str | None:
    """``None`` when the OpenAI baselines can run, else the one line to log when skipping them."""
    env = os.environ if env is None else env
    if not env.get("OPENAI_API_KEY"):
        return "OpenAI baselines skipped: OPENAI_API_KEY is not set (export it to evaluate text-embedding-3-small/large)"
    return None


class OpenAIEmbedder:
    """Embeds texts with an OpenAI embeddings model; same interface as :class:`models.encoder.Encoder`.

    Args:
        name: ``openai-small`` or ``openai-large`` (:data:`OPENAI_MODELS`).
        dimensions: shorten the vectors (text-embedding-3 supports it); ``None`` = full size.
        batch_size: inputs per request (1 to 2048).
        base_url: another endpoint speaking the same API (``None``: the SDK's, or ``OPENAI_BASE_URL``).
        api_key: the key (``None``: ``OPENAI_API_KEY``). Never stored in configs or logs.
        max_retries: retries of failed requests (the SDK backs off exponentially).
        timeout: seconds per request.

    Example:
        >>> emb = OpenAIEmbedder("openai-small")  # doctest: +SKIP
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
    ) -> None:
        if name not in OPENAI_MODELS:
            raise unknown_choice("OpenAI embedding model", name, OPENAI_MODELS)
        if not 1 <= int(batch_size) <= MAX_BATCH:
            raise ConfigError(f"OpenAI batch_size must be between 1 and {MAX_BATCH}, not {batch_size}")
        self.name, self.model = name, OPENAI_MODELS[name]
        self.dimensions, self.batch_size = dimensions, int(batch_size)
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        self._api_key, self._max_retries, self._timeout = api_key, max_retries, timeout
        self._client = None
        self.requests = 0  # API calls made, for tests and logs

    @property
    def client(self):  # noqa: ANN201 - openai.OpenAI
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(
                api_key=self._api_key or os.environ.get("OPENAI_API_KEY"),
                base_url=self.base_url,
                max_retries=self._max_retries,
                timeout=self._timeout,
            )
        return self._client

    @property
    def fingerprint(self) -> str:
        """Cache key: model id, dimensions and endpoint (an OpenAI model id names fixed weights)."""
        return f"{self.name}-{content_key(self.model, self.dimensions, self.base_url)}"

    def settings(self) -> dict[str, object]:
        return {"model": self.model, "dimensions": self.dimensions, "base_url": self.base_url}

    def count_truncated(self, texts: Sequence[str], kind: str = "document") -> int:
        """The API rejects over-long inputs instead of truncating them: always 0."""
        return 0

    def encode(self, texts: Sequence[str], kind: str = "document") -> np.ndarray:
        """``(n, dim)`` float32 unit vectors in input order (queries and documents alike)."""
        texts = [str(t) for t in texts]
        for i, text in enumerate(texts):
            if not text.strip():
                raise ValueError(f"OpenAI embeddings reject empty input (text {i} of the batch is empty)")
        chunks = [self._request(texts[s : s + self.batch_size]) for s in range(0, len(texts), self.batch_size)]
        if not chunks:
            return np.zeros((0, self.dimensions or 0), np.float32)
        vectors = np.concatenate(chunks)  # (n, dim)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)

    def _request(self, batch: list[str]) -> np.ndarray:
        extra = {"dimensions": self.dimensions} if self.dimensions else {}
        response = self.client.embeddings.create(model=self.model, input=batch, encoding_format="float", **extra)
        self.requests += 1
        rows = sorted(response.data, key=lambda item: item.index)  # the API does not promise order
        if [r.index for r in rows] != list(range(len(batch))):
            raise RuntimeError(f"OpenAI returned {len(rows)} embeddings for {len(batch)} inputs")
        return np.asarray([r.embedding for r in rows], dtype=np.float32)  # (batch, dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, "document")
