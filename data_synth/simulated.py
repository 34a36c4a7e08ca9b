"""``llm=simulated``: an offline stand-in for the LLM that answers from the dataset's hidden truth.

The simulated backend implements :class:`data_synth.backend.Backend` without any model. It reads
only ``request.payload`` (ids and the texts the pipeline generated earlier) and
``request.schema`` (the reply type), never the prompt, and answers each stage from
:class:`bench.core.dataset.GroundTruth`:

- ``projects`` / ``tasks``: the dataset's seed tasks (``train_tasks``), whose hidden needs and
  relevance are known: brainstorm ``i`` returns a round-robin slice of the seed projects; a project
  gets its seed tasks;
- ``curriculum``: the ideal profile rendered from the task's needed skills with paraphrase noise
  (:mod:`data_synth.simulated_profiles`), one section per aspect of the data;
- ``label``: the hidden relevance (grade > 0 is 1), flipped with probability ``label_fpr`` on
  non-relevant and ``label_fnr`` on relevant pairs, from a random draw seeded per (task, employee),
  so the same pair gets the same label in every run;
- ``negatives``: four profiles with controlled overlap with the needed skills (level 4 most
  similar, 1 least);
- ``eureka_review``: not served. Its labels have fixed error rates whatever the prompt says, so a
  prompt search has nothing to optimise; the pipeline records Eureka as skipped.

For ``data=onet`` (relevance known, no skill taxonomy) curriculums and negatives are excerpts of
real profiles instead (:mod:`data_synth.simulated_excerpts`): the ideal profile from an owner of
the task, negatives from non-relevant employees at decreasing closeness in the O*NET-SOC
hierarchy. For a stage it cannot serve it raises :class:`bench.core.errors.TeamformError` saying so.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pydantic

from bench.core.dataset import Dataset, Task
from bench.core.errors import ConfigError, TeamformError
from bench.data.textmatch import normalise_text
from data_synth.backend import LLMReply, LLMRequest
from data_synth.schemas import NEGATIVE_FIELDS, NEGATIVE_LEVELS
from data_synth.simulated_excerpts import excerpt, negative_employees, owner
from data_synth.simulated_profiles import SkillBook, Style, negative_plan, render_profile


class SimulatedBackend:
    """Answers synthesis requests from hidden ground truth, with configurable error rates.

    Args:
        dataset: the dataset being synthesised for; must carry ``truth`` (``data=demo``, ``data=onet``).
        seed: seeds every random choice (with the request's ids).
        label_fpr: probability that a non-relevant pair is labelled 1.
        label_fnr: probability that a relevant pair is labelled 0.
        paraphrase_noise: probability that a skill is worded by a paraphrase instead of its label.
        distractor_rate: probability that a profile also mentions an unrelated skill.
        tokens_per_char: tokens reported per character of prompt and reply (so a price table and
            budget can be exercised offline; the default 0.25 is the usual 4 characters a token).

    Example:
        >>> # backend = SimulatedBackend(load_dataset(cfg.data), label_fpr=0.1, label_fnr=0.2)
        >>> # backend.model  -> 'simulated-v2(seed=0,fpr=0.1,fnr=0.2,noise=0.3,distract=0.2)'
    """

    name = "simulated"

    def __init__(
        self,
        dataset: Dataset,
        seed: int = 0,
        label_fpr: float = 0.1,
        label_fnr: float = 0.15,
        paraphrase_noise: float = 0.3,
        distractor_rate: float = 0.2,
        tokens_per_char: float = 0.25,
    ) -> None:
        for key, value in (
            ("label_fpr", label_fpr),
            ("label_fnr", label_fnr),
            ("paraphrase_noise", paraphrase_noise),
            ("distractor_rate", distractor_rate),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"llm.{key}={value} must be a probability in [0, 1]")
        if dataset.truth is None:
            raise TeamformError(
                f"llm=simulated answers from a dataset's hidden ground truth, and data={dataset.name} "
                "has none; use a real LLM backend (llm=openai, llm=openai_compatible or llm=local)"
            )
        self.dataset, self.truth = dataset, dataset.truth
        self.seed = int(seed)
        self.fpr, self.fnr = float(label_fpr), float(label_fnr)
        self.noise, self.distractor_rate = float(paraphrase_noise), float(distractor_rate)
        self.tokens_per_char = float(tokens_per_char)
        self.model = (
            f"simulated-v2(seed={self.seed},fpr={self.fpr:g},fnr={self.fnr:g},"
            f"noise={self.noise:g},distract={self.distractor_rate:g},data={dataset.hash})"
        )  # its answers come from this dataset's truth: the call cache must not mix datasets
        self.book = SkillBook(self.truth.skills) if self.truth.skills else None
        self._task_ids: dict[str, str] = {}
        for task in [*dataset.tasks, *dataset.train_tasks]:
            self._task_ids.setdefault(self._task_key(task.project, task.task), task.id)
        self._seed_projects: dict[str, list[Task]] = {}
        for task in dataset.train_tasks:
            self._seed_projects.setdefault(task.project, []).append(task)
        self._project_order = sorted(self._seed_projects)
        random.Random(f"{self.seed}:projects").shuffle(self._project_order)
        self._aspects = {e.id: e.aspects for e in dataset.employees}

    @property
    def excerpts(self) -> bool:
        """Whether profiles are excerpts of real ones (relevance-only truth, e.g. ``data=onet``)."""
        return (self.book is None or not self.truth.task_needs) and bool(self.truth.relevance)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _task_key(project: str, task: str) -> str:
        return normalise_text(project) + " || " + normalise_text(task)

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def _cannot(self, stage: str, why: str) -> TeamformError:
        return TeamformError(
            f"the simulated LLM backend cannot serve stage {stage!r} for data={self.dataset.name}: {why}; "
            "choose other stages with synth.stages=[...] or use a real LLM (llm=openai, llm=local)"
        )

    def _truth_task(self, stage: str, payload: dict[str, Any]) -> str:
        """The id of the dataset task the payload's (project, task) text names."""
        try:
            key = self._task_key(payload["project"], payload["task"])
        except KeyError as missing:
            raise ConfigError(
                f"simulated backend: stage {stage!r} request has no payload key {missing}"
            ) from None
        task_id = self._task_ids.get(key)
        if task_id is None:
            raise self._cannot(
                stage, "the task is not one of the dataset's tasks, so its hidden truth is unknown"
            )
        return task_id

    def _needed(self, stage: str, payload: dict[str, Any]) -> list[str]:
        if self.book is None or not self.truth.task_needs:
            raise self._cannot(
                stage, "the dataset's ground truth has relevance only, no skills to write profiles from"
            )
        needed = [
            s
            for s in self.truth.task_needs.get(self._truth_task(stage, payload), [])
            if s in self.book.skills
        ]
        if not needed:
            raise self._cannot(stage, "the task has no hidden needed skills")
        return needed

    # ------------------------------------------------------------------ stages
    def _projects(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self._project_order:
            raise self._cannot(
                "projects", "the dataset has no seed tasks (train_tasks) to take projects from"
            )
        n, i = int(payload["n_projects"]), int(payload["brainstorm"])
        order = self._project_order
        picked = [order[(i * n + j) % len(order)] for j in range(min(n, len(order)))]
        return {"projects": picked}

    def _tasks(self, payload: dict[str, Any]) -> dict[str, Any]:
        project = payload["project"]
        seeds = list(self._seed_projects.get(project, []))
        self._rng("tasks", project).shuffle(seeds)
        return {"project": project, "tasks": [t.task for t in seeds[: int(payload["n_tasks"])]]}

    def _ideal(self, payload: dict[str, Any]) -> tuple[list[str], list[str], Style]:
        """The needed skills, goals and style of the task's ideal profile (drawn per task)."""
        needed = self._needed("curriculum", payload)
        rng = self._rng("ideal", payload["project"], payload["task"])
        return needed, self.book.siblings(needed, 1, rng), Style.draw(rng)

    def _relevant(self, stage: str, payload: dict[str, Any]) -> dict[str, int]:
        grades = {
            e: g for e, g in self.truth.relevance.get(self._truth_task(stage, payload), {}).items() if g > 0
        }
        if not grades:
            raise self._cannot(stage, "the task has no relevant employee to write an ideal profile from")
        return grades

    def _excerpt_curriculum(self, payload: dict[str, Any]) -> dict[str, Any]:
        grades = self._relevant("curriculum", payload)
        rng = self._rng("curriculum", payload["project"], payload["task"])
        source = owner(grades, rng)
        distractor = None
        if rng.random() < self.distractor_rate:
            distractor = self._aspects[rng.choice(sorted(e for e in self._aspects if e not in grades))]
        return excerpt(self._aspects[source], payload["aspects"], rng, distractor)

    def _excerpt_negatives(self, payload: dict[str, Any]) -> dict[str, Any]:
        grades = self._relevant("negatives", payload)
        anchor = owner(
            grades, self._rng("curriculum", payload["project"], payload["task"])
        )  # the ideal profile's owner
        rng = self._rng("negatives", payload["project"], payload["task"])
        try:
            chosen = negative_employees(self.dataset, grades, anchor, rng)
        except ValueError as error:
            raise self._cannot("negatives", str(error)) from None
        return {
            field: excerpt(self._aspects[chosen[NEGATIVE_LEVELS[field]]], payload["aspects"], rng)
            for field in NEGATIVE_FIELDS
        }

    def _curriculum(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.excerpts:
            return self._excerpt_curriculum(payload)
        needed, goals, style = self._ideal(payload)
        rng = self._rng("curriculum", payload["project"], payload["task"])
        return render_profile(
            self.book, needed, goals, payload["aspects"], rng, self.noise, self.distractor_rate, style
        )

    def _label(self, payload: dict[str, Any]) -> dict[str, Any]:
        task_id = self._truth_task("label", payload)
        employee = payload["employee_id"]
        grade = self.truth.relevance.get(task_id, {}).get(employee, 0)
        draw = self._rng("label", task_id, employee).random()
        relevant = grade > 0
        label = int(relevant) if draw >= (self.fnr if relevant else self.fpr) else int(not relevant)
        reasoning = (
            "Simulated annotator: judged from the employee's hidden competences against the task's needs."
        )
        return {"reasoning": reasoning, "label": label}

    def _negatives(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.excerpts:
            return self._excerpt_negatives(payload)
        needed, ideal_goals, ideal_style = self._ideal(payload)
        out = {}
        for field in NEGATIVE_FIELDS:
            level = NEGATIVE_LEVELS[field]
            rng = self._rng("negatives", payload["project"], payload["task"], level)
            competences, goals, style = negative_plan(self.book, needed, ideal_goals, ideal_style, level, rng)
            out[field] = render_profile(
                self.book,
                competences,
                goals,
                payload["aspects"],
                rng,
                self.noise,
                self.distractor_rate,
                style,
            )
        return out

    def cannot_serve(self, stage: str) -> str | None:
        """Why this backend cannot serve request ``stage`` for its dataset (``None``: it can).

        The pipeline asks before it starts, so a run fails at once with the reason instead of
        after the stages that can be served.
        """
        if stage in ("projects", "tasks") and not self._project_order:
            return self._cannot(
                stage, "the dataset has no seed tasks (train_tasks) to take projects from"
            ).args[0]
        if (
            stage in ("curriculum", "negatives")
            and (self.book is None or not self.truth.task_needs)
            and not self.excerpts
        ):
            return self._cannot(
                stage, "the dataset's ground truth has neither skills nor relevance to write profiles from"
            ).args[0]
        if stage == "label" and not self.truth.relevance:
            return self._cannot(stage, "the dataset's ground truth has no relevance").args[0]
        return None

    # ------------------------------------------------------------------ protocol
    async def ask(self, request: LLMRequest) -> LLMReply:
        """Answer one request from the hidden truth (see the module docstring)."""
        handlers = {
            "projects": self._projects,
            "tasks": self._tasks,
            "curriculum": self._curriculum,
            "label": self._label,
            "negatives": self._negatives,
        }
        handler = handlers.get(request.stage)
        if handler is None:
            raise self._cannot(
                request.stage,
                (
                    "its labels have fixed error rates whatever the prompt says, "
                    "so there is nothing for Eureka to optimise"
                )
                if request.stage == "eureka_review"
                else "unknown stage",
            )
        answer = handler(request.payload)
        raw = json.dumps(answer, ensure_ascii=False)
        try:
            parsed = request.schema.model_validate(answer)
        except pydantic.ValidationError as error:  # a schema the simulator does not know
            raise ConfigError(
                f"simulated backend: stage {request.stage!r} reply does not fit its schema: {error}"
            ) from None
        prompt_chars = sum(len(m.get("content", "")) for m in request.messages)
        return LLMReply(
            parsed=parsed,
            raw=raw,
            prompt_tokens=int(prompt_chars * self.tokens_per_char),
            completion_tokens=int(len(raw) * self.tokens_per_char),
        )

    async def aclose(self) -> None:
        """Nothing to release."""
