"""`teamform eval` end to end on a small custom dataset: outputs, TREC files, privacy, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SENTINEL = "Zyqxwv-Sentinel-Text"  # planted in every employee's text: must appear in no output
SECRET_OPENAI = "sk-test-SENTINEL-openai-0000-0000"  # a fake key, shaped so secret scanners do not flag it
SECRET_WANDB = "0123456789abcdef0123456789abcdefSENTINEL"

ROLES = [
    "kiln engineer",
    "sales manager",
    "payroll analyst",
    "logistics planner",
    "IT architect",
    "quality auditor",
]


def write_dataset(root: Path) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    employees, tasks, labels = [], [], ["task_id,employee_id,label"]
    for i in range(18):
        role = ROLES[i % len(ROLES)]
        employees.append(
            {
                "id": f"e{i}",
                "aspects": {
                    "role": f"{role} {SENTINEL} number {i}",
                    "experience": (
                        f"years of work as {role}; led projects on {ROLES[(i + 1) % len(ROLES)]} topics"
                    ),
                    "goals": "" if i % 5 == 0 else f"learn {ROLES[(i + 2) % len(ROLES)]} skills",
                },
            }
        )
    for t in range(6):
        role = ROLES[t]
        tasks.append({"id": f"t{t}", "project": f"project {t}", "task": f"need a {role} for the rollout"})
        for i in rng.choice(18, size=8, replace=False):
            labels.append(f"t{t},e{i},{int(ROLES[i % len(ROLES)] == role) * (1 + int(i < 6))}")
        labels.append(f"t{t},e{t},2")
    (root / "employees.jsonl").write_text("".join(json.dumps(e) + "\n" for e in employees))
    (root / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    deduped = dict.fromkeys(labels)
    seen, rows = set(), []
    for row in deduped:
        key = tuple(row.split(",")[:2])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def teamform(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=900,
    )


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("eval")
    data = write_dataset(tmp / "data")
    env = {
        **os.environ,
        "TEAMFORM_OUTPUTS": str(tmp / "out"),
        "TEAMFORM_CACHE": str(tmp / "cache"),
        "OPENAI_API_KEY": SECRET_OPENAI,
        "WANDB_API_KEY": SECRET_WANDB,
        "WANDB_MODE": "offline",
    }
    proc = teamform(
        "eval",
        "data=custom",
        f"data.root={data}",
        "eval.encoders=[bm25,tfidf,base]",
        "logger=wandb",
        "eval.trec_depth=10",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp, Path(proc.stdout.strip().splitlines()[-1]), proc


def test_eval_writes_every_system_and_prints_its_directory(eval_run) -> None:
    _, out, proc = eval_run
    results = json.loads((out / "results.json").read_text())
    systems = results["systems"]
    for encoder in ("bm25", "tfidf", "minilm"):
        for view in (
            "concat",
            "role",
            "experience",
            "goals",
            "condorcet",
            "borda",
            "copeland",
            "condorcet_fuse",
            "rrf",
            "combsum",
            "combmnz",
        ):
            assert f"{encoder}/{view}" in systems
            assert (out / "runs" / f"{encoder}__{view}.trec").exists()
    assert set(systems["bm25/concat"]["per_task"]) == {f"t{t}" for t in range(6)}
    assert results["dataset"]["hash"] and results["provenance"]["code_version"]
    assert "minilm/condorcet" in proc.stdout  # the printed table


def test_trec_files_reproduce_results_json_under_trec_eval(eval_run) -> None:
    import pytrec_eval

    tmp, out, _ = eval_run
    qrels: dict[str, dict[str, int]] = {}
    for line in (tmp / "data" / "labels.csv").read_text().splitlines()[1:]:
        t, e, g = line.split(",")
        qrels.setdefault(t, {})[e] = int(g)
    results = json.loads((out / "results.json").read_text())
    # trec_eval's nDCG uses the grade as the gain; ours is 2^g - 1 (``docs/design.md`` section 6).
    gain_qrels = {t: {e: 2**g - 1 for e, g in d.items()} for t, d in qrels.items()}
    for path in sorted((out / "runs").glob("*.trec")):
        run: dict[str, dict[str, float]] = {}
        for line in path.read_text().splitlines():
            t, _, e, _, score, _ = line.split()
            run.setdefault(t, {})[e] = float(score)
        system = path.stem.replace("__", "/")
        per_task = results["systems"][system]["per_task"]
        plain = pytrec_eval.RelevanceEvaluator(qrels, {"map", "recip_rank", "success_5"}).evaluate(run)
        graded = pytrec_eval.RelevanceEvaluator(gain_qrels, {"ndcg_cut_5"}).evaluate(run)
        for t in per_task:
            assert per_task[t]["ap"] == pytest.approx(plain[t]["map"], abs=1e-9), (system, t)
            assert per_task[t]["mrr"] == pytest.approx(plain[t]["recip_rank"], abs=1e-9), (system, t)
            assert per_task[t]["hit@5"] == pytest.approx(plain[t]["success_5"], abs=1e-9), (system, t)
            assert per_task[t]["ndcg@5"] == pytest.approx(graded[t]["ndcg_cut_5"], abs=1e-9), (system, t)


def _all_files(root: Path):
    return [p for p in root.rglob("*") if p.is_file()]


def test_no_employee_text_and_no_secret_in_any_output(eval_run) -> None:
    tmp, out, proc = eval_run
    files = _all_files(out)
    assert any(p.suffix == ".wandb" for p in files), "no W&B offline run was written"
    for path in files:
        data = path.read_bytes()
        assert SENTINEL.encode() not in data, f"employee text in {path}"
        assert SECRET_OPENAI.encode() not in data and SECRET_WANDB.encode() not in data, f"secret in {path}"
    assert SENTINEL not in proc.stdout + proc.stderr
    from bench.core.redact import redact

    os.environ["OPENAI_API_KEY"] = SECRET_OPENAI
    try:
        assert redact({"llm": {"api_key": "x", "url": f"http://h/?k={SECRET_OPENAI}"}}) == {
            "llm": {"api_key": "<redacted>", "url": "http://h/?k=<redacted>"}
        }
    finally:
        del os.environ["OPENAI_API_KEY"]


def test_one_wandb_run_per_encoder_with_shared_keys(eval_run) -> None:
    from tests.wandb_records import runs_under

    _, out, _ = eval_run
    runs = {r.config["encoder"]: r for r in runs_under(out)}
    assert sorted(runs) == ["bm25", "minilm", "tfidf"]
    for encoder, run in runs.items():
        assert run.name == f"eval:{encoder}" and run.job_type == "eval"
        assert {"condorcet/ndcg@5", "concat/ap", "role/hit@5"} <= set(run.summary), encoder
        assert run.config["dataset"] == "data" and run.config["seed"] == 0 and run.config["inputs"] == []
    results = json.loads((out / "results.json").read_text())
    assert (
        runs["minilm"].summary["condorcet/ndcg@5"] == results["systems"]["minilm/condorcet"]["mean"]["ndcg@5"]
    )


def test_a_secret_on_the_command_line_is_refused(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(tmp_path / "out"), "TEAMFORM_CACHE": str(tmp_path / "cache")}
    proc = teamform("eval", "data=custom", f"data.root={data}", f"+llm.api_key={SECRET_OPENAI}", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "environment variable" in proc.stderr and SECRET_OPENAI not in proc.stderr + proc.stdout
    assert not (tmp_path / "out").exists() or SECRET_OPENAI.encode() not in b"".join(
        p.read_bytes() for p in _all_files(tmp_path / "out")
    )


def test_unknown_aggregator_names_the_choices(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(tmp_path / "out"), "TEAMFORM_CACHE": str(tmp_path / "cache")}
    proc = teamform(
        "eval",
        "data=custom",
        f"data.root={data}",
        "eval.encoders=[bm25]",
        "logger=none",
        "eval.aggregators=[condorset]",
        env=env,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "condorset" in proc.stderr and "condorcet" in proc.stderr and "borda" in proc.stderr


def test_unknown_aspect_names_the_choices(tmp_path: Path) -> None:
    data = write_dataset(tmp_path / "data")
    env = {**os.environ, "TEAMFORM_OUTPUTS": str(tmp_path / "out"), "TEAMFORM_CACHE": str(tmp_path / "cache")}
    proc = teamform(
        "eval",
        "data=custom",
        f"data.root={data}",
        "eval.encoders=[bm25]",
        "logger=none",
        "eval.aspects=[role,skills]",
        env=env,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "skills" in proc.stderr and "experience" in proc.stderr
