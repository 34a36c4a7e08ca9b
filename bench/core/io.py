"""Crash-safe file writes, content keys, and the lock that fills a cache entry once.

Every artifact is written to a temporary file in its directory, flushed to disk and renamed into
place, so a crash (even ``kill -9``) leaves either the old file or the new one, never half a file.
:func:`cache_lock` serialises the processes that would fill the same content-addressed entry
(two grid jobs running at once that need the same adapter set or synthetic data).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _default_mode() -> int:
    """What ``open(path, "w")`` would give: 0o666 less the umask (mkstemp makes 0o600 files)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically; ``mode`` (e.g. ``0o600``) sets the permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _default_mode() if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | Path, text: str, mode: int | None = None) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode)


def write_json(path: str | Path, obj: Any, mode: int | None = None) -> Path:
    return atomic_write_text(
        path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n", mode
    )


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]], mode: int | None = None) -> Path:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    return atomic_write_text(path, text, mode)


def content_key(*parts: Any, length: int = 16) -> str:
    """A stable hex key of JSON-serialisable parts (configs, hashes, versions).

    Example:
        >>> content_key({"a": 1}, "x") == content_key({"a": 1}, "x")
        True
    """
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


@contextmanager
def cache_lock(entry: str | Path) -> Iterator[None]:
    """Hold the exclusive lock on filling the cache entry ``entry`` (a directory), across processes.

    The lock is the kernel's (``flock`` through :mod:`filelock`) on
    ``{cache}/.locks/{kind}-{key}.lock`` for the entry ``{cache}/{kind}/{key}`` (out of the
    entries' own folder, which lists entries only), so a killed holder releases it. Whoever gets
    it second finds the entry finished and reuses it: check for the finished entry again inside.
    """
    from filelock import FileLock  # deferred: only cache fills need it

    entry = Path(entry)
    entry.parent.mkdir(parents=True, exist_ok=True)
    locks = entry.parent.parent / ".locks"
    locks.mkdir(exist_ok=True)
    with FileLock(str(locks / f"{entry.parent.name}-{entry.name}.lock")):
        yield
