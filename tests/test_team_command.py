"""``teamform team``: the persistent index, system choice, and the command end to end on the demo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from bench.run.team import best_of_grid
from bench.run.team_index import EmployeeIndex
from tests.cli_helpers import SMALL_DEMO, env_for, last_line, make_tiny_bert, teamform, tiny_model_args


class CountingEncoder:
    """A deterministic stand-in encoder that counts the texts it encodes (unit test double)."""

    fingerprint = "counting-v1"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rng = [np.random.default_rng(abs(hash(t)) % 2**32) for t in texts]
        return np.array([r.normal(size=8) for r in rng], dtype=np.float32)


def test_an_index_update_reencodes_only_the_employees_whose_text_changed(tmp_path: Path) -> None:
    encoder = CountingEncoder()
    texts = {f"e{i}": f"role {i}" for i in range(6)}
    first = EmployeeIndex(tmp_path, encoder).update("role", texts)
    assert (first.encoded, first.reused, first.removed) == (6, 0, 0)
    changed = {**texts, "e2": "role two, rewritten", "e9": "a new hire"}
    del changed["e4"]
    encoder.encoded.clear()
    index = EmployeeIndex(tmp_path, encoder)  # a later call: read back from disk
    second = index.update("role", changed)
    assert sorted(encoder.encoded) == ["a new hire", "role two, rewritten"]
    assert (second.encoded, second.reused, second.removed) == (2, 4, 1)
    encoder.encoded.clear()
    assert index.update("role", changed).encoded == 0 and encoder.encoded == []
    # the stored vectors rank like a fresh encoding of the same texts
    ids = list(changed)
    query = CountingEncoder().encode_documents(["role 3"])
    scores = index.scores("role", query, ids, depth=10)
    fresh = CountingEncoder().encode_documents([changed[e] for e in ids])
    expected = (fresh / np.linalg.norm(fresh, axis=1, keepdims=True)) @ (query[0] / np.linalg.norm(query[0]))
    np.testing.assert_allclose(scores[0], expected, atol=1e-5)
    assert (
        index.scores("role", query, [*ids, "absent"], depth=10)[0, -1]
        != index.scores("role", query, ids, 10)[0, 0]
    )


def test_from_grid_takes_the_best_system_by_the_declared_criterion(tmp_path: Path) -> None:
    grid = tmp_path / "grid"
    rows = [
        ("0", "minilm/condorcet", 0.30),
        ("0", "bm25/condorcet", 0.90),
        ("1", "minilm+lora-global-full/borda", 0.41),
        ("1", "minilm+lora-global-full/weighted_borda", 0.99),
        ("1", "minilm+lora-global-full/concat", 0.35),
    ]
    for job in ("0", "1"):
        (grid / job).mkdir(parents=True)
        extras = {"adapter_set": "KEY1"} if job == "1" else {}
        (grid / job / "results.json").write_text(json.dumps({"extras": extras}))
    (grid / "results.jsonl").write_text(
        "".join(json.dumps({"job": j, "system": s, "mean": {"ndcg@5": v}}) + "\n" for j, s, v in rows)
    )
    adapters = tmp_path / "cache" / "adapters" / "KEY1"
    (adapters / "global").mkdir(parents=True)
    (adapters / "metadata.json").write_text(
        json.dumps({"mode": "global", "complete": True, "adapters": {"global": {"dir": "global"}}})
    )
    cfg = OmegaConf.create(
        {
            "model": {"name": "minilm"},
            "paths": {"cache_dir": str(tmp_path / "cache")},
            "team": {"criterion": "ndcg@5"},
        }
    )
    system = best_of_grid(cfg, grid)
    # lexical and weighted systems are not candidates: they have no per-aspect index to rank with
    assert system.name == "minilm+lora-global-full/borda" and system.adapters.dir == adapters
    assert "chosen on the evaluation tasks of grid grid: mean ndcg@5 = 0.4100" == system.chosen


@pytest.fixture(scope="module")
def team_run(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("team")
    bert = make_tiny_bert(tmp / "bert")
    project = tmp / "project.json"
    project.write_text(
        json.dumps(
            {
                "project": "Kiln retrofit",
                "tasks": [
                    "Plan the kiln downtime",
                    "Negotiate with the burner supplier",
                    "Train the night shift",
                ],
            }
        )
    )
    args = ["team", *SMALL_DEMO, *tiny_model_args(bert), f"team.project={project}"]
    return tmp, bert, args, teamform(args, env_for(tmp), tmp)


def test_team_writes_team_json_and_team_md(team_run) -> None:
    _, _, _, proc = team_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = last_line(proc)
    team = json.loads((out / "team.json").read_text())
    assert (
        team["project"] == "Kiln retrofit"
        and team["system"] == "tinybert/condorcet"
        and team["solver"] == "exact"
    )
    assert [t["task"] for t in team["tasks"]] == ["p1", "p2", "p3"]
    picked = [a["employee_id"] for t in team["tasks"] for a in t["assigned"]]
    assert len(picked) == 3 == len(set(picked))  # one person per task, each at most one task
    first = team["tasks"][0]["assigned"][0]
    assert (
        set(first["aspects"]) == {"role", "behavior", "goals", "abilities", "experience"} or first["aspects"]
    )
    assert all({"rank", "score"} <= set(v) for v in first["aspects"].values())
    assert len(team["tasks"][0]["next"]) == 3
    md = (out / "TEAM.md").read_text()
    assert "Kiln retrofit" in md and first["employee_id"] in md


def test_greedy_is_the_papers_top_1_per_task(team_run) -> None:
    tmp, _, args, _ = team_run
    proc = teamform([*args, "team.solver=greedy"], env_for(tmp), tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    team = json.loads((last_line(proc) / "team.json").read_text())
    for task in team["tasks"]:
        top = max([*task["assigned"], *task["next"]], key=lambda c: c["fused_score"])
        assert task["assigned"][0]["employee_id"] == top["employee_id"]


def test_a_request_infeasible_by_counts_is_refused_before_any_model_loads(team_run) -> None:
    tmp, _, args, _ = team_run
    broken = [a for a in args if not a.startswith("model.name_or_path")] + [
        "model.name_or_path=/no/such/model",
        "team.per_task=1000",
    ]
    proc = teamform(broken, env_for(tmp), tmp)
    output = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2 and len(output) <= 3, output
    assert "team.per_task=1000" in proc.stderr and "Traceback" not in proc.stderr


def test_a_text_project_is_split_one_task_per_line_with_the_simulated_llm(team_run) -> None:
    tmp, _, args, _ = team_run
    text = tmp / "project.txt"
    text.write_text("Warehouse move\n- Plan the racking layout\n- Move the stock\n- Update the WMS\n")
    proc = teamform(
        [*[a for a in args if not a.startswith("team.project")], f"team.project={text}"], env_for(tmp), tmp
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "llm=simulated cannot read a new project" in proc.stdout
    tasks = json.loads((last_line(proc) / "tasks.json").read_text())
    assert tasks == {
        "project": "Warehouse move",
        "tasks": ["Plan the racking layout", "Move the stock", "Update the WMS"],
    }


def test_the_report_staffs_projects_greedy_and_exact_from_run_files() -> None:
    from reports.team import staff, team_rows

    # e1 is everyone's top candidate: greedy staffs both tasks with e1, exact gives t2 its second choice
    run = {"t1": {"e1": 0.9, "e2": 0.1}, "t2": {"e1": 0.8, "e3": 0.7}}
    assert staff(run, ["t1", "t2"], "greedy") == {"t1": "e1", "t2": "e1"}
    assert staff(run, ["t1", "t2"], "exact") == {"t1": "e1", "t2": "e3"}
    qrels = {"t1": {"e1": 1}, "t2": {"e1": 1, "e3": 0}}
    assert team_rows(run, {"p": ["t1", "t2"]}, qrels) == {"greedy": 1.0, "exact": 0.5}
