"""Read an offline W&B run (``run-*.wandb``) back, for tests: config, summary, history, tables.

wandb ships no Python reader for offline runs. The file is a LevelDB-style log (wandb's
``datastore``): a 7-byte header (``:W&B``, magic 0xBEE1, version 0), then 32 KiB blocks of
chunks, each ``crc32 (4) | length (2, little endian) | type (1)`` followed by its bytes; type 1
is a whole record, 2/3/4 the first, middle and last piece of one split across blocks; a block
tail shorter than a chunk header is zero padding. Each record is a
``wandb.proto.wandb_internal_pb2.Record``.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[Any]:
    """Every ``Record`` of the file, in order."""
    from wandb.proto import wandb_internal_pb2

    data = Path(path).read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B transaction log")
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # zero padding at a block's end
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        chunk = data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            out.append(pending + chunk)
    return [wandb_internal_pb2.Record.FromString(r) for r in out]


def _key(item: Any) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


@dataclass
class OfflineRun:
    """What a test checks of one offline run."""

    name: str = ""
    group: str = ""
    job_type: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # logged: name, type, metadata, refs
    raw: bytes = b""


def read_run(path: Path) -> OfflineRun:
    """Config, summary, history rows and saved files of the run in ``path`` (a ``.wandb`` file)."""
    run = OfflineRun(raw=Path(path).read_bytes())
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.name, run.group, run.job_type = (
                record.run.display_name,
                record.run.run_group,
                record.run.job_type,
            )
            for item in record.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "summary":
            for item in record.summary.update:
                run.summary[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history.append({_key(item): json.loads(item.value_json) for item in record.history.item})
        elif kind == "files":
            run.files += [f.path for f in record.files.files]
        elif kind == "artifact":
            item = record.artifact
            run.artifacts.append(
                {
                    "name": item.name,
                    "type": item.type,
                    "metadata": json.loads(item.metadata or "{}"),
                    "refs": [entry.ref for entry in item.manifest.contents],
                }
            )
    for key, value in run.config.items():  # wandb stores each top-level config key as {"value": ...}
        if isinstance(value, dict) and set(value) == {"value"}:
            run.config[key] = value["value"]
    return run


def runs_under(root: Path) -> list[OfflineRun]:
    """Every offline run below ``root``."""
    return [read_run(p) for p in sorted(Path(root).rglob("run-*.wandb"))]
