"""`teamform data validate|stats|export` through the real console entry, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data.custom import load_custom

EMPLOYEES = (
    '{"id": "e1", "aspects": {"role": "Plant manager", "experience": "I had to plan the kiln downtime."}}\n'
    '{"id": "e2", "aspects": {"role": "HR partner"}}\n'
)
TASKS = '{"id": "t1", "project": "Kiln retrofit", "task": "Plan the kiln downtime"}\n'
LABELS = "task_id,employee_id,label\nt1,e1,1\nt1,e2,0\n"
TRAIN = '{"id": "s1", "project": "Kiln retrofit", "task": "plan the KILN downtime!"}\n'


def write(root: Path, files: dict[str, str | bytes | None]) -> Path:
    root.mkdir(parents=True)
    merged = {"employees.jsonl": EMPLOYEES, "tasks.jsonl": TASKS, "labels.csv": LABELS, **files}
    for name, content in merged.items():
        if content is not None:
            (root / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def teamform(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(tmp_path / "outputs"), "HYDRA_FULL_ERROR": "0"}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", "data", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("files", "fragments"),
    [
        ({"tasks.jsonl": TASKS + '{"id": "t2", "project": \n'}, ["tasks.jsonl:2:", "invalid JSON"]),
        ({"labels.csv": LABELS + "t1,e9,1\n"}, ["labels.csv:4:", "unknown employee 'e9'"]),
        (
            {"employees.jsonl": None, "employees.csv": b'id,role\ne1,"a\nb"\ne2,caf\xe9\n'},
            ["employees.csv:4:", "not valid UTF-8"],
        ),
        ({"qrels.txt": "t1 0 e1 1\n"}, ["labels.csv and qrels.txt", "ambiguous"]),
        ({"labels.csv": "task_id,employee_id,label\nt1,e1,maybe\n"}, ["labels.csv:2:", "not an integer"]),
    ],
)
def test_validate_malformed_data_exits_2_with_one_line(tmp_path, files, fragments):
    root = write(tmp_path / "data", files)
    assert_user_error(
        teamform(tmp_path, "validate", "data=custom", f"data.root={root}"), str(root), *fragments
    )


def test_missing_root_and_unset_root(tmp_path):
    assert_user_error(
        teamform(tmp_path, "validate", "data=custom", f"data.root={tmp_path / 'nope'}"),
        "no such directory",
        "employees.jsonl",
    )
    assert_user_error(teamform(tmp_path, "stats", "data=custom"), "data.root is not set")


def test_stats_prints_the_hash_and_ends_with_the_run_directory(tmp_path):
    root = write(tmp_path / "data", {})
    result = teamform(tmp_path, "stats", "data=custom", f"data.root={root}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    expected = load_custom(root).hash
    assert f"hash              {expected}" in lines
    assert "employees         2" in lines
    run = Path(lines[-1])
    assert run.is_dir() and run.is_relative_to(tmp_path / "outputs")
    stats = json.loads((run / "stats.json").read_text())
    assert stats["hash"] == expected and stats["judged_pairs"] == 2 and stats["positives"] == 1


def test_validate_reports_leakage_by_id(tmp_path):
    root = write(tmp_path / "data", {"train_tasks.jsonl": TRAIN})
    result = teamform(tmp_path, "validate", "data=custom", f"data.root={root}")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "leakage: seed task 's1' duplicates eval task 't1' (normalised query)" in out
    assert "leakage: eval task 't1' appears in employee 'e1' aspect 'experience' (normalised)" in out
    assert "valid, with 2 leakage finding(s)" in out
    assert "kiln" not in out.lower()  # ids and numbers only, never text
    findings = json.loads((Path(out.splitlines()[-1]) / "leakage.json").read_text())
    assert {(f["task_id"], f["other_id"]) for f in findings} == {("t1", "s1"), ("t1", "e1")}


def test_export_then_stats_gives_the_same_hash(tmp_path):
    root = write(tmp_path / "data", {"train_tasks.jsonl": TRAIN, "context.md": "We make tiles."})
    exported = teamform(tmp_path, "export", "data=custom", f"data.root={root}", "out=exp")
    assert exported.returncode == 0, exported.stderr
    out = Path(exported.stdout.splitlines()[-1])
    assert out == tmp_path / "exp"
    stats = teamform(tmp_path, "stats", "data=custom", f"data.root={out}")
    assert stats.returncode == 0, stats.stderr
    assert f"hash              {load_custom(root).hash}" in stats.stdout.splitlines()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    refused = teamform(tmp_path, "export", "data=custom", f"data.root={root}", "out=mine")
    assert_user_error(refused, "is not empty and is not a previous")
