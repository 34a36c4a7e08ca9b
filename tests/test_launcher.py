"""The ordered joblib launcher of ``profile=default``: the longest jobs go out first, numbers stay.

A real Hydra multirun (a four-job sweep of a tiny app, one worker so that the run order is the
dispatch order) under ``hydra/launcher=teamform_joblib``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run.record import jobs_at_once
from hydra_plugins.teamform_launcher.launcher import dispatch_order

ROOT = Path(__file__).resolve().parents[1]

APP = """
import os
import hydra
from hydra.core.hydra_config import HydraConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg):
    with open(os.environ["ORDER_LOG"], "a") as log:
        log.write(f"{HydraConfig.get().job.num} {cfg.x}\\n")


if __name__ == "__main__":
    main()
"""


def test_dispatch_order_puts_the_listed_overrides_first_and_keeps_the_rest_in_sweep_order() -> None:
    jobs = [["experiment=a", "seed=0"], ["experiment=b"], ["experiment=c"], ["experiment=d"]]
    assert dispatch_order(jobs, ["experiment=c", "experiment=a"]) == [2, 0, 1, 3]
    assert dispatch_order(jobs, []) == [0, 1, 2, 3]
    assert dispatch_order(jobs, ["seed=0", "experiment=zz"]) == [0, 1, 2, 3]  # unknown entries: no effect
    both = [["experiment=a", "seed=1"], ["experiment=b", "seed=0"]]
    assert dispatch_order(both, ["seed=0", "experiment=a"]) == [1, 0]  # the earliest entry it carries


def test_a_multirun_dispatches_in_that_order_and_every_job_keeps_its_sweep_number(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("x: a\n")
    (tmp_path / "app.py").write_text(APP)
    log = tmp_path / "order.log"
    env = {**os.environ, "ORDER_LOG": str(log), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "app.py",
            "-m",
            "x=a,b,c,d",
            "hydra/launcher=teamform_joblib",
            "hydra.launcher.n_jobs=1",
            "hydra.launcher.first=['x=c','x=d']",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert log.read_text().split("\n")[:-1] == ["2 c", "3 d", "0 a", "1 b"]
    for number, x in enumerate("abcd"):  # each job's folder is its sweep number's
        overrides = (tmp_path / "sweep" / str(number) / ".hydra" / "overrides.yaml").read_text()
        assert f"x={x}" in overrides
    assert "in the order #2 #3 #0 #1" in done.stdout + done.stderr


def test_profile_default_runs_two_jobs_longest_first_and_other_launchers_replace_it(compose_config) -> None:
    launcher = compose_config("profile=default", config="grid").hydra.launcher
    assert launcher._target_ == "hydra_plugins.teamform_launcher.launcher.OrderedJoblibLauncher"
    assert launcher.n_jobs == 2 and launcher.first[:2] == ["experiment=influence", "experiment=ablation"]
    experiments = compose_config("profile=default", config="grid").hydra.sweeper.params.experiment.split(",")
    assert {o.split("=", 1)[1] for o in launcher.first} <= set(experiments)  # every entry names a job
    for other, target in (("basic", "BasicLauncher"), ("joblib", "JoblibLauncher")):
        cfg = compose_config("profile=default", f"hydra/launcher={other}", config="grid")
        assert cfg.hydra.launcher._target_.endswith(target) and "first" not in cfg.hydra.launcher


@pytest.mark.parametrize(
    ("n_jobs", "expected"),
    [(2, 2), (1, None), (0, None), (None, None), ("2", None), (-1, 4), (-2, 3), (-4, None)],
)
def test_jobs_at_once_reads_n_jobs_as_joblib_does(n_jobs, expected, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    assert jobs_at_once(n_jobs) == expected
