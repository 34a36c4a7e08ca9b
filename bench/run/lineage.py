"""Upload a grid's offline W&B runs and add the lineage edges wandb cannot record offline.

Offline, wandb cannot record that a run *used* an artifact (``use_artifact`` needs the server), so
every run writes ``lineage.json`` beside its offline files (:func:`bench.run.tracking.write_lineage`):
the artifacts it read (``inputs``) and wrote (``outputs``), as references, by name, type and
content digest. :func:`sync` first uploads the runs (``wandb sync``), then, online, resumes each
run and declares them: a train run logs its adapter set (and uses the synthetic data), an eval
run uses its adapter set, so W&B's lineage graph reads data -> adapter -> evaluation.

Artifacts are references by default (a ``file://`` URI and the content digest; nothing is
uploaded: synthetic data can quote employees). ``upload`` (``logger.upload_artifacts=true``) adds
the files of adapter sets, never of synthetic data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.core.errors import DataError, TeamformError
from bench.run.tracking import LINEAGE, UPLOADABLE, wandb_artifact


@dataclass(frozen=True)
class Declaration:
    """One lineage edge to declare: run ``run_id`` ``uses`` or ``logs`` artifact ``ref``."""

    run_id: str
    project: str
    entity: str | None
    verb: str  # "use" | "log"
    ref: dict[str, str]


class RunHandle(Protocol):
    def use_artifact(self, artifact: Any) -> Any: ...

    def log_artifact(self, artifact: Any) -> Any: ...


class Client(Protocol):
    """What :func:`declare` needs of W&B once online (a fake in tests)."""

    def resume(self, run_id: str, project: str, entity: str | None) -> AbstractContextManager[RunHandle]: ...

    def artifact(self, ref: dict[str, str], upload: bool) -> Any: ...


def offline_runs(root: Path) -> list[Path]:
    """Every offline W&B run folder under ``root``."""
    return sorted(p for p in Path(root).rglob("offline-run-*") if p.is_dir())


def declarations(root: Path) -> list[Declaration]:
    """The lineage edges recorded under ``root``: producers' ``log`` first, then every ``use``."""
    logs, uses = [], []
    for path in sorted(Path(root).rglob(LINEAGE)):
        record = json.loads(path.read_text())
        for ref in record.get("outputs", []):
            if ref.get("logged"):  # logged by the run itself, offline: `wandb sync` uploads it
                continue
            logs.append(Declaration(record["run_id"], record["project"], record.get("entity"), "log", ref))
        for ref in record.get("inputs", []):
            uses.append(Declaration(record["run_id"], record["project"], record.get("entity"), "use", ref))
    return logs + uses


def declare(edges: list[Declaration], client: Client, upload: bool = False) -> int:
    """Declare ``edges`` through ``client``, one resumed run at a time; returns how many."""
    by_run: dict[tuple[str, str, str | None], list[Declaration]] = {}
    for edge in edges:
        by_run.setdefault((edge.run_id, edge.project, edge.entity), []).append(edge)
    for (run_id, project, entity), items in by_run.items():
        with client.resume(run_id, project, entity) as run:
            for edge in items:
                artifact = client.artifact(edge.ref, upload and edge.ref["type"] in UPLOADABLE)
                (run.log_artifact if edge.verb == "log" else run.use_artifact)(artifact)
    return len(edges)


class WandbClient:
    """The real client: ``wandb.init(id=..., resume="must")`` per run, reference artifacts."""

    def resume(self, run_id: str, project: str, entity: str | None) -> AbstractContextManager[Any]:
        import wandb  # deferred: only the online half needs it

        return wandb.init(id=run_id, project=project, entity=entity, resume="must", mode="online")

    def artifact(self, ref: dict[str, str], upload: bool) -> Any:
        return wandb_artifact(ref, upload)


def upload_runs(runs: list[Path]) -> None:
    """``wandb sync`` of the offline run folders (W&B's own uploader).

    Raises:
        TeamformError: wandb sync failed (its last line says why: a missing key, no network).
    """
    if not runs:
        return
    proc = subprocess.run(
        [sys.executable, "-m", "wandb", "sync", *map(str, runs)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise TeamformError(f"wandb sync failed: {last[0]} (set WANDB_API_KEY, check the network)")


def sync(
    root: Path, client: Client | None = None, upload: bool = False, dry_run: bool = False
) -> Iterator[str]:
    """Upload the runs under ``root``, then declare their lineage; yields one line per step.

    Raises:
        DataError: ``root`` holds no offline W&B run.
    """
    runs = offline_runs(root)
    if not runs:
        raise DataError(
            root, "holds no offline W&B run", fix="pass a grid or run directory written with logger=wandb"
        )
    edges = declarations(root)
    yield f"{len(runs)} offline run(s), {len(edges)} lineage edge(s) under {root}"
    if dry_run:
        for edge in edges:
            ref = edge.ref
            yield f"would {edge.verb} {ref['type']} {ref['name']} ({ref['digest'][:12]}) in run {edge.run_id}"
        return
    upload_runs(runs)
    yield "uploaded with wandb sync"
    declared = declare(edges, client or WandbClient(), upload=upload)
    yield f"declared {declared} lineage edge(s)"
