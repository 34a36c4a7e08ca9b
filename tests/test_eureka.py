"""Eureka (paper Algorithm 1): selection, elitism and history, with a scripted LLM."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from bench.core.dataset import Dataset, Employee, Task
from bench.data.splits import DevSplit
from data_synth.artifact import load_artifact
from data_synth.backend import LLMReply, LLMRequest
from data_synth.client import LLMClient
from data_synth.eureka import Evaluation, classification_metrics, run_eureka
from data_synth.pipeline import synthesise
from data_synth.prompts import base_label_prompt, prompt_id
from data_synth.settings import SynthConfig

INPUTS = "Project: {project_description}\nTask: {task_description}\nRecord: {employee_resume}"
STRICT, LENIENT, PERFECT = (
    f"{word}: judge the employee.\n{INPUTS}" for word in ("STRICT", "LENIENT", "PERFECT")
)
LENIENT_2, STRICT_2 = LENIENT.replace("judge", "rate"), STRICT.replace("judge", "rate")
# What the scripted reviewer proposes in each generation (K = 2).
PROPOSALS = {1: [STRICT, LENIENT], 2: [LENIENT_2, PERFECT], 3: [PERFECT, STRICT_2, LENIENT_2, STRICT]}
HARD = {"e1", "e2"}  # the base prompt misses these employees' relevance (false negatives)


def make_dataset() -> Dataset:
    employees = [Employee(f"e{i}", {"role": f"role {i}", "abilities": f"ability {i}"}) for i in range(10)]
    tasks = [Task(f"t{i}", "Kiln retrofit", f"step {i} of the kiln work") for i in range(4)]
    # 20 judged pairs, 8 relevant; 4 of the relevant ones are employees e1 / e2
    qrels = {
        "t0": {"e1": 1, "e3": 2, "e5": 0, "e6": 0, "e7": 0},
        "t1": {"e2": 1, "e4": 1, "e5": 0, "e6": 0, "e8": 0},
        "t2": {"e1": 2, "e3": 1, "e6": 0, "e7": 0, "e9": 0},
        "t3": {"e2": 1, "e4": 1, "e5": 0, "e8": 0, "e9": 0},
    }
    return Dataset(
        "custom",
        employees,
        tasks,
        qrels,
        train_tasks=[Task("x1", "Warehouse", "count stock")],
        context="A tile maker.",
    )


class ScriptedBackend:
    """Answers every stage from a script; the labeller's quality depends on the prompt's marker."""

    name, model = "scripted", "scripted-1"

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.by_text = {t.task: t.id for t in dataset.tasks}
        self.reviews: list[str] = []

    def label(self, prompt: str, payload: dict) -> int:
        task_id = self.by_text.get(payload["task"])
        truth = int(self.dataset.qrels.get(task_id, {}).get(payload["employee_id"], 0) > 0)
        if prompt.startswith("PERFECT"):
            return truth
        if prompt.startswith("STRICT"):
            return 0
        if prompt.startswith("LENIENT"):
            return 1
        return 0 if payload["employee_id"] in HARD else truth

    async def ask(self, request: LLMRequest) -> LLMReply:
        text, payload = request.messages[-1]["content"], request.payload
        if request.stage == "projects":
            answer = {"projects": ["Warehouse move"]}
        elif request.stage == "tasks":
            answer = {"project": payload["project"], "tasks": ["Plan the racks", "Move the stock"]}
        elif request.stage == "label":
            answer = {"reasoning": "scripted", "label": self.label(text, payload)}
        elif request.stage == "eureka_review":
            self.reviews.append(text)
            answer = {"reasoning": "scripted", "prompts": PROPOSALS[payload["generation"]]}
        else:
            raise AssertionError(f"unexpected stage {request.stage}")
        return LLMReply(parsed=request.schema.model_validate(answer), raw="{}")

    async def aclose(self) -> None:
        pass


def test_metrics_equal_scikit_learn() -> None:
    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 30)
        truth = [rng.randint(0, 1) for _ in range(n)]
        said = [rng.randint(0, 1) for _ in range(n)]
        m = classification_metrics(truth, said)
        assert m["accuracy"] == pytest.approx(accuracy_score(truth, said))
        assert m["precision"] == pytest.approx(precision_score(truth, said, zero_division=0))
        assert m["recall"] == pytest.approx(recall_score(truth, said, zero_division=0))
        assert m["f1"] == pytest.approx(f1_score(truth, said, zero_division=0))
    assert classification_metrics([1, 0], [None, None])["accuracy"] == 0.5  # unanswered = said 0


def scripted_evaluate(scores: dict[str, float]):
    def evaluate(prompts: list[str]) -> list[Evaluation]:
        return [
            Evaluation(p, {"accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": scores[p]}, [0])
            for p in prompts
        ]

    return evaluate


def test_selection_takes_the_best_candidate_and_needs_a_strict_improvement() -> None:
    scores = {"base": 0.5, "a": 0.4, "b": 0.5, "c": 0.7, "d": 0.6, "e": 0.7, "f": 0.9}
    script = {1: ["a", "b"], 2: ["d", "c", "e"], 3: ["base", "c", "f"]}
    seen_best = []

    def propose(best: Evaluation, generation: int, k: int) -> list[str]:
        seen_best.append(best.prompt)
        return script[generation]

    result = run_eureka("base", scripted_evaluate(scores), propose, generations=3, candidates=2)
    # gen 1: b ties the best (0.5) and does not replace it; gen 2: only d, c are evaluated (K = 2),
    # c wins; gen 3: "base" and "c" were evaluated before, so only f is evaluated, and wins.
    assert seen_best == ["base", "base", "c"]
    assert result.best.prompt == "f"
    rows = [(r["generation"], r["prompt"], r["best"], r["elite"]) for r in result.history]
    assert rows == [
        (0, "base", True, False),
        (1, "a", False, False),
        (1, "b", False, False),
        (1, "base", True, True),
        (2, "d", False, False),
        (2, "c", True, False),
        (3, "f", True, False),
    ]


def test_eureka_stage_end_to_end_with_a_scripted_llm(tmp_path: Path) -> None:
    dataset = make_dataset()
    backend = ScriptedBackend(dataset)
    settings = SynthConfig(
        stages=["projects", "tasks", "eureka", "labels"],
        n_brainstorms=1,
        projects_per_brainstorm=1,
        tasks_per_project=2,
        n_labels=6,
        label_pool_encoder="tfidf",
        eureka_generations=3,
        eureka_candidates=2,
        dev_split=DevSplit(0.99),  # every judged task (4 of 4) is a dev task
        eureka_max_dev_pairs=100,
        label_top_k=3,
    )
    with LLMClient(backend, cache_dir=tmp_path / "llm", progress=False) as client:
        directory = synthesise(dataset, client, settings, tmp_path)
    art = load_artifact(directory)
    history = art.eureka
    # generation 0: the base prompt; TP 4, FN 4, FP 0, TN 12
    assert history[0]["prompt"] == base_label_prompt() and history[0]["best"] is True
    assert history[0]["f1"] == pytest.approx(2 / 3) and history[0]["accuracy"] == pytest.approx(16 / 20)
    assert history[0]["precision"] == 1.0 and history[0]["recall"] == 0.5 and history[0]["n_dev"] == 20
    by_generation = {g: [r for r in history if r["generation"] == g] for g in range(4)}
    assert all(sum(r["best"] for r in rows) == 1 for rows in by_generation.values())
    # generation 1: STRICT (F1 0) and LENIENT (F1 = 2 * 0.4 * 1 / 1.4) lose; the base is kept (elitism)
    gen1 = {r["prompt"]: r for r in by_generation[1]}
    assert gen1[STRICT]["f1"] == 0.0 and gen1[LENIENT]["f1"] == pytest.approx(0.8 / 1.4)
    assert gen1[base_label_prompt()]["elite"] is True and gen1[base_label_prompt()]["best"] is True
    # generation 2: PERFECT wins
    assert [r["prompt"] for r in by_generation[2] if r["best"]] == [PERFECT]
    # generation 3: only STRICT_2 is new (PERFECT, LENIENT_2 and STRICT were evaluated before); it
    # loses and PERFECT is kept
    assert [r["prompt"] for r in by_generation[3]] == [STRICT_2, PERFECT]
    assert by_generation[3][-1]["elite"] is True
    # the reviewer saw the best prompt so far, its metrics and the four kinds of example
    assert len(backend.reviews) == 3
    assert "F1 0.667" in backend.reviews[0] and "recall 0.500" in backend.reviews[0]
    assert base_label_prompt().splitlines()[2] in backend.reviews[1]
    assert "false positive):\n(no such case" in backend.reviews[0]  # the base prompt makes no FP
    assert "Model's label: 0" in backend.reviews[0].split("(false negative):")[1]
    assert PERFECT in backend.reviews[2] and "F1 1.000" in backend.reviews[2]
    # the labels stage used the best prompt, and the manifest records the search
    assert {r["prompt"] for r in art.labels} == {prompt_id(PERFECT)}
    eureka = art.manifest["stages"]["eureka"]
    assert eureka["best_prompt"] == prompt_id(PERFECT) and eureka["best_f1"] == 1.0
    assert eureka["dev_task_ids"] == ["t0", "t1", "t2", "t3"] and eureka["dev_pairs"] == 20
    # a rerun makes no new call
    with LLMClient(ScriptedBackend(dataset), cache_dir=tmp_path / "llm", progress=False) as client:
        assert synthesise(dataset, client, settings, tmp_path) == directory
        assert client.usage.calls == 0


def test_eureka_without_dev_tasks_is_skipped_saying_why(tmp_path: Path) -> None:
    """Eureka tunes only on dev tasks (eval.dev_split): with none it calls nothing and says so."""
    dataset = make_dataset()
    settings = SynthConfig(
        stages=["projects", "tasks", "eureka"],
        n_brainstorms=1,
        projects_per_brainstorm=1,
        tasks_per_project=2,
        label_pool_encoder="tfidf",
    )
    with LLMClient(ScriptedBackend(dataset), cache_dir=tmp_path / "llm", progress=False) as client:
        art = load_artifact(synthesise(dataset, client, settings, tmp_path))
    eureka = art.manifest["stages"]["eureka"]
    assert eureka["skipped"] is True and "eval.dev_split.fraction" in eureka["reason"]
    assert art.eureka == []
