"""A grid swept over seeds renders mean ± std rows; other sweep overrides go into the row label."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from reports.render import render_report
from tests.cli_helpers import SMALL_DEMO, last_line, make_tiny_bert, tiny_model_args

METRICS = ("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc")


def system(values: np.ndarray) -> dict:
    per_task = {f"t{i}": {m: float(v) for m in METRICS} for i, v in enumerate(values)}
    return {"mean": {m: float(np.mean(values)) for m in METRICS}, "per_task": per_task}


def write_grid(root: Path, jobs: list[tuple[str, list[str], dict]]) -> Path:
    specs = []
    for number, (experiment, overrides, results) in enumerate(jobs):
        (root / str(number)).mkdir(parents=True)
        (root / str(number) / "results.json").write_text(json.dumps(results))
        specs.append(
            {
                "job": str(number),
                "experiment": experiment,
                "status": "ok",
                "dir": str(number),
                "overrides": overrides,
            }
        )
    provenance = {"model": "minilm", "reference": "minilm/concat", "dataset": "demo"}
    (root / "grid.json").write_text(json.dumps({"provenance": provenance, "jobs": specs}))
    return root


def test_seeds_merge_into_mean_and_std_and_variants_label_their_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.3, size=20)
    baseline = {"study": {"label": "baseline", "baseline": True, "tables": {"rq1": ["concat"]}}}
    tuned = {"study": {"label": "LoRA", "tables": {"rq1": ["condorcet"]}}}
    shared = ["profile=quick"]
    jobs = [
        (
            "baselines",
            ["experiment=baselines", "seed=0", *shared],
            {**baseline, "systems": {"minilm/concat": system(base)}},
        ),
        (
            "baselines",
            ["experiment=baselines", "seed=1", *shared],
            {**baseline, "systems": {"minilm/concat": system(base)}},
        ),
        (
            "ft_full",
            ["experiment=ft_full", "seed=0", *shared],
            {**tuned, "systems": {"m+lora/condorcet": system(base + 0.1)}},
        ),
        (
            "ft_full",
            ["experiment=ft_full", "seed=1", *shared],
            {**tuned, "systems": {"m+lora/condorcet": system(base + 0.3)}},
        ),
        (
            "ft_full",
            ["experiment=ft_full", "seed=0", "train.lora.r=8", *shared],
            {**tuned, "systems": {"m+lora/condorcet": system(base + 0.2)}},
        ),
    ]
    report = render_report(write_grid(tmp_path / "grid", jobs)).read_text()
    assert "mean ± standard deviation over 2 seeds (0, 1)" in report
    rq1 = report.split("## RQ1")[1].split("\n## ")[0]
    merged = next(row for row in rq1.splitlines() if row.startswith("| LoRA: m+lora/condorcet"))
    mean, std = np.mean(base) + 0.2, np.std([np.mean(base) + 0.1, np.mean(base) + 0.3], ddof=1)
    assert f"**{mean:.3f}** ± {std:.3f}" in merged
    variant = next(row for row in rq1.splitlines() if "[train.lora.r=8]" in row)
    assert variant.startswith("| LoRA [train.lora.r=8]: m+lora/condorcet") and "±" not in variant
    assert "profile=quick" not in rq1  # shared by every job: not a distinguishing override
    assert "| baseline: minilm/concat (ref.) |" in rq1 and rq1.count("minilm/concat") == 1


def test_a_grid_over_two_seeds_renders_mean_and_std(run_teamform, tmp_path: Path) -> None:
    bert = make_tiny_bert(tmp_path / "bert")
    proc = run_teamform(
        "grid",
        "profile=quick",
        "experiment=ft_labels",
        "seed=0,1",
        "logger=none",
        *SMALL_DEMO,
        *tiny_model_args(bert),
        "train.max_steps=2",
        "eval.encoders=[adapter]",
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    grid_dir = last_line(proc)
    report = (grid_dir / "REPORT.md").read_text()
    assert "over 2 seeds (0, 1)" in report
    rq1 = report.split("## RQ1")[1].split("\n## ")[0]
    assert " ± " in next(row for row in rq1.splitlines() if "tinybert+lora-global-labels/condorcet" in row)
    sets = {
        json.loads((grid_dir / d / "results.json").read_text())["extras"]["adapter_set"] for d in ("0", "1")
    }
    assert len(sets) == 2  # the seed is part of the adapters' content key
