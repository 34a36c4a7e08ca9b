"""Synthesis stages with the simulated backend on a small demo enterprise.

Checks the artifact format of every stage but Eureka, zero new calls on a rerun, the simulated
annotator's error rates, the leakage guard, and the budget stop / resume.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import statistics
from pathlib import Path

import pytest

from bench.core.dataset import Dataset, Employee, GroundTruth, Task
from bench.core.errors import TeamformError
from bench.data.demo import build_demo
from bench.data.textmatch import normalise_text, token_jaccard
from data_synth.artifact import load_artifact, read_jsonl
from data_synth.backend import LLMRequest
from data_synth.client import LLMClient
from data_synth.pipeline import SynthIncomplete, synthesise
from data_synth.schemas import RelevanceLabel, negatives_schema, profile_schema
from data_synth.settings import SynthConfig
from data_synth.simulated import SimulatedBackend

SETTINGS = dict(
    n_brainstorms=4,
    projects_per_brainstorm=3,
    tasks_per_project=4,
    n_labels=120,
    label_pool_encoder="tfidf",
    eureka_generations=1,
    eureka_candidates=1,
)


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return build_demo(
        seed=3, n_employees=150, n_projects=12, n_eval_tasks=20, n_train_tasks=40, judged_pairs=160
    )


def make_client(dataset: Dataset, cache: Path, **kwargs) -> LLMClient:
    backend = SimulatedBackend(dataset, seed=0, label_fpr=0.1, label_fnr=0.2)
    return LLMClient(backend, cache_dir=cache / "llm", concurrency=16, progress=False, **kwargs)


def run_synth(dataset: Dataset, cache: Path, **kwargs) -> tuple[Path, LLMClient]:
    client = make_client(dataset, cache, **{k: v for k, v in kwargs.items() if k in ("budget_usd", "prices")})
    settings = SynthConfig(
        **{**SETTINGS, **{k: v for k, v in kwargs.items() if k not in ("budget_usd", "prices")}}
    )
    try:
        return synthesise(dataset, client, settings, cache), client
    finally:
        client.close()


@pytest.fixture(scope="module")
def artifact(demo: Dataset, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, LLMClient, Path]:
    cache = tmp_path_factory.mktemp("synth")
    directory, client = run_synth(demo, cache)
    return directory, client, cache


def test_every_stage_but_eureka_writes_the_agreed_format(demo: Dataset, artifact) -> None:
    directory, client, _ = artifact
    art = load_artifact(directory)
    manifest = art.manifest
    assert manifest["complete"] is True and manifest["backend"] == "simulated"
    assert manifest["model"] == client.backend.model and manifest["dataset_hash"] == demo.hash
    assert set(manifest["prompt_versions"]) == {
        "projects",
        "tasks",
        "curriculum",
        "label_base",
        "eureka_review",
        "negatives",
    }
    for key in ("calls", "cache_hits", "tokens", "cost_usd", "dropped_leakage", "stages", "created"):
        assert key in manifest
    assert manifest["calls"] == client.usage.calls > 0
    # tasks: s{n} ids, unique, none copies an evaluation task
    ids = [t.id for t in art.tasks]
    assert ids and len(set(ids)) == len(ids) and all(re.fullmatch(r"s\d+", i) for i in ids)
    eval_texts = {normalise_text(t.task) for t in demo.tasks}
    assert not any(normalise_text(t.task) in eval_texts for t in art.tasks)
    # curriculums: one per task, the dataset's aspect names
    assert set(art.curriculums) == set(ids)
    assert all(list(c) == demo.aspects for c in art.curriculums.values())
    # labels: valid ids, 0/1, both sources, the base prompt's id
    employees = set(demo.employee_ids)
    assert len(art.labels) == SETTINGS["n_labels"]
    assert len({(r["task_id"], r["employee_id"]) for r in art.labels}) == len(art.labels)
    for row in art.labels:
        assert set(row) == {"task_id", "employee_id", "label", "source", "prompt"}
        assert row["task_id"] in set(ids) and row["employee_id"] in employees and row["label"] in (0, 1)
    sources = [r["source"] for r in art.labels]
    assert 0.35 < sources.count("top20") / len(sources) < 0.65  # paper: 1/2 from the top 20
    # negatives: four per task, levels 1..4
    assert set(art.negatives) == set(ids)
    assert all([r["level"] for r in rows] == [1, 2, 3, 4] for rows in art.negatives.values())
    assert all(list(r["aspects"]) == demo.aspects for rows in art.negatives.values() for r in rows)
    # Eureka: skipped with the reason, no history file
    assert manifest["stages"]["eureka"]["skipped"] is True
    assert "nothing to optimise" in manifest["stages"]["eureka"]["reason"]
    assert not (directory / "eureka.jsonl").exists() and art.eureka == []


def test_negatives_get_less_similar_with_lower_level(artifact) -> None:
    art = load_artifact(artifact[0])
    similarity = {level: [] for level in (1, 2, 3, 4)}
    for task_id, ideal in art.curriculums.items():
        for row in art.negatives[task_id]:
            similarity[row["level"]].append(
                token_jaccard(" ".join(ideal.values()), " ".join(row["aspects"].values()))
            )
    means = [statistics.mean(similarity[level]) for level in (1, 2, 3, 4)]
    assert means == sorted(means) and len(set(means)) == 4, means


def test_second_run_makes_no_new_call(demo: Dataset, artifact) -> None:
    directory, _, cache = artifact
    again, client = run_synth(demo, cache)
    assert again == directory and client.usage.calls == 0
    # an interrupted artifact (no manifest, labels unfinished) is resumed from the call cache
    before = (directory / "labels.jsonl").read_text()
    (directory / "manifest.json").unlink()
    (directory / "progress" / "labels.json").unlink()
    (directory / "labels.jsonl").unlink()
    again, client = run_synth(demo, cache)
    assert client.usage.calls == 0 and client.usage.cache_hits == SETTINGS["n_labels"]
    assert (directory / "labels.jsonl").read_text() == before
    assert load_artifact(directory).manifest["complete"] is True


def test_simulated_labels_respect_the_error_rates(demo: Dataset) -> None:
    backend = SimulatedBackend(demo, seed=1, label_fpr=0.1, label_fnr=0.25)
    truth, said = [], []

    async def ask_all() -> None:
        for task in [*demo.tasks, *demo.train_tasks]:
            for employee in demo.employee_ids:
                payload = {
                    "project": task.project,
                    "task": task.task,
                    "employee_id": employee,
                    "prompt_id": "p",
                }
                reply = await backend.ask(LLMRequest("label", [], RelevanceLabel, payload))
                truth.append(demo.truth.relevance.get(task.id, {}).get(employee, 0) > 0)
                said.append(reply.parsed.label)

    asyncio.run(ask_all())
    positives = sum(truth)
    fpr = sum(1 for t, s in zip(truth, said, strict=True) if not t and s == 1) / (len(truth) - positives)
    fnr = sum(1 for t, s in zip(truth, said, strict=True) if t and s == 0) / positives
    negatives = len(truth) - positives
    assert positives > 100
    # within 3 binomial standard deviations of the set rates
    assert abs(fpr - 0.1) < 3 * (0.1 * 0.9 / negatives) ** 0.5, fpr
    assert abs(fnr - 0.25) < 3 * (0.25 * 0.75 / positives) ** 0.5, fnr
    task, employee = demo.train_tasks[-1], demo.employee_ids[-1]
    payload = {"project": task.project, "task": task.task, "employee_id": employee, "prompt_id": "other"}
    again = asyncio.run(backend.ask(LLMRequest("label", [], RelevanceLabel, payload)))
    assert again.parsed.label == said[-1]  # seeded per pair: the same pair gets the same label


def test_leakage_guard_drops_a_planted_duplicate(demo: Dataset, tmp_path: Path) -> None:
    seed_a, seed_b = demo.train_tasks[0], demo.train_tasks[1]
    planted = [
        Task("t_copy", "Another project", seed_a.task.upper() + "!!"),  # equal after normalisation
        Task("t_near", "Another project", seed_b.task.replace(".", "") + " today"),  # near copy
    ]
    leaky = dataclasses.replace(demo, tasks=[*demo.tasks, *planted])
    directory, _ = run_synth(
        leaky,
        tmp_path,
        stages=["projects", "tasks"],
        n_brainstorms=12,
        projects_per_brainstorm=4,
        tasks_per_project=10,
    )
    art = load_artifact(directory)
    texts = {normalise_text(t.task) for t in art.tasks}
    assert normalise_text(seed_a.task) not in texts and normalise_text(seed_b.task) not in texts
    assert art.manifest["dropped_leakage"] == 2
    assert art.manifest["stages"]["tasks"]["dropped_leakage"] == 2
    clean, _ = run_synth(
        demo,
        tmp_path,
        stages=["projects", "tasks"],
        n_brainstorms=12,
        projects_per_brainstorm=4,
        tasks_per_project=10,
    )
    assert len(load_artifact(clean).tasks) == len(art.tasks) + 2


def test_budget_stop_writes_a_valid_partial_artifact_and_rerun_completes(
    demo: Dataset, artifact, tmp_path: Path
) -> None:
    reference = load_artifact(artifact[0])
    stages = reference.manifest["stages"]
    model = SimulatedBackend(demo, seed=0, label_fpr=0.1, label_fnr=0.2).model
    prices = {model: {"input_per_1m": 1.0, "output_per_1m": 1.0}}
    # enough for projects and tasks and about half of the curriculums ($1 per 1M tokens)
    stage_costs = [
        stages[s]["prompt_tokens"] + stages[s]["completion_tokens"]
        for s in ("projects", "tasks", "curriculums")
    ]
    budget = (stage_costs[0] + stage_costs[1] + stage_costs[2] / 2) / 1e6
    with pytest.raises(SynthIncomplete, match="larger budget"):
        run_synth(demo, tmp_path, budget_usd=budget, prices=prices)
    directory = next((tmp_path / "synth").iterdir())
    assert directory.name == reference.path.name  # the budget is not part of the key
    partial = load_artifact(directory)
    assert partial.manifest["complete"] is False and "budget" in partial.manifest["stopped"]
    assert partial.manifest["stages_done"] == ["projects", "tasks"]
    assert 0 < len(partial.curriculums) < len(reference.curriculums)
    assert not (directory / "labels.jsonl").exists()
    spent_first = partial.manifest["stages"]["curriculums"]["calls"]
    # rerun with a larger budget: finishes, pays only for the calls not made before
    done, client = run_synth(demo, tmp_path, budget_usd=10.0, prices=prices)
    final = load_artifact(done)
    assert final.manifest["complete"] is True
    assert client.usage.cache_hits >= spent_first
    assert final.manifest["stages"]["curriculums"]["calls"] == stages["curriculums"]["calls"]
    for name in ("tasks.jsonl", "curriculums.jsonl", "labels.jsonl", "negatives.jsonl"):
        assert read_jsonl(done / name) == read_jsonl(reference.path / name), name


def test_simulated_backend_excerpts_profiles_when_truth_is_relevance_only() -> None:
    employees = [
        Employee("15-1252.00", {"role": "Writes software. Tests it; ships it."}),
        Employee("15-1251.00", {"role": "Programs computers."}),
        Employee("29-1141.00", {"role": "Nurses patients."}),
    ]
    tasks = [Task("t1", "P", "write the parser")]
    onet_like = Dataset(
        "onet",
        employees,
        tasks,
        {"t1": {"15-1252.00": 2}},
        train_tasks=[Task("s1", "P", "fix it")],
        truth=GroundTruth(relevance={"t1": {"15-1252.00": 2}}),
    )
    backend = SimulatedBackend(onet_like, label_fpr=0.0, label_fnr=0.0)
    assert (
        backend.excerpts
        and backend.cannot_serve("curriculum") is None
        and backend.cannot_serve("negatives") is None
    )
    payload = {"project": "P", "task": "write the parser", "aspects": ["role"]}
    reply = asyncio.run(backend.ask(LLMRequest("curriculum", [], profile_schema(("role",)), payload)))
    owner_sentences = {"Writes software.", "Tests it;", "ships it."}
    kept = [s for s in owner_sentences if s in reply.parsed.model_dump(by_alias=True)["role"]]
    assert len(kept) >= 2  # ~70% of the owner's sentences (plus, sometimes, one distractor sentence)
    negatives = asyncio.run(
        backend.ask(LLMRequest("negatives", [], negatives_schema(("role",)), payload))
    ).parsed
    assert (
        negatives.most_similar.model_dump(by_alias=True)["role"] == "Programs computers."
    )  # same broad occupation
    assert (
        negatives.least_similar.model_dump(by_alias=True)["role"] == "Nurses patients."
    )  # another major group
    again = asyncio.run(backend.ask(LLMRequest("curriculum", [], profile_schema(("role",)), payload)))
    assert again.raw == reply.raw  # seeded per request


def test_excerpt_and_soc_levels() -> None:
    import random

    from data_synth.simulated_excerpts import excerpt, negative_employees, sentences, soc_closeness

    assert sentences("A b. C d; e!  F") == ["A b.", "C d;", "e!", "F"]
    out = excerpt({"role": "One. Two. Three. Four."}, ["role", "goals"], random.Random(0))
    assert len(sentences(out["role"])) == 3 and set(sentences(out["role"])) <= {
        "One.",
        "Two.",
        "Three.",
        "Four.",
    }
    assert out["goals"] == "Not stated."
    assert [
        soc_closeness("15-1252.00", b)
        for b in ("15-1252.01", "15-1251.00", "15-1211.00", "15-2031.00", "29-1141.00", "x")
    ] == [3, 3, 2, 1, 0, 0]
    ids = ["15-1252.00", "15-1251.00", "15-1299.08", "15-2031.00", "29-1141.00"]
    ds = Dataset("onet", [Employee(i, {"role": i}) for i in ids], [], {})
    levels = negative_employees(ds, {"15-1252.00": 2}, "15-1252.00", random.Random(0))
    assert levels == {4: "15-1251.00", 3: "15-1299.08", 2: "15-2031.00", 1: "29-1141.00"}
    # a level without candidates falls back to the nearest easier one
    sparse = Dataset("onet", [Employee(i, {"role": i}) for i in ("15-1252.00", "29-1141.00")], [], {})
    assert set(negative_employees(sparse, {"15-1252.00": 2}, "15-1252.00", random.Random(0)).values()) == {
        "29-1141.00"
    }
    with pytest.raises(ValueError, match="every employee is relevant"):
        negative_employees(sparse, {"15-1252.00": 2, "29-1141.00": 1}, "15-1252.00", random.Random(0))


def test_simulated_backend_says_which_stage_it_cannot_serve(tmp_path: Path) -> None:
    employees = [Employee("e1", {"role": "welder"}), Employee("e2", {"role": "buyer"})]
    tasks = [Task("t1", "P", "weld the frame")]
    no_relevance = Dataset(
        "custom",
        employees,
        tasks,
        {"t1": {"e1": 2}},
        train_tasks=[Task("s1", "P", "weld it")],
        truth=GroundTruth(),
    )
    backend = SimulatedBackend(no_relevance, label_fpr=0.0, label_fnr=0.0)
    assert "cannot serve stage 'label' for data=custom" in backend.cannot_serve("label")
    assert "cannot serve stage 'curriculum'" in backend.cannot_serve("curriculum")
    request = LLMRequest(
        "curriculum",
        [],
        profile_schema(("role",)),
        {"project": "P", "task": "weld the frame", "aspects": ["role"]},
    )
    with pytest.raises(TeamformError, match="cannot serve stage 'curriculum' for data=custom"):
        asyncio.run(backend.ask(request))
    with pytest.raises(TeamformError, match="nothing for Eureka to optimise"):
        asyncio.run(backend.ask(LLMRequest("eureka_review", [], RelevanceLabel, {})))
    # a run asking for a stage it cannot serve fails before touching a finished artifact
    cache = tmp_path
    directory, _ = run_synth(no_relevance, cache, stages=["projects", "tasks"])
    assert load_artifact(directory).manifest["complete"] is True
    with pytest.raises(TeamformError, match="cannot serve stage 'curriculum' for data=custom"):
        run_synth(no_relevance, cache)
    assert load_artifact(directory).manifest["complete"] is True
    no_truth = dataclasses.replace(no_relevance, truth=None)
    with pytest.raises(TeamformError, match="has none"):
        SimulatedBackend(no_truth)


def test_manifest_is_written_last_and_counts_match_files(artifact) -> None:
    directory = artifact[0]
    manifest = json.loads((directory / "manifest.json").read_text())
    mtime = (directory / "manifest.json").stat().st_mtime
    for name in ("tasks.jsonl", "curriculums.jsonl", "labels.jsonl", "negatives.jsonl"):
        assert (directory / name).stat().st_mtime <= mtime
    counts = manifest["counts"]
    assert counts["tasks"] == len(read_jsonl(directory / "tasks.jsonl"))
    assert counts["labels"] == len(read_jsonl(directory / "labels.jsonl"))
    assert counts["negatives"] == len(read_jsonl(directory / "negatives.jsonl"))
