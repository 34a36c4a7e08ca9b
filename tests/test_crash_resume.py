"""Nothing lost: ``kill -9`` at random points of synthesis, training and a grid, then rerun.

Each test runs the real ``teamform`` command in a subprocess, kills its process group with
SIGKILL once it has written some output, checks that what is on disk still parses, runs the same
command again and checks that it finishes, without repeating finished work (LLM calls come from
the call cache, training resumes from its checkpoint, a finished artifact or adapter set is
reused), and with the same result as an uninterrupted run.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.cli_helpers import (
    SMALL_DEMO,
    env_for,
    last_line,
    make_tiny_bert,
    parse_all,
    sigkill,
    start,
    teamform,
    tiny_model_args,
    wait_for,
)

pytestmark = pytest.mark.slow

SYNTH = [
    "synth",
    "synth=quick",
    "synth.label_pool_encoder=tfidf",
    "synth.n_labels=60",
    *SMALL_DEMO,
    "llm.progress=false",
    "logger=none",
]
# What identifies a row of each artifact file: no two rows may share it.
ROW_KEYS = {
    "projects.jsonl": ("id",),
    "tasks.jsonl": ("id",),
    "curriculums.jsonl": ("task_id",),
    "labels.jsonl": ("task_id", "employee_id"),
    "negatives.jsonl": ("task_id", "level"),
}


def rows(path: Path) -> list[dict]:
    return (
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if path.exists()
        else []
    )


def check_artifact_files(directory: Path) -> None:
    """Every file parses and no row id repeats (what a torn or doubled append would leave)."""
    parse_all(directory)
    for name, key in ROW_KEYS.items():
        ids = Counter(tuple(r[k] for k in key) for r in rows(directory / name))
        assert not [i for i, n in ids.items() if n > 1], f"duplicate rows in {name}"


def llm_entries(cache: Path) -> set[str]:
    return {p.stem for p in (cache / "llm").glob("*/*.json")}


@pytest.fixture(scope="module")
def reference_synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """An uninterrupted run of the same synthesis."""
    tmp = tmp_path_factory.mktemp("synth-ref")
    proc = teamform(SYNTH, env_for(tmp), tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    directory = last_line(proc)
    return directory, json.loads((directory / "manifest.json").read_text())


@pytest.mark.parametrize("seed", [0, 1])
def test_synth_killed_at_random_points_resumes_without_repeating_calls(
    tmp_path: Path, reference_synth, seed: int
) -> None:
    ref_dir, ref = reference_synth
    rng = random.Random(seed)
    env = env_for(tmp_path)
    synth_root = tmp_path / "cache" / "synth"
    kills = 0
    for attempt in range(2):
        proc = start(SYNTH, env, tmp_path, tmp_path / f"killed-{attempt}.log")
        wait_for(lambda: any(synth_root.glob("*/projects.jsonl")), proc, what="the first stage output")
        target = len(llm_entries(tmp_path / "cache")) + rng.randint(1, 40)  # a random moment after it
        while proc.poll() is None and len(llm_entries(tmp_path / "cache")) < target:
            time.sleep(0.01)
        if proc.poll() is not None:
            break  # it finished first: the rerun below must then make no call at all
        sigkill(proc)
        kills += 1
        (artifact,) = list(synth_root.iterdir())
        check_artifact_files(artifact)
        for path in (tmp_path / "cache" / "llm").glob("*/*.json"):
            assert json.loads(path.read_text())["key"] == path.stem  # every cached call is whole
    finished_before = llm_entries(tmp_path / "cache")

    proc = teamform(SYNTH, env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    directory = last_line(proc)
    assert directory.name == ref_dir.name  # same content key
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["complete"] and manifest["counts"] == ref["counts"]
    # no finished call was made twice: the last run made only the calls that had not finished
    assert manifest["last_run"]["calls"] == ref["calls"] - len(finished_before)
    assert llm_entries(tmp_path / "cache") == llm_entries(ref_dir.parent.parent)
    assert manifest["calls"] + manifest["cache_hits"] >= ref["calls"]
    check_artifact_files(directory)
    for name in ROW_KEYS:
        assert rows(directory / name) == rows(ref_dir / name), name  # the same artifact as without the kill
    assert kills >= 1


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_train_killed_after_a_checkpoint_resumes_and_finishes(tmp_path: Path, tiny_bert: Path) -> None:
    from bench.data.export import export_custom
    from tests.train_fixtures import tiny_dataset, write_artifact

    data = export_custom(tiny_dataset(), tmp_path / "data")
    synth = write_artifact(tmp_path / "synth").path
    args = [
        "train",
        "data=custom",
        f"data.root={data}",
        f"train.synth_dir={synth}",
        "train=quick",
        "train.max_steps=120",
        "train.batch_size=4",
        "train.num_threads=1",
        "train.checkpoint_every_n_steps=5",
        "logger=csv",
        *tiny_model_args(tiny_bert),
    ]
    env = env_for(tmp_path)
    adapters = tmp_path / "cache" / "adapters"
    proc = start(args, env, tmp_path, tmp_path / "killed.log")
    wait_for(lambda: any(adapters.glob("*/work/global/*.ckpt")), proc, what="the first checkpoint")
    sigkill(proc)
    assert not list(adapters.glob("*/metadata.json")), "the set was finished before the kill"
    (ckpt,) = list(adapters.glob("*/work/global/last.ckpt"))
    import torch

    step = torch.load(ckpt, map_location="cpu", weights_only=False)["global_step"]  # a whole checkpoint
    assert 5 <= step < 120

    proc = teamform(args, env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    directory = last_line(proc)
    meta = json.loads((directory / "metadata.json").read_text())
    assert meta["adapters"]["global"]["resumed"] is True and meta["adapters"]["global"]["steps"] == 120
    assert "trained" in proc.stdout and (directory / "global" / "adapter_model.safetensors").exists()
    assert not (directory / "work").exists()  # checkpoints are removed once the set is finished
    again = teamform(args, env, tmp_path)
    assert again.returncode == 0 and "reused" in again.stdout and last_line(again) == directory


def test_grid_killed_mid_training_reuses_finished_work(tmp_path: Path, tiny_bert: Path) -> None:
    args = [
        "grid",
        "profile=quick",
        "experiment=baselines,ft_labels",
        *SMALL_DEMO,
        "synth.n_labels=30",
        "train.max_steps=60",
        "train.batch_size=4",
        "train.checkpoint_every_n_steps=4",
        "train.num_threads=1",
        "logger=none",
        "llm.progress=false",
        *tiny_model_args(tiny_bert),
    ]
    env = env_for(tmp_path)
    cache = tmp_path / "cache"
    proc = start(args, env, tmp_path, tmp_path / "killed.log")
    wait_for(
        lambda: any(cache.glob("adapters/*/work/global/*.ckpt")),
        proc,
        timeout=900,
        what="a checkpoint of the grid's adapter",
    )
    sigkill(proc)
    (first_grid,) = list((tmp_path / "outputs" / "grid").iterdir())
    assert not (first_grid / "grid.json").exists()
    assert (
        json.loads((first_grid / "0" / "job.json").read_text())["status"] == "ok"
    )  # the baselines job finished
    (manifest,) = list(cache.glob("synth/*/manifest.json"))
    synth_mtime = manifest.stat().st_mtime_ns
    embeddings = {p: p.stat().st_mtime_ns for p in cache.glob("embeddings/**/*.npz")}
    assert embeddings
    parse_all(first_grid)

    proc = teamform(args, env, tmp_path, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid_dir = last_line(proc)
    assert grid_dir != first_grid and (grid_dir / "REPORT.md").exists()
    jobs = json.loads((grid_dir / "grid.json").read_text())["jobs"]
    assert [j["status"] for j in jobs] == ["ok", "ok"]
    assert manifest.stat().st_mtime_ns == synth_mtime  # the synthetic data was reused, not rewritten
    assert all(p.stat().st_mtime_ns == t for p, t in embeddings.items())  # cached vectors kept
    results = json.loads((grid_dir / "1" / "results.json").read_text())
    (adapter_set,) = list(cache.glob("adapters/*/metadata.json"))
    meta = json.loads(adapter_set.read_text())
    assert meta["adapters"]["global"]["resumed"] is True and meta["adapters"]["global"]["steps"] == 60
    assert results["extras"]["adapter_reused"] is False  # trained (resumed) by this run

    # a third run reuses everything: no training, the same adapter set
    third = teamform(args, env, tmp_path, timeout=1200)
    assert third.returncode == 0, third.stderr[-3000:]
    results = json.loads((last_line(third) / "1" / "results.json").read_text())
    assert (
        results["extras"]["adapter_reused"] is True
        and results["extras"]["adapter_set"] == adapter_set.parent.name
    )
