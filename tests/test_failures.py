"""Failures that stay small: one unusable system never sinks a job; a grid that cannot run says so first."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from aggregators import registry
from bench.core.dataset import Dataset, Employee, Task
from bench.run.evaluation import EvalSettings, evaluate_specs
from bench.run.scorers import ScorerSpec
from models.lexical import get_lexical
from tests.cli_helpers import SMALL_DEMO, env_for, last_line, make_tiny_bert, teamform, tiny_model_args

FAKE_KEY = "sk-test-failures-0000"  # shaped so that secret scanners do not flag it


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_dataset() -> Dataset:
    roles = ["kiln engineer", "sales manager", "payroll analyst", "logistics planner"]
    employees = [
        Employee(f"e{i}", {"role": roles[i % 4], "experience": f"years as {roles[(i + 1) % 4]}"})
        for i in range(8)
    ]
    tasks = [Task(f"t{i}", f"project {i}", f"need a {roles[i]}") for i in range(4)]
    qrels = {f"t{i}": {f"e{i}": 1, f"e{i + 4}": 1} for i in range(4)}
    return Dataset(employees=employees, tasks=tasks, qrels=qrels, name="tiny")


def test_a_raising_aggregator_is_skipped_and_the_others_stand(tmp_path: Path, monkeypatch) -> None:
    def broken(scores: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        raise RuntimeError("planted failure")

    monkeypatch.setitem(registry.AGGREGATORS, "broken", broken)
    settings = EvalSettings(
        metrics=["ndcg@5", "ap"],
        views=["concat", "aspects", "aggregators"],
        aggregators=["borda", "broken", "condorcet"],
    )
    scorer = get_lexical("bm25")
    results = evaluate_specs(tiny_dataset(), [ScorerSpec("bm25", scorer)], settings, tmp_path)
    assert {"bm25/borda", "bm25/condorcet", "bm25/concat", "bm25/role"} <= set(results["systems"])
    assert "bm25/broken" not in results["systems"]
    assert results["skipped"] == [{"system": "bm25/broken", "reason": "RuntimeError: planted failure"}]


def test_a_raising_metric_is_skipped_and_the_other_metrics_stand(tmp_path: Path, monkeypatch) -> None:
    from bench.metrics import registry as metric_registry
    from bench.metrics.registry import Metric

    def broken(ranked, k):  # noqa: ANN001, ANN202 - the registry's kernel signature
        raise ValueError("planted metric failure")

    monkeypatch.setitem(metric_registry.METRICS, "broken", Metric(broken, True, ""))
    settings = EvalSettings(metrics=["ndcg@5", "broken@5"], views=["concat"])
    results = evaluate_specs(tiny_dataset(), [ScorerSpec("bm25", get_lexical("bm25"))], settings, tmp_path)
    assert set(results["systems"]["bm25/concat"]["mean"]) == {"ndcg@5"}
    assert results["skipped"] == [
        {"system": "bm25/concat", "metric": "broken@5", "reason": "ValueError: planted metric failure"}
    ]


@pytest.mark.slow
def test_unreachable_openai_baselines_are_skipped_and_every_other_system_kept(tmp_path: Path) -> None:
    bert = make_tiny_bert(tmp_path / "bert")
    env = env_for(tmp_path, OPENAI_API_KEY=FAKE_KEY, OPENAI_BASE_URL=f"http://127.0.0.1:{closed_port()}/v1")
    proc = teamform(
        [
            "eval",
            *SMALL_DEMO,
            *tiny_model_args(bert),
            "logger=none",
            "eval.encoders=[bm25,tfidf,openai-small,base]",
            "eval.openai.max_retries=2",
            "eval.openai.backoff_initial_s=0",
            "eval.openai.backoff_max_s=0",
        ],
        env,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((last_line(proc) / "results.json").read_text())
    encoders = {name.split("/")[0] for name in results["systems"]}
    assert encoders == {"bm25", "tfidf", "tinybert"}
    (skip,) = [s for s in results["skipped"] if s["system"].startswith("openai")]
    assert skip["system"] == "openai-small/*"
    assert (
        "unavailable" in skip["reason"]
        and "after 2 retries" in skip["reason"]
        and FAKE_KEY not in skip["reason"]
    )
    assert "skipped openai-small/*" in proc.stdout


@pytest.fixture(scope="module")
def custom_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo exported to the custom format: a company's data, without hidden truth."""
    tmp = tmp_path_factory.mktemp("custom")
    proc = teamform(["data", "export", *SMALL_DEMO, f"out={tmp / 'data'}"], env_for(tmp), tmp)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return tmp / "data"


def test_a_grid_the_simulated_llm_cannot_serve_exits_2_before_any_job(
    custom_demo: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    proc = teamform(
        ["grid", "profile=quick", "data=custom", f"data.root={custom_demo}", "logger=none"],
        env_for(tmp_path),
        tmp_path,
    )
    elapsed = time.monotonic() - started
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: the grid cannot run on data=custom"), lines
    assert "llm=openai_compatible" in lines[0] and "Traceback" not in proc.stderr
    assert not list((tmp_path / "outputs").rglob("job.json")), "a job was launched"
    print(f"refused in {elapsed:.1f} s")  # the target is under 10 s on this machine; not asserted


def test_the_simulated_llm_cannot_train_on_custom_data_with_train_or_synth(
    custom_demo: Path, tmp_path: Path
) -> None:
    for command in ("synth", "train"):
        proc = teamform([command, "data=custom", f"data.root={custom_demo}"], env_for(tmp_path), tmp_path)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.strip().startswith("error: llm=simulated answers from a dataset's hidden truth")
        assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_weights_offline_are_named_before_the_job(tmp_path: Path) -> None:
    proc = teamform(
        ["eval", *SMALL_DEMO, "model.name_or_path=someorg/not-cached-model", "logger=none"],
        env_for(tmp_path, HF_HUB_OFFLINE="1"),
        tmp_path,
    )
    assert proc.returncode == 2
    assert "someorg/not-cached-model is not in the Hugging Face cache and HF_HUB_OFFLINE=1" in proc.stderr


def varied_responder(prompt: str, body: dict) -> dict:
    """Valid replies whose texts differ per prompt and item (words of the prompt), labels 0 or 1 by hash."""
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema") or {}
    words = [w.strip(".,:;()\"'") for w in prompt.split() if len(w) > 4][:400] or ["work"]
    state = {"n": int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16)}

    def text() -> str:
        state["n"] = (state["n"] * 1103515245 + 12345) % 2**31
        n = state["n"]
        return " ".join(words[(n + 7 * i) % len(words)] for i in range(8)) + f" {n % 997}"

    def build(node: dict) -> object:
        if "$ref" in node:
            return build(schema["$defs"][node["$ref"].split("/")[-1]])
        if "enum" in node:
            state["n"] += 1
            return node["enum"][state["n"] % len(node["enum"])]
        for key in ("anyOf", "oneOf", "allOf"):
            if key in node:
                return build([s for s in node[key] if s.get("type") != "null"][0])
        kind = node.get("type", "object")
        if kind == "object":
            return {name: build(sub) for name, sub in node.get("properties", {}).items()}
        if kind == "array":
            return [build(node.get("items", {})) for _ in range(4)]
        if kind == "integer":
            state["n"] += 1
            return state["n"] % 2
        return text()

    return build(schema)


@pytest.mark.slow
def test_the_same_grid_with_an_openai_compatible_loopback_llm_runs_every_experiment(
    custom_demo: Path, tmp_path: Path
) -> None:
    from tests.fake_openai_server import FakeOpenAIServer

    bert = make_tiny_bert(tmp_path / "bert")
    with FakeOpenAIServer(seed=0, responder=varied_responder) as server:
        proc = teamform(
            [
                "grid",
                "profile=quick",
                "data=custom",
                f"data.root={custom_demo}",
                "logger=none",
                *tiny_model_args(bert),
                "train.max_steps=2",
                "llm=openai_compatible",
                f"llm.backend.base_url={server.base_url}",
                "llm.backend.model=fake-chat",
                "synth.label_pool_encoder=tfidf",
                "eval.dev_split.fraction=0.25",  # Eureka tunes on dev tasks; influence trains on them (D)
            ],
            env_for(tmp_path),
            tmp_path,
            timeout=1800,
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "left out:" not in proc.stdout
    grid_dir = last_line(proc)
    grid = json.loads((grid_dir / "grid.json").read_text())
    statuses = {job["experiment"]: (job["status"], job.get("reason", "")) for job in grid["jobs"]}
    assert len(statuses) == 13 and all(s == "ok" for s, _ in statuses.values()), statuses
    # the dev tasks Eureka tuned on and influence trained on are never scored
    jobs = {job["experiment"]: job for job in grid["jobs"]}
    eureka = json.loads((grid_dir / jobs["eureka"]["dir"] / "results.json").read_text())
    dev = set(eureka["split"]["dev"])
    assert dev and eureka["extras"]["eureka"]
    for job in grid["jobs"]:
        results = json.loads((grid_dir / job["dir"] / "results.json").read_text())
        assert set(results["split"]["dev"]) == dev, job["experiment"]
        for name, system in results["systems"].items():
            assert not set(system["per_task"]) & dev, (job["experiment"], name)
    influence = json.loads((grid_dir / jobs["influence"]["dir"] / "results.json").read_text())
    assert influence["study"]["influence_base"]["tasks"] == len(dev)
    report = (grid_dir / "REPORT.md").read_text()
    assert f"dev: {len(dev)} tasks, test: {eureka['split']['test']} tasks" in report
    assert "Every run also trains on the base set D" in report
