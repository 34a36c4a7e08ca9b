"""``teamform compare``: COMPARE.md across run and grid directories, datasets and hashes; the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from bench.core.errors import ConfigError, DataError
from reports.compare import compare as write_compare
from reports.compare import leaderboard

ROOT = Path(__file__).resolve().parent.parent
METRICS = ("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc")
DEMO, ONET = "9f3c1a7e55d0b2aa", "4be01c9d77aa3f10"


def system(ndcg5: float) -> dict:
    """Every metric equal to ``ndcg5`` but AUC (``1 - ndcg5``), so the bold best differs per column."""
    mean = {m: ndcg5 for m in METRICS} | {"auc": round(1 - ndcg5, 6)}
    return {"mean": mean, "per_task": {"t0": mean}}


def provenance(dataset: str, hash_: str, **more: str) -> dict:
    return {
        "code_version": "0.1.0+gabc",
        "dataset": dataset,
        "dataset_hash": hash_,
        "model": "minilm",
        **more,
    }


def make_grid(root: Path, dataset: str = "demo", hash_: str = DEMO) -> Path:
    """A demo grid: baselines and a LoRA job (ok), one failed and one skipped job."""
    jobs = [
        {"job": "0", "experiment": "baselines", "status": "ok", "dir": "0"},
        {"job": "1", "experiment": "ft_full", "status": "ok", "dir": "1"},
        {"job": "2", "experiment": "broken", "status": "failed", "dir": "2", "reason": "ValueError: boom"},
        {"job": "3", "experiment": "eureka", "status": "skipped", "dir": "3", "reason": "needs a real LLM"},
    ]
    systems = {
        "0": (
            "baseline",
            {"bm25/concat": 0.20, "minilm/concat": 0.30, "minilm/borda": 0.25},
        ),
        "1": ("LoRA global, full data", {"minilm+lora-global-full/condorcet": 0.50}),
    }
    for job_dir, (label, scores) in systems.items():
        (root / job_dir).mkdir(parents=True)
        results = {
            "dataset": {"name": dataset, "hash": hash_},
            "provenance": provenance(dataset, hash_, date="2025-03-01 10:00:00"),
            "study": {"label": label, "tables": {"rq1": ["*"]}},
            "systems": {name: system(v) for name, v in scores.items()},
            "skipped": [{"system": "openai-small/*", "reason": "no OPENAI_API_KEY"}]
            if job_dir == "0"
            else [],
        }
        (root / job_dir / "results.json").write_text(json.dumps(results))
    prov = provenance(dataset, hash_, profile="quick", date="2025-03-01 10:30:00 UTC")
    (root / "grid.json").write_text(json.dumps({"provenance": prov, "jobs": jobs}))
    return root


def make_run(root: Path, dataset: str = "onet", hash_: str = ONET, scores: dict | None = None) -> Path:
    """A `teamform eval` run directory: results.json (no study label) and config.yaml."""
    scores = scores or {
        "bm25/concat": 0.40,
        "minilm/concat": 0.40,
        "minilm+lora-global-full/condorcet": 0.35,
        "tfidf/concat": 0.10,
    }
    root.mkdir(parents=True)
    results = {
        "dataset": {"name": dataset, "hash": hash_},
        "provenance": provenance(dataset, hash_, date="2025-04-02 09:00:00"),
        "study": {"label": None, "tables": {}},
        "systems": {name: system(v) for name, v in scores.items()},
        "skipped": [],
    }
    (root / "results.json").write_text(json.dumps(results))
    (root / "config.yaml").write_text("seed: 0\nprofile_name: default\n")
    return root


def section(text: str, title: str) -> str:
    return text.split(f"## {title}")[1].split("\n## ")[0]


def test_leaderboard_hand_computed_ranks_and_borda() -> None:
    # x: a 0.5 > b 0.3 > c 0.1; y: a = b = 0.2 (tie), c absent; z: c 0.9 > b 0.4, a absent
    scores = {
        "a": {"x": 0.5, "y": 0.2},
        "b": {"x": 0.3, "y": 0.2, "z": 0.4},
        "c": {"x": 0.1, "z": 0.9},
        "d": {"y": 0.7, "z": float("nan")},
    }
    board, alone = leaderboard(scores, ["x", "y", "z"])
    got = {s.system: (s.ranks, s.points, s.mean_rank, s.borda) for s in board}
    assert got["a"] == ({"x": 1, "y": 1.5}, {"x": 2, "y": 0.5}, (1 + 1.5) / 2, 2 + 0.5)
    assert got["b"] == ({"x": 2, "y": 1.5, "z": 2}, {"x": 1, "y": 0.5, "z": 0}, (2 + 1.5 + 2) / 3, 1 + 0.5)
    assert got["c"] == ({"x": 3, "z": 1}, {"x": 0, "z": 1}, (3 + 1) / 2, 0 + 1)
    assert [s.system for s in board] == ["a", "b", "c"]  # mean ranks 1.25, 1.833, 2.0
    assert alone == ["d"]  # its z is NaN: scored on y only


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=3, max_size=3), min_size=2, max_size=7
    )
)
def test_leaderboard_matches_scipy_rankdata(table: list[list[int | None]]) -> None:
    columns = ["x", "y", "z"]
    scores = {
        f"s{i}": {c: float(v) for c, v in zip(columns, row, strict=True) if v is not None}
        for i, row in enumerate(table)
    }
    board, alone = leaderboard(scores, columns)
    ranked = [s for s, by in scores.items() if len(by) >= 2]
    assert sorted(s.system for s in board) == sorted(ranked)
    assert sorted(alone) == sorted(set(scores) - set(ranked))
    for column in columns:
        here = [s for s in ranked if column in scores[s]]
        if not here:
            continue
        values = np.array([scores[s][column] for s in here])
        ranks = rankdata(-values, method="average")
        beaten = [(values < v).sum() + ((values == v).sum() - 1) / 2 for v in values]
        standings = {s.system: s for s in board}
        for name, rank, points in zip(here, ranks, beaten, strict=True):
            assert standings[name].ranks[column] == rank
            assert standings[name].points[column] == points


def test_two_datasets_tables_and_leaderboard(tmp_path: Path) -> None:
    grid, run = make_grid(tmp_path / "grid"), make_run(tmp_path / "run")
    path, warnings = write_compare([grid, run], tmp_path / "cmp")
    text = path.read_text()
    assert warnings == [] and "Warning" not in text
    # provenance: one row per input directory, the run's profile from its config.yaml
    assert (
        f"| d1 | `{grid}` | 0.1.0+gabc | demo | 9f3c1a7e | minilm | quick | 2025-03-01 10:30:00 UTC "
        "| 4 (2 ok) |" in text
    )
    assert (
        f"| d2 | `{run}` | 0.1.0+gabc | onet | 4be01c9d | minilm | default | 2025-04-02 09:00:00 | 1 (1 ok) |"
        in text
    )
    assert "O*NET 29.3 Database" in text  # the CC BY attribution of the onet data
    demo = section(text, "Dataset `demo`")
    assert "| LoRA global, full data: minilm+lora-global-full/condorcet | **0.500** |" in demo
    assert "| baseline: bm25/concat | 0.200 | 0.200 | 0.200 | 0.200 | 0.200 | **0.800** |" in demo
    onet = section(text, "Dataset `onet`")
    assert "| bm25/concat | **0.400** | **0.400** | **0.400** | **0.400** | **0.400** | 0.600 |" in onet
    assert "| tfidf/concat | 0.100 |" in onet
    # demo nDCG@5: lora 0.50 > minilm 0.30 > bm25 0.20  -> ranks 1, 2, 3; points 2, 1, 0
    # onet nDCG@5: bm25 0.40 = minilm 0.40 > lora 0.35 -> ranks 1.5, 1.5, 3; points 1.5, 1.5, 0
    board = section(text, "Leaderboard across datasets")
    assert "| system | nDCG@5 demo | nDCG@5 onet | mean rank | Borda |" in board
    rows = [line for line in board.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert rows == [
        f"| minilm/concat | 0.300 | 0.400 | {(2 + 1.5) / 2:.2f} | {1 + 1.5:g} |",
        f"| minilm+lora-global-full/condorcet | 0.500 | 0.350 | {(1 + 3) / 2:.2f} | {2 + 0:g} |",
        f"| bm25/concat | 0.200 | 0.400 | {(3 + 1.5) / 2:.2f} | {0 + 1.5:g} |",
    ]
    assert (
        "Scored on one dataset column only, so not ranked: `minilm/borda` (demo), `tfidf/concat` (onet)."
        in board
    )
    # failed and skipped jobs are listed with their reason, never in a table
    failed = section(text, "Failed and skipped jobs")
    assert "| d1 | 2 | broken | failed | ValueError: boom |" in failed
    assert "| d1 | 3 | eureka | skipped | needs a real LLM |" in failed
    assert "| d1 | 0 | `openai-small/*` | no OPENAI_API_KEY |" in section(text, "Skipped systems")
    # compare.csv: the same numbers, with the rank and points of each row the leaderboard uses
    with (tmp_path / "cmp" / "compare.csv").open() as handle:
        records = {(r["dataset"], r["system"]): r for r in csv.DictReader(handle)}
    assert len(records) == 4 + 4
    bm25 = records[("onet", "bm25/concat")]
    assert (float(bm25["ndcg@5"]), float(bm25["rank"]), float(bm25["borda_points"])) == (0.4, 1.5, 1.5)
    assert records[("demo", "minilm/borda")]["rank"] == ""
    assert records[("demo", "bm25/concat")]["label"] == "baseline: bm25/concat"


def test_same_name_two_hashes_two_columns_and_a_warning(tmp_path: Path) -> None:
    quick = make_grid(tmp_path / "quick", hash_="aaaaaaaa1111")
    default = make_run(
        tmp_path / "default",
        dataset="demo",
        hash_="bbbbbbbb2222",
        scores={"minilm/concat": 0.35, "bm25/concat": 0.3},
    )
    path, warnings = write_compare([quick, default], tmp_path / "cmp")
    text = path.read_text()
    assert len(warnings) == 1 and "demo@aaaaaaaa, demo@bbbbbbbb" in warnings[0]
    assert f"> **Warning:** {warnings[0]}." in text
    assert "## Dataset `demo@aaaaaaaa`" in text and "## Dataset `demo@bbbbbbbb`" in text
    assert "## Dataset `demo`\n" not in text
    assert "| system | nDCG@5 demo@aaaaaaaa | nDCG@5 demo@bbbbbbbb | mean rank | Borda |" in text


def test_same_system_in_two_directories_of_one_dataset_keeps_both_rows(tmp_path: Path) -> None:
    grid = make_grid(tmp_path / "grid")
    rerun = make_run(tmp_path / "rerun", dataset="demo", hash_=DEMO, scores={"minilm/concat": 0.33})
    onet = make_run(tmp_path / "onet")
    text = write_compare([grid, rerun, onet], tmp_path / "cmp")[0].read_text()
    demo = section(text, "Dataset `demo`")
    assert "| baseline: minilm/concat (d1) | 0.300 |" in demo and "| minilm/concat (d2) | 0.330 |" in demo
    assert "| baseline: bm25/concat | 0.200 |" in demo  # once in the dataset: no suffix
    board = section(text, "Leaderboard across datasets")
    assert "Several rows in one dataset for `minilm/concat`: the leaderboard uses the first given" in board
    assert "| minilm/concat | 0.300 | 0.400 |" in board


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "compare", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def test_cli_writes_compare_md_and_csv_and_prints_the_directory_last(tmp_path: Path) -> None:
    grid, run = make_grid(tmp_path / "grid"), make_run(tmp_path / "run")
    out = tmp_path / "X"
    proc = run_cli(str(grid), str(run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert (out / "COMPARE.md").is_file() and (out / "compare.csv").is_file()
    # default: a new directory under $TEAMFORM_OUTPUTS/compare/, and the warning also on stderr
    other = make_run(tmp_path / "other", dataset="onet", hash_="cccccccc3333")
    proc = run_cli(str(run), str(other), env={"TEAMFORM_OUTPUTS": str(tmp_path / "outputs")})
    assert proc.returncode == 0, proc.stderr
    written = Path(proc.stdout.strip().splitlines()[-1])
    assert written.parent == tmp_path / "outputs" / "compare" and (written / "COMPARE.md").is_file()
    assert proc.stderr.startswith("warning: dataset 'onet' comes with 2 different hashes")
    # an existing, non-empty --out is refused: nothing is overwritten
    proc = run_cli(str(grid), "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(out) in proc.stderr and "already exists" in proc.stderr


def test_cli_bad_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    grid, empty = make_grid(tmp_path / "grid"), tmp_path / "empty"
    empty.mkdir()
    proc = run_cli(str(grid), str(empty), "--out", str(tmp_path / "X"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert str(empty) in proc.stderr and "holds neither grid.json nor results.json" in proc.stderr
    assert "teamform grid" in proc.stderr  # the fix
    assert not (tmp_path / "X").exists()
    proc = run_cli()  # no directory: an argparse usage error
    assert (
        proc.returncode == 2 and "usage: teamform compare" in proc.stderr and "Traceback" not in proc.stderr
    )


def test_missing_broken_or_repeated_directories_name_the_directory(tmp_path: Path) -> None:
    grid, broken = make_grid(tmp_path / "grid"), tmp_path / "broken"
    broken.mkdir()
    (broken / "grid.json").write_text("{not json")
    with pytest.raises(DataError, match="broken: unreadable grid.json or results.json"):
        write_compare([grid, broken], tmp_path / "a")
    with pytest.raises(DataError, match="nope: no such directory; pass a directory written by"):
        write_compare([tmp_path / "nope"], tmp_path / "b")
    with pytest.raises(ConfigError, match="is given twice"):
        write_compare([grid, tmp_path / "." / "grid"], tmp_path / "c")
    assert not any((tmp_path / d).exists() for d in "abc")
