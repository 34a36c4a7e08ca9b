"""Leakage: the grid (and training) refuse synthetic or seed training tasks that copy evaluation tasks.

``job.allow_leakage=true`` is the override; messages carry ids only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from bench.app.groups import CONF_DIR
from bench.core.errors import ConfigError
from bench.data import load_dataset
from bench.data.export import export_custom
from bench.run.grid import check_before_start
from bench.run.guards import check_synthetic_leakage
from bench.run.synthesis import artifact_for
from data_synth.artifact import load_artifact
from tests.cli_helpers import env_for, teamform
from tests.train_fixtures import tiny_dataset, write_artifact

LEAK = {"id": "s99", "project": "Kiln line", "task": "stop the KILN cracks!"}  # eval task t1, normalised


def leaky_artifact(root: Path) -> Path:
    path = write_artifact(root).path
    with (path / "tasks.jsonl").open("a") as handle:
        handle.write(json.dumps(LEAK) + "\n")
    return path


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return export_custom(tiny_dataset(), tmp_path / "data")


def test_synthetic_tasks_that_copy_evaluation_tasks_stop_training(tmp_path: Path, data: Path) -> None:
    clean, leaky = write_artifact(tmp_path / "clean").path, leaky_artifact(tmp_path / "leaky")
    cfg = config("data=custom", f"data.root={data}", f"train.synth_dir={leaky}")
    dataset = load_dataset(cfg.data)
    with pytest.raises(
        ConfigError, match=r"1 synthetic training task\(s\) .* \('s99'\).*job.allow_leakage=true"
    ) as caught:
        artifact_for(cfg, dataset)
    assert "kiln" not in str(caught.value).lower()  # ids, not text
    assert artifact_for(config("data=custom", f"data.root={data}", f"train.synth_dir={clean}"), dataset).tasks
    allowed = config("data=custom", f"data.root={data}", f"train.synth_dir={leaky}", "job.allow_leakage=true")
    assert any(t.id == "s99" for t in artifact_for(allowed, dataset).tasks)


def test_near_copies_count_by_the_synthesis_threshold(tmp_path: Path, data: Path) -> None:
    path = write_artifact(tmp_path / "a").path
    with (path / "tasks.jsonl").open("a") as handle:
        handle.write(
            json.dumps({"id": "s98", "project": "Kiln line", "task": "Stop the kiln cracks now"}) + "\n"
        )
    artifact = load_artifact(path)
    dataset = load_dataset(config("data=custom", f"data.root={data}").data)
    with pytest.raises(ConfigError, match="'s98'"):
        check_synthetic_leakage(config("synth.leakage_threshold=0.7"), dataset, artifact)
    check_synthetic_leakage(
        config("synth.leakage_threshold=0.95"), dataset, artifact
    )  # not a near copy at 0.95


def test_seed_task_leakage_is_checked_before_the_grid_starts(data: Path) -> None:
    (data / "train_tasks.jsonl").write_text(
        json.dumps({"id": "s1", "project": "Kiln line", "task": "Stop the kiln cracks."}) + "\n"
    )
    with pytest.raises(ConfigError, match="seed task.*job.allow_leakage=true"):
        check_before_start(config("data=custom", f"data.root={data}"))
    check_before_start(config("data=custom", f"data.root={data}", "job.allow_leakage=true"))


@pytest.mark.parametrize("kind", ["synthetic", "seed"])
def test_grid_refuses_to_start_with_one_line(tmp_path: Path, data: Path, kind: str) -> None:
    args = [
        "grid",
        "profile=quick",
        "experiment=ft_labels",
        "data=custom",
        f"data.root={data}",
        "logger=none",
    ]
    if kind == "synthetic":
        args.append(f"train.synth_dir={leaky_artifact(tmp_path / 'leaky')}")
    else:
        (data / "train_tasks.jsonl").write_text(
            json.dumps({"id": "s1", "project": "Kiln line", "task": "Stop the kiln cracks"}) + "\n"
        )
    proc = teamform(args, env_for(tmp_path), tmp_path)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    assert "job.allow_leakage=true" in lines[0] and "Traceback" not in proc.stderr
    assert not list((tmp_path / "outputs").glob("grid/*/*/job.json"))  # no job ran


def test_teamform_train_refuses_a_leaky_synth_dir(tmp_path: Path, data: Path) -> None:
    proc = teamform(
        [
            "train",
            "data=custom",
            f"data.root={data}",
            f"train.synth_dir={leaky_artifact(tmp_path / 'leaky')}",
            "logger=none",
        ],
        env_for(tmp_path),
        tmp_path,
    )
    assert proc.returncode == 2 and "'s99'" in proc.stderr and "job.allow_leakage=true" in proc.stderr
    assert not (tmp_path / "cache" / "adapters").exists()
