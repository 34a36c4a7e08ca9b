"""REPORT.md from stored results: tables, bold best, deltas, significance marks, failures, CSV."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from reports.render import render_report
from reports.tables import MARK_R, MARK_T, Row, markdown_table

METRICS = ("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc")


def system(values: np.ndarray) -> dict:
    per_task = {f"t{i}": {m: float(v) for m in METRICS} for i, v in enumerate(values)}
    return {"mean": {m: float(np.mean(values)) for m in METRICS}, "per_task": per_task}


def make_grid(root: Path) -> Path:
    rng = np.random.default_rng(0)
    base = rng.uniform(0.1, 0.3, size=30)
    jobs = [
        {
            "job": "0",
            "experiment": "baselines",
            "status": "ok",
            "dir": "0",
            "overrides": ["experiment=baselines"],
        },
        {
            "job": "1",
            "experiment": "ft_full",
            "status": "ok",
            "dir": "1",
            "overrides": ["experiment=ft_full"],
        },
        {
            "job": "2",
            "experiment": "broken",
            "status": "failed",
            "dir": "2",
            "reason": "ConfigError: unknown encoder 'nope'",
        },
        {
            "job": "3",
            "experiment": "eureka",
            "status": "skipped",
            "dir": "3",
            "reason": "Eureka needs a real LLM backend",
        },
    ]
    results = {
        "0": {
            "study": {"label": "baseline", "baseline": True, "tables": {"rq1": ["concat"], "rq3": ["*"]}},
            "systems": {
                "bm25/concat": system(base),
                "minilm/concat": system(base + 0.01),
                "minilm/condorcet": system(base - 0.05),
            },
        },
        "1": {
            "study": {"label": "LoRA global", "tables": {"rq1": ["condorcet"]}},
            "systems": {
                "minilm+lora/condorcet": system(base + 0.2),
                "minilm+lora/concat": system(base + 0.1),
            },
            "extras": {"train_curve": [{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}]},
        },
        "3": {
            "study": {"label": "eureka", "section": "rq4", "tables": {"rq4": ["condorcet"]}},
            "systems": {},
        },
    }
    for job in jobs:
        (root / job["dir"]).mkdir(parents=True)
        if job["dir"] in results:
            (root / job["dir"] / "results.json").write_text(json.dumps(results[job["dir"]]))
    (root / "grid.json").write_text(
        json.dumps(
            {
                "provenance": {
                    "code_version": "0.1.0+gabc",
                    "dataset": "demo",
                    "dataset_hash": "ff00",
                    "profile": "quick",
                    "model": "minilm",
                    "reference": "bm25/concat",  # declared before the grid ran (report.reference)
                },
                "jobs": jobs,
            }
        )
    )
    return root


def test_markdown_table_bold_best_and_delta() -> None:
    rows = [
        Row("a", {"ap": 0.5}, delta=0.25),
        Row("b", {"ap": 0.4}, marks={"ap": MARK_T}, is_reference=True, delta=0.0),
    ]
    text = markdown_table(rows, ["ap"], "ap")
    assert "| a | **0.500** | +25.0% |" in text
    assert f"| b (ref.) | 0.400{MARK_T} | +0.0% |" in text


def test_report_tables_marks_failures_and_csv(tmp_path: Path) -> None:
    grid = make_grid(tmp_path / "grid")
    report = render_report(grid).read_text()
    assert "| code version | 0.1.0+gabc |" in report and "| dataset hash | ff00 |" in report
    # the declared reference, not the best baseline on these tasks (minilm/concat), carries the marks
    assert "Reference (report.reference, declared before the grid ran): `bm25/concat`." in report
    assert "dev: 0 tasks, test: 30 tasks" in report
    rq1 = report.split("## RQ1")[1].split("## ")[0]
    # fine-tuned row: best in every column, +0.2 over the reference's mean, significant both ways
    line = next(row for row in rq1.splitlines() if "minilm+lora/condorcet" in row)
    assert line.count("**") == 2 * len(METRICS)
    assert MARK_T in line and MARK_R in line
    base = np.mean(np.random.default_rng(0).uniform(0.1, 0.3, size=30))
    assert f"{(base + 0.2) / base - 1:+.1%}" in line
    ref_line = next(row for row in rq1.splitlines() if "bm25/concat (ref.)" in row)
    assert MARK_T not in ref_line and "+0.0%" in ref_line
    best_line = next(row for row in rq1.splitlines() if "chosen on these evaluation tasks" in row)
    assert best_line.startswith("| baseline: minilm/concat (best baseline, chosen on these evaluation tasks)")
    assert f"{(base + 0.01) / base - 1:+.1%}" in best_line and "(ref.)" not in best_line
    assert "| 2 | broken | failed | ConfigError: unknown encoder 'nope' |" in report
    assert "| 3 | eureka | skipped | Eureka needs a real LLM backend |" in report
    assert "plots/main_comparison.png" in report and (grid / "plots" / "main_comparison.png").exists()
    assert (grid / "plots" / "training_curves.png").exists()
    with (grid / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_system = {(r["section"], r["system"]): r for r in rows}
    stored = json.loads((grid / "1" / "results.json").read_text())["systems"]["minilm+lora/condorcet"]["mean"]
    assert float(by_system[("rq1", "minilm+lora/condorcet")]["ndcg@5"]) == stored["ndcg@5"]


def test_report_command_rerenders_without_recomputing(tmp_path: Path) -> None:
    grid = make_grid(tmp_path / "grid")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(grid)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(grid)
    assert (grid / "REPORT.md").exists()


def test_report_rerenders_with_another_reference(tmp_path: Path) -> None:
    grid = make_grid(tmp_path / "grid")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(grid), "report.reference=minilm/concat"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    report = (grid / "REPORT.md").read_text()
    assert "Reference (report.reference given to `teamform report`): `minilm/concat`." in report
    rq1 = report.split("## RQ1")[1].split("## ")[0]
    assert any(row.startswith("| baseline: minilm/concat (ref.) |") for row in rq1.splitlines())
    assert "chosen on these evaluation tasks" not in rq1  # the best baseline is the reference itself
    # a pattern matching several systems is one line naming them, exit 2
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(grid), "report.reference=minilm/*"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "matches 2 systems (minilm/concat, minilm/condorcet)" in proc.stderr


def test_report_scores_only_test_tasks(tmp_path: Path) -> None:
    """A dev task (eval.dev_split) never reaches a scored table, even when a job stored it."""
    grid = make_grid(tmp_path / "grid")
    for job in ("0", "1"):
        path = grid / job / "results.json"
        results = json.loads(path.read_text())
        results["split"] = {"fraction": 0.1, "seed": 0, "dev": ["t0", "t1", "t2"], "test": 27}
        path.write_text(json.dumps(results))
    report = render_report(grid).read_text()
    assert "dev: 3 tasks, test: 27 tasks" in report
    with_dev = make_grid(tmp_path / "plain")
    plain = render_report(with_dev).read_text()
    rq1, rq1_plain = (r.split("## RQ1")[1].split("## ")[0] for r in (report, plain))
    # the means are the stored ones, the bootstrap CIs are over the 27 test tasks only: they differ
    ci = [row.rsplit("|", 2)[-2] for row in rq1.splitlines() if "minilm+lora/condorcet" in row]
    ci_plain = [row.rsplit("|", 2)[-2] for row in rq1_plain.splitlines() if "minilm+lora/condorcet" in row]
    assert ci != ci_plain


def test_report_of_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "report", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
