"""Broken configs end with exit code 2 and one ``error:`` line that names the valid choices.

Through the real console entry (``python -m bench.cli``): an unknown metric, aggregator, model
preset, pooling, LLM backend, data option, profile, experiment or logger; a key that is not in
the config; an override Hydra cannot parse; a ``_target_`` that cannot be imported or built. The
unknown aggregator and aspect of ``teamform eval`` are covered in ``test_eval_pipeline.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.app.groups import config_groups

TINY = [
    "data.n_employees=30",
    "data.n_eval_tasks=6",
    "data.n_train_tasks=6",
    "data.judged_pairs=40",
    "logger=none",
]


def teamform(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TEAMFORM_OUTPUTS": str(tmp_path / "outputs"),
        "TEAMFORM_CACHE": str(tmp_path / "cache"),
    }
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-3000:]
    return lines[0]


def options(group: str) -> list[str]:
    return config_groups()[group]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["eval", "model=minilm_v9"], ["'minilm_v9'", "model=minilm_v9", *options("model")]),
        (["train", "llm=gpt5"], ["'gpt5'", *options("llm")]),
        (["data", "validate", "data=hr_dump"], ["'hr_dump'", *options("data")]),
        (["grid", "profile=tiny"], ["'tiny'", *options("profile")]),
        (["grid", "profile=quick", "experiment=baselines,ft_fulll"], ["'ft_fulll'", *options("experiment")]),
        (["eval", "experiment=basline"], ["'basline'", *options("experiment")]),
        (["eval", "logger=tensorboard"], ["'tensorboard'", "wandb", "csv", "none"]),
        (["synth", "synth=huge"], ["'huge'", *options("synth")]),
        (["data", "validate", "data.n_employes=30"], ["data.n_employes", "n_employees", "+data.n_employes"]),
        (["eval", "eval.metric=[ap]"], ["eval.metric ", "metrics", "aggregators"]),
        (["eval", "data.n_employees=["], ["data.n_employees=[", "override"]),
        (
            ["synth", "llm.backend._target_=data_synth.nowhere.Backend", *TINY],
            ["llm.backend._target_", "data_synth.nowhere.Backend"],
        ),
    ],
)
def test_composition_errors_name_the_choices(tmp_path: Path, args: list[str], named: list[str]) -> None:
    line = one_error_line(teamform(tmp_path, *args))
    for fragment in named:
        assert fragment in line, line
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("results.json"))


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            ["eval", "eval.encoders=[bm25]", "eval.metrics=[ap,ndgc@5]"],
            ["'ndgc'", "ndcg", "ap", "mrr", "auc"],
        ),
        (
            ["eval", "eval.encoders=[bm25]", "eval.aggregators=[borda,kemeny]"],
            ["'kemeny'", "borda", "condorcet", "rrf"],
        ),
        (["eval", "eval.encoders=[base]", "model.pooling=max"], ["'max'", "mean", "cls", "last", "ata"]),
        (["eval", "eval.encoders=[bm25,sbert]"], ["'sbert'", "bm25", "tfidf", "base"]),
        (
            ["eval", "eval.encoders=[base]", "model.name_or_path=/no/such/model"],
            ["model.name_or_path", "/no/such/model"],
        ),
        (["eval", "eval.encoders=[bm25]", "data.n_employees=many"], ["cannot build data", "data.*"]),
    ],
)
def test_run_time_config_errors_name_the_choices(tmp_path: Path, args: list[str], named: list[str]) -> None:
    line = one_error_line(teamform(tmp_path, args[0], *TINY, *args[1:]))  # later overrides win
    for fragment in named:
        assert fragment in line, line


def test_full_error_env_keeps_hydras_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(tmp_path / "outputs"), "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "eval", "model=minilm_v9"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "MissingConfigException" in proc.stderr


def test_config_error_maps_hydra_exceptions_in_process() -> None:
    from hydra import compose, initialize_config_dir
    from hydra.errors import MissingConfigException

    from bench.app.config_errors import config_error
    from bench.app.groups import CONF_DIR
    from bench.core.errors import ConfigError

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for overrides, fragment in [
            (["model=nope"], "unknown model option 'nope'"),
            (["train.lr=1"], "train.lr is not a config key"),
            (["seed=["], "cannot parse the override"),
        ]:
            with pytest.raises(Exception) as caught:
                compose("config", overrides=overrides)
            error = config_error(caught.value)
            assert isinstance(error, ConfigError) and fragment in str(error), (overrides, caught.value)
    assert config_error(ZeroDivisionError("a bug")) is None  # bugs keep their traceback
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = ConfigError("inner")
    assert str(config_error(wrapped)) == "inner"
    assert "e5" in str(config_error(MissingConfigException("x", "model/foo", None)))  # options from conf/
