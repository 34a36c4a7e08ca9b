"""The declared dev/test split (``eval.dev_split``): dev tasks tune, only test tasks are scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.core.errors import ConfigError
from bench.data.splits import DevSplit
from tests.test_eval_pipeline import write_dataset


def test_split_is_disjoint_deterministic_and_seeded() -> None:
    ids = [f"t{i}" for i in range(40)]
    dev, test = DevSplit(0.25, seed=0).split(ids)
    assert len(dev) == 10 and len(test) == 30 and not set(dev) & set(test)
    assert sorted(dev + test) == sorted(ids)
    assert DevSplit(0.25, seed=0).split(reversed(ids)) == (dev, test)  # order does not matter
    assert DevSplit(0.25, seed=1).split(ids)[0] != dev  # the seed does
    assert DevSplit(0.0).split(ids) == ([], sorted(ids))
    with pytest.raises(ConfigError, match="eval.dev_split.fraction"):
        DevSplit(1.0)
    with pytest.raises(ConfigError, match="unknown key"):
        DevSplit.of({"fraction": 0.2, "sead": 1})


def test_a_dev_task_is_never_scored(run_teamform, tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    proc = run_teamform(
        "eval",
        "data=custom",
        f"data.root={data}",
        "eval.encoders=[bm25,tfidf]",
        "eval.dev_split.fraction=0.34",
        "logger=none",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = Path(proc.stdout.strip().splitlines()[-1])
    results = json.loads((out / "results.json").read_text())
    dev = set(results["split"]["dev"])
    expected_dev, expected_test = DevSplit(0.34, seed=0).split(f"t{t}" for t in range(6))
    assert dev == set(expected_dev) and len(dev) == 3 and results["split"]["test"] == 3
    for name, system in results["systems"].items():
        assert set(system["per_task"]) == set(expected_test), name
    for path in (out / "runs").glob("*.trec"):
        assert not {line.split()[0] for line in path.read_text().splitlines()} & dev, path.name
    # weighted aggregators fit their weights on the dev tasks (no cross-fitting needed)
    assert "dev_weights" in results["notes"]["bm25/weighted_condorcet"]
    proc = run_teamform("report", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "dev: 3 tasks, test: 3 tasks" in (out / "REPORT.md").read_text()
