"""``teamform train`` through the real console entry: configs compose, a set is trained, then reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from bench.app.groups import CONF_DIR
from bench.data.export import export_custom
from bench.run.train_settings import NegativeSettings, TrainSettings
from models.lora import LoraSettings
from tests.train_fixtures import tiny_dataset, write_artifact


@pytest.mark.parametrize("preset", ["default", "quick", "paper"])
def test_train_presets_build_settings(preset: str) -> None:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[f"train={preset}"])
    settings = instantiate(cfg.train, _convert_="all")
    assert isinstance(settings, TrainSettings)
    assert isinstance(settings.lora, LoraSettings) and (settings.lora.r, settings.lora.alpha) == (16, 16)
    assert settings.lora.target_modules == "all-linear" and settings.temperature == 0.1
    assert (
        isinstance(settings.negatives, NegativeSettings) and settings.negatives.effective_schedule == "none"
    )
    assert settings.optimizer.keywords == {"lr": 4e-4, "weight_decay": 0.1}


def test_experiment_overlays_set_the_training_keys() -> None:
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        fixed = compose("config", overrides=["experiment=negatives_fixed"])
        special = compose("config", overrides=["experiment=specialised"])
    settings = instantiate(fixed.train, _convert_="all")
    assert settings.negatives.effective_schedule == "fixed" and settings.negatives.level == 2
    assert instantiate(special.train, _convert_="all").adapter_mode == "specialised"


def teamform_train(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TEAMFORM_OUTPUTS": str(tmp_path / "outputs"),
        "TEAMFORM_CACHE": str(tmp_path / "cache"),
        "HYDRA_FULL_ERROR": "0",
        "HF_HUB_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "train", *overrides],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_teamform_train_trains_then_reuses(tmp_path: Path) -> None:
    data = export_custom(tiny_dataset(), tmp_path / "data")
    synth = write_artifact(tmp_path / "synth").path
    args = [
        "data=custom",
        f"data.root={data}",
        f"train.synth_dir={synth}",
        "train=quick",
        "train.max_steps=3",
        "train.batch_size=4",
        "train.num_threads=1",
        "logger=csv",
        "model.max_doc_length=64",
    ]
    first = teamform_train(tmp_path, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    lines = first.stdout.strip().splitlines()
    adapter_dir = Path(lines[-1])
    assert (adapter_dir / "metadata.json").exists() and (
        adapter_dir / "global" / "adapter_model.safetensors"
    ).exists()
    assert "trained" in first.stdout and "steps=3" in first.stdout
    meta = json.loads((adapter_dir / "metadata.json").read_text())
    assert meta["dataset"]["hash"] == tiny_dataset().hash and meta["adapters"]["global"]["steps"] == 3
    second = teamform_train(tmp_path, *args)
    assert second.returncode == 0 and "reused" in second.stdout
    assert second.stdout.strip().splitlines()[-1] == str(adapter_dir)
    for text in ("kiln operator", "glaze technician"):  # no employee text in logs or configs
        for path in (tmp_path / "outputs").rglob("*"):
            if path.is_file() and path.suffix in {".csv", ".yaml", ".log", ".json"}:
                assert text not in path.read_text(errors="ignore"), path


def test_unfinished_synth_dir_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "synth").mkdir()
    result = teamform_train(tmp_path, f"train.synth_dir={tmp_path / 'synth'}", "data.n_employees=20")
    assert result.returncode == 2
    assert "no manifest.json" in result.stderr and "Traceback" not in result.stderr
