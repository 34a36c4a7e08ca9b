"""Read and write the synthetic-data artifact (``docs/synthetic-data.md``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.dataset import Task
from bench.core.errors import DataError
from bench.core.io import write_json, write_jsonl  # noqa: F401  (re-exported for writers)

FILES = ("tasks", "curriculums", "labels", "negatives", "eureka")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise DataError(
                        path,
                        f"not valid JSON ({error.msg})",
                        number,
                        "delete the artifact and rerun `teamform synth`",
                    ) from None
    return rows


@dataclass
class SynthArtifact:
    """A loaded synthetic-data artifact."""

    path: Path
    tasks: list[Task]
    curriculums: dict[str, dict[str, str]]
    labels: list[dict[str, Any]]
    negatives: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    eureka: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def task_by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}


def load_artifact(path: str | Path) -> SynthArtifact:
    """Load a finished artifact directory (one with ``manifest.json``)."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        raise DataError(
            path,
            "no manifest.json: the synthetic-data artifact is unfinished",
            fix="run `teamform synth` again to finish it",
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    tasks = [Task(r["id"], r["project"], r["task"]) for r in read_jsonl(path / "tasks.jsonl")]
    curriculums = {r["task_id"]: r["aspects"] for r in read_jsonl(path / "curriculums.jsonl")}
    negatives: dict[str, list[dict[str, Any]]] = {}
    for row in read_jsonl(path / "negatives.jsonl"):
        negatives.setdefault(row["task_id"], []).append(row)
    for rows in negatives.values():
        rows.sort(key=lambda r: r["level"])
    return SynthArtifact(
        path=path,
        tasks=tasks,
        curriculums=curriculums,
        labels=read_jsonl(path / "labels.jsonl"),
        negatives=negatives,
        eureka=read_jsonl(path / "eureka.jsonl"),
        manifest=manifest,
    )
