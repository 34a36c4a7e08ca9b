"""`teamform sync`: the lineage edges recorded offline, declared online through W&B (a fake here)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.core.errors import DataError
from bench.run.lineage import declarations, declare, sync

SYNTH = {"type": "synthetic-data", "name": "synth-k1", "digest": "k1", "path": "/c/synth/k1"}
ADAPTERS = {"type": "adapter-set", "name": "adapters-k2", "digest": "k2", "path": "/c/adapters/k2"}


def write_runs(root: Path) -> Path:
    for run_id, inputs, outputs in (("train1", [SYNTH], [ADAPTERS]), ("eval1", [SYNTH, ADAPTERS], [])):
        folder = root / run_id / "wandb" / f"offline-run-20261202_000000-{run_id}"
        folder.mkdir(parents=True)
        record = {
            "run_id": run_id,
            "project": "teamform-bench",
            "entity": None,
            "inputs": inputs,
            "outputs": outputs,
        }
        (folder / "lineage.json").write_text(json.dumps(record))
    return root


class FakeClient:
    """Records what would be sent to W&B: resumed runs and the artifacts each logs or uses."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, bool]] = []

    @contextmanager
    def resume(self, run_id: str, project: str, entity: str | None):  # noqa: ANN201
        client = self

        class Run:
            def log_artifact(self, artifact):  # noqa: ANN001, ANN202
                client.calls.append((run_id, "log", *artifact))

            def use_artifact(self, artifact):  # noqa: ANN001, ANN202
                client.calls.append((run_id, "use", *artifact))

        yield Run()

    def artifact(self, ref: dict[str, str], upload: bool) -> tuple[str, bool]:
        return ref["name"], upload


def test_producers_log_first_then_every_use_is_declared(tmp_path: Path) -> None:
    root = write_runs(tmp_path / "grid")
    edges = declarations(root)
    assert [(e.run_id, e.verb, e.ref["name"]) for e in edges] == [
        ("train1", "log", "adapters-k2"),
        ("eval1", "use", "synth-k1"),
        ("eval1", "use", "adapters-k2"),
        ("train1", "use", "synth-k1"),
    ]
    client = FakeClient()
    assert declare(edges, client, upload=True) == 4
    assert ("train1", "log", "adapters-k2", True) in client.calls  # adapters may be uploaded on request
    assert all(not upload for _, _, name, upload in client.calls if name.startswith("synth-"))  # never data
    client = FakeClient()
    declare(edges, client)
    assert all(not upload for *_, upload in client.calls)  # references only by default


def test_dry_run_lists_and_uploads_nothing(tmp_path: Path) -> None:
    lines = list(sync(write_runs(tmp_path / "grid"), client=FakeClient(), dry_run=True))
    assert lines[0].startswith("2 offline run(s), 4 lineage edge(s)")
    assert "would log adapter-set adapters-k2 (k2) in run train1" in lines
    with pytest.raises(DataError, match="no offline W&B run"):
        list(sync(tmp_path / "empty"))


def test_an_artifact_the_run_logged_itself_is_not_declared_again(tmp_path: Path) -> None:
    root = tmp_path / "grid"
    folder = root / "train2" / "wandb" / "offline-run-20261202_000000-train2"
    folder.mkdir(parents=True)
    logged = {**ADAPTERS, "logged": True}
    record = {"run_id": "train2", "project": "p", "inputs": [SYNTH], "outputs": [logged]}
    (folder / "lineage.json").write_text(json.dumps(record))
    assert [(e.verb, e.ref["name"]) for e in declarations(root)] == [("use", "synth-k1")]
