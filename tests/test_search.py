"""The hyper-parameter search (``teamform grid sweep=search``): Hydra's Optuna sweeper, tuned on dev tasks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from tests.cli_helpers import SMALL_DEMO, last_line, make_tiny_bert, tiny_model_args


def test_a_search_is_tuned_on_dev_tasks_and_reports_its_best_trial(run_teamform, tmp_path: Path) -> None:
    bert = make_tiny_bert(tmp_path / "bert")
    proc = run_teamform(
        "grid",
        "sweep=search",
        "profile=quick",
        "logger=none",
        *SMALL_DEMO,
        *tiny_model_args(bert),
        "hydra.sweeper.n_trials=2",
        "train.max_steps=choice(2,3)",  # the command line narrows the space of conf/sweep/search.yaml
        "eval.dev_split.fraction=0.25",
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid_dir = last_line(proc)
    best_line = proc.stdout.strip().splitlines()[-2]
    assert best_line.startswith("search: best of 2 trials is job ")
    assert "condorcet/ndcg@5 = " in best_line and "dev tasks of eval.dev_split" in best_line

    grid = json.loads((grid_dir / "grid.json").read_text())
    assert [j["status"] for j in grid["jobs"]] == ["ok", "ok"]
    objectives = {j["job"]: j["objective"]["value"] for j in grid["jobs"]}
    optuna = yaml.safe_load((grid_dir / "optimization_results.yaml").read_text())
    assert math.isclose(optuna["best_value"], max(objectives.values()))  # what Optuna maximised is ours
    best = max(objectives, key=objectives.get)
    assert f"is job {best} " in best_line

    for job in grid["jobs"]:
        results = json.loads((grid_dir / job["dir"] / "results.json").read_text())
        search = results["extras"]["search"]
        dev = set(results["split"]["dev"])
        assert len(dev) == search["dev_tasks"] == 2  # ceil(0.25 x 8 judged tasks)
        assert search["objective"] == "condorcet/ndcg@5" and 0.0 <= search["value"] <= 1.0
        sampled = {o.split("=")[0]: o.split("=")[1] for o in job["overrides"] if o.startswith("train.")}
        assert set(sampled) == set(search["settings"])  # the trial ran with what Optuna sampled
        assert int(sampled["train.max_steps"]) == search["settings"]["train.max_steps"] in (2, 3)
        for system in results["systems"].values():  # dev tasks are never scored
            assert not dev & set(system["per_task"])

    report = (grid_dir / "REPORT.md").read_text()
    section = report.split("## Hyper-parameter search")[1].split("\n## ")[0]
    assert "on the 2 dev tasks of `eval.dev_split` (fraction 0.25, seed 0)" in section
    assert f"| {best} **(best on dev)** |" in section
    assert f"Best trial on dev: job {best}, `train.lora.r=" in section
    assert "dev: 2 tasks, test: 6 tasks" in report
    assert "tinybert+lora-global-full/condorcet" in section  # the trials' test rows


def test_a_search_without_dev_tasks_is_refused_before_it_starts(run_teamform, tmp_path: Path) -> None:
    proc = run_teamform(
        "grid", "sweep=search", "profile=quick", "logger=none", *SMALL_DEMO, "eval.dev_split.fraction=0"
    )
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "eval.dev_split.fraction is 0" in proc.stderr and "Traceback" not in proc.stderr
