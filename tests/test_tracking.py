"""Runs laid out for comparison: one run per encoder, the same keys in each, the columns that vary."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench.run.tracking import encoder_metrics, track_encoders

RESULTS = {
    "provenance": {
        "dataset": "demo",
        "dataset_hash": "ab12",
        "code_version": "0.1.0",
        "llm_backend": "simulated",
    },
    "systems": {
        "minilm/concat": {"mean": {"ndcg@5": 0.2, "ap": 0.1}, "per_task": {"t1": {"ndcg@5": 0.2, "ap": 0.1}}},
        "minilm/condorcet": {
            "mean": {"ndcg@5": 0.3, "ap": 0.2},
            "per_task": {"t1": {"ndcg@5": 0.3, "ap": 0.2}},
        },
        "minilm+lora-global-full/condorcet": {
            "mean": {"ndcg@5": 0.4, "ap": 0.3},
            "per_task": {"t1": {"ndcg@5": 0.4, "ap": 0.3}},
        },
    },
    "inputs": {
        "minilm+lora-global-full": [
            {"type": "synthetic-data", "name": "synth-k1", "digest": "k1", "path": "/c/synth/k1"},
            {"type": "adapter-set", "name": "adapters-k2", "digest": "k2", "path": "/c/adapters/k2"},
        ]
    },
}


def test_every_encoder_run_has_the_same_keys() -> None:
    assert encoder_metrics(RESULTS, "minilm") == {
        "concat/ndcg@5": 0.2,
        "concat/ap": 0.1,
        "condorcet/ndcg@5": 0.3,
        "condorcet/ap": 0.2,
    }
    assert set(encoder_metrics(RESULTS, "minilm+lora-global-full")) == {"condorcet/ndcg@5", "condorcet/ap"}


def test_csv_logger_writes_the_same_layout(compose_config, tmp_path: Path) -> None:
    cfg = compose_config("logger=csv", "experiment=ft_full")
    names = track_encoders(cfg, tmp_path, "train_eval", RESULTS, "ft_full")
    assert names == ["ft_full:minilm", "ft_full:minilm+lora-global-full"]
    tuned = tmp_path / "tracking" / "minilm+lora-global-full"
    config = json.loads((tuned / "config.json").read_text())
    assert (
        config["encoder"] == "minilm+lora-global-full" and config["mix"] == "full" and config["lora_r"] == 16
    )
    assert config["dataset_hash"] == "ab12" and [i["digest"] for i in config["inputs"]] == ["k1", "k2"]
    assert config["job_type"] == "train_eval" and config["name"] == "ft_full:minilm+lora-global-full"
    base = json.loads((tmp_path / "tracking" / "minilm" / "config.json").read_text())
    assert base["mix"] is None and base["lora_r"] is None and base["inputs"] == []  # no adapter: no columns
    with (tuned / "summary.csv").open() as handle:
        assert {row["key"]: float(row["value"]) for row in csv.DictReader(handle)} == {
            "condorcet/ap": 0.3,
            "condorcet/ndcg@5": 0.4,
        }
    with (tuned / "per_task.csv").open() as handle:
        assert list(csv.DictReader(handle)) == [
            {"system": "minilm+lora-global-full/condorcet", "task": "t1", "ap": "0.3", "ndcg@5": "0.4"}
        ]


def test_an_artifact_of_a_relative_cache_path_is_an_absolute_reference(tmp_path: Path, monkeypatch) -> None:
    """paths.cache_dir is `.cache` by default: the artifact's URI must still be absolute."""
    from bench.run.tracking import wandb_artifact

    (tmp_path / ".cache" / "adapters" / "k2" / "global").mkdir(parents=True)
    (tmp_path / ".cache" / "adapters" / "k2" / "global" / "adapter_config.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    ref = {"type": "adapter-set", "name": "adapters-k2", "digest": "k2", "path": ".cache/adapters/k2"}
    artifact = wandb_artifact(ref)
    assert artifact.metadata == {"digest": "k2"}
    refs = [entry.ref for entry in artifact.manifest.entries.values()]
    assert refs and all(r.startswith(f"file://{tmp_path}/.cache/adapters/k2") for r in refs), refs
    uploaded = wandb_artifact(ref, upload=True)  # logger.upload_artifacts=true: the files themselves
    assert [entry.ref for entry in uploaded.manifest.entries.values()] == [None]
    synth = wandb_artifact({**ref, "type": "synthetic-data", "name": "synth-k1"}, upload=True)
    assert all(entry.ref for entry in synth.manifest.entries.values())  # synthetic data: never uploaded
