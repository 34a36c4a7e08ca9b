"""The on-disk cache of completed LLM calls: one file per call, written atomically.

A call's key hashes everything that decides its reply: the backend name, the model, the messages,
the reply schema's JSON, the sampling parameters and the simulated backend's payload. Each
finished call is written to ``<dir>/<key[:2]>/<key>.json`` through a temporary file that is
fsynced and renamed (:func:`bench.core.io.atomic_write_text`), so a crash, even ``kill -9``, loses at
most the calls still in flight and never leaves a half-written entry. Files are ``0o600`` and
the directories ``0o700``: prompts and replies hold employee text. API keys are never part of a
key or an entry.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bench.core.io import atomic_write_text, content_key
from data_synth.backend import LLMRequest, schema_json

CACHE_VERSION = 1


def call_key(backend_name: str, model: str, request: LLMRequest) -> str:
    """The cache key of a request to ``backend_name`` / ``model`` (32 hex characters).

    Example:
        >>> import pydantic
        >>> class A(pydantic.BaseModel):
        ...     x: int
        >>> r = LLMRequest("label", [{"role": "user", "content": "hi"}], A)
        >>> call_key("openai", "gpt-4o-mini", r) == call_key("openai", "gpt-4o-mini", r)
        True
        >>> call_key("openai", "gpt-4o-mini", r) == call_key("openai", "gpt-4o", r)
        False
    """
    return content_key(
        CACHE_VERSION,
        backend_name,
        model,
        request.messages,
        schema_json(request.schema),
        {"temperature": request.temperature, "max_tokens": request.max_tokens, "seed": request.seed},
        request.payload,
        length=32,
    )


class CallCache:
    """Finished calls on disk, one JSON file each.

    Args:
        directory: the cache root (created ``0o700``).

    Example:
        >>> import tempfile
        >>> cache = CallCache(tempfile.mkdtemp())
        >>> cache.get("ab" * 16) is None
        True
        >>> _ = cache.put("ab" * 16, {"raw": "{}"})
        >>> cache.get("ab" * 16)["raw"]
        '{}'
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, key: str) -> Path:
        """Where the entry of ``key`` lives."""
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The entry of ``key``, or ``None`` when the call has not finished before."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            entry = json.loads(text)
        except json.JSONDecodeError:
            return None  # not produced by put() (atomic); treat as a miss and overwrite
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def put(self, key: str, entry: dict[str, Any]) -> Path:
        """Store a finished call (atomic, fsynced, ``0o600``)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {"key": key, "version": CACHE_VERSION, "created": time.time(), **entry}
        return atomic_write_text(path, json.dumps(record, ensure_ascii=False) + "\n", mode=0o600)

    def keys(self) -> set[str]:
        """The keys of every stored call (for tests and audits)."""
        return {p.stem for p in self.directory.glob("*/*.json") if not p.name.startswith(".")}

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: str) -> bool:
        return os.path.exists(self.path(key))
