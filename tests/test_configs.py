"""Every config composes: each experiment under each profile, each group option (STYLE rule 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from bench.cli import CONF_DIR, config_groups, split_flags, usage
from bench.job import eval_settings
from bench.study_jobs import KINDS
from reports.study import SECTION_BY_ID

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
PROFILES = sorted(p.stem for p in (CONF_DIR / "profile").glob("*.yaml"))


def compose_with(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=True)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_under_every_profile(experiment: str, profile: str) -> None:
    cfg = compose_with(f"experiment={experiment}", f"profile={profile}")
    assert cfg.job.kind in KINDS
    assert set(cfg.study.tables) <= set(SECTION_BY_ID), cfg.study.tables
    eval_settings(cfg)  # builds and validates the evaluation settings
    assert cfg.profile_name == profile
    OmegaConf.to_container(cfg.data, resolve=True)  # every interpolation resolves


def test_profiles_sweep_existing_experiments_and_overlays_win() -> None:
    for profile in PROFILES:
        cfg = compose_with(f"profile={profile}")
        swept = cfg.hydra.sweeper.params.experiment.split(",")
        assert set(swept) <= set(EXPERIMENTS)
        assert "baselines" in swept and "ft_full" in swept
    quick = compose_with("profile=quick", "experiment=ft_labels")
    assert quick.scale.employees < 800  # the profile overrides the primary config
    assert quick.data.n_employees == quick.scale.employees and quick.data.n_eval_tasks == quick.scale.eval_tasks
    assert quick.train.mix == "labels" and quick.job.kind == "train_eval"  # the experiment too


def test_default_profile_covers_every_research_question() -> None:
    cfg = compose_with("profile=default")
    sections = set()
    for experiment in cfg.hydra.sweeper.params.experiment.split(","):
        sections |= set(compose_with(f"experiment={experiment}").study.tables)
    assert {"rq1", "rq2", "rq3", "rq4", "rq5", "rq6", "negatives"} <= sections


def test_help_lists_commands_and_groups() -> None:
    text = usage()
    for command in ("grid", "synth", "train", "eval", "report", "data"):
        assert f"  {command}" in text
    groups = config_groups()
    assert {"data", "model", "llm", "train", "eval", "logger", "experiment", "profile"} <= set(groups)
    assert "minilm" in groups["model"] and "simulated" in groups["llm"]


def test_split_flags_moves_hydra_flags_first() -> None:
    assert split_flags(["a=1", "--multirun", "b=2", "-c", "job"]) == (["--multirun", "-c", "job"], ["a=1", "b=2"])


def test_conf_dir_is_the_packaged_one() -> None:
    assert (Path(CONF_DIR) / "config.yaml").exists()
