"""Every config composes: each experiment under each profile, each group option (STYLE rule 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from bench.app.command import split_flags
from bench.app.groups import CONF_DIR, config_groups
from bench.cli import usage
from bench.run.kinds import KINDS
from bench.run.recipe import eval_settings
from reports.study import SECTION_BY_ID

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))
PROFILES = sorted(p.stem for p in (CONF_DIR / "profile").glob("*.yaml"))


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_under_every_profile(experiment: str, profile: str, compose_config) -> None:
    cfg = compose_config(f"experiment={experiment}", f"profile={profile}")
    assert cfg.job.kind in KINDS
    assert set(cfg.study.tables) <= set(SECTION_BY_ID), cfg.study.tables
    eval_settings(cfg)  # builds and validates the evaluation settings
    assert cfg.profile_name == profile
    OmegaConf.to_container(cfg.data, resolve=True)  # every interpolation resolves


def test_the_grid_sweeps_every_experiment_and_profiles_set_only_sizes(compose_config) -> None:
    for profile in PROFILES:
        cfg = compose_config(f"profile={profile}", config="grid")
        assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
        assert cfg.hydra.callbacks.grid_report._target_ == "bench.run.grid.GridReportCallback"
        # the study sweeps every experiment but the search's trials (`sweep=search` runs those)
        assert sorted(cfg.hydra.sweeper.params.experiment.split(",")) == [
            e for e in EXPERIMENTS if e != "search"
        ]
        search = compose_config(f"profile={profile}", "sweep=search", config="grid")
        assert search.hydra.sweeper._target_ == "hydra_plugins.teamform_optuna.sweeper.OptunaSweeper"
        assert search.hydra.sweeper.params.experiment == "search" and search.eval.dev_split.fraction > 0
        profile_file = (CONF_DIR / "profile" / f"{profile}.yaml").read_text()
        assert "sweeper" not in profile_file, profile  # a profile never changes what is swept
        hydra_keys = set(yaml.safe_load(profile_file).get("hydra") or {})
        assert hydra_keys <= {"launcher"}, (profile, hydra_keys)  # only how jobs run (default: 2 at once)
    plain = compose_config("profile=quick")  # other commands run one job: no sweep
    assert not plain.hydra.sweeper.params and "grid_report" not in (plain.hydra.callbacks or {})
    quick = compose_config("profile=quick", "experiment=ft_labels")
    assert quick.scale.employees < 800  # the profile overrides the primary config
    assert (
        quick.data.n_employees == quick.scale.employees and quick.data.n_eval_tasks == quick.scale.eval_tasks
    )
    assert quick.train.mix == "labels" and quick.job.kind == "train_eval"  # the experiment too


def test_the_study_covers_every_research_question(compose_config) -> None:
    cfg = compose_config(config="grid")
    assert cfg.profile_name == "default"
    sections = set()
    for experiment in cfg.hydra.sweeper.params.experiment.split(","):
        sections |= set(compose_config(f"experiment={experiment}").study.tables)
    assert {"rq1", "rq2", "rq3", "rq4", "rq5", "rq6", "negatives"} <= sections


def test_help_lists_commands_and_groups() -> None:
    text = usage()
    for command in ("grid", "synth", "train", "eval", "report", "data"):
        assert f"  {command}" in text
    groups = config_groups()
    assert {"data", "model", "llm", "train", "eval", "logger", "experiment", "profile"} <= set(groups)
    assert "minilm" in groups["model"] and "simulated" in groups["llm"]


def test_split_flags_moves_hydra_flags_first() -> None:
    assert split_flags(["a=1", "--multirun", "b=2", "-c", "job"]) == (
        ["--multirun", "-c", "job"],
        ["a=1", "b=2"],
    )


def test_conf_dir_is_the_packaged_one() -> None:
    assert (Path(CONF_DIR) / "config.yaml").exists()
