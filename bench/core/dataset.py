"""The one in-memory dataset type every part of the harness reads.

A dataset is a set of employees (documents made of named text *aspects*), evaluation tasks
(queries), sparse graded relevance labels, optional seed tasks for synthesis and an optional
paragraph about the enterprise. Aspect names come from the data. Simulated and benchmark
datasets may also carry a :class:`GroundTruth` (hidden competences, exhaustive relevance) that the
simulated LLM backend reads; it never takes part in the content hash, so a dataset exported to the
custom format and read back hashes the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Drummond and Veloso (2024), eq. 1 (section 3).
QUERY_TEMPLATE = "Project: {project}. Task: {task}"


@dataclass(frozen=True)
class Employee:
    """One employee: an id, the texts of the aspects the data has for them, and a capacity.

    Missing or empty aspects are simply absent from :attr:`aspects`.

    Attributes:
        id: unique in the dataset; no whitespace (it is a TREC field).
        aspects: ``aspect name -> text``, non-empty texts only.
        capacity: the most tasks this person may take when ``teamform team`` assembles a team
            (0: takes none); ``None`` leaves it to ``team.max_tasks_per_person``. Not an aspect:
            it is never embedded, and it enters the content hash only when set.

    Example:
        >>> Employee("e1", {"role": "Kiln lead"}, capacity=2).capacity
        2
    """

    id: str
    aspects: Mapping[str, str]
    capacity: int | None = None

    def text(self, aspects: Iterable[str], sep: str = "\n") -> str:
        """The concatenation of the given aspects (those the employee has), labelled by name."""
        return sep.join(f"{a}: {self.aspects[a]}" for a in aspects if self.aspects.get(a))


@dataclass(frozen=True)
class Task:
    """One task of a project: the query of the retrieval problem."""

    id: str
    project: str
    task: str

    @property
    def query(self) -> str:
        """``"Project: {project}. Task: {task}"`` (paper eq. 1).

        Example:
            >>> Task("t1", "Kiln retrofit", "Plan the downtime").query
            'Project: Kiln retrofit. Task: Plan the downtime'
        """
        return QUERY_TEMPLATE.format(project=self.project, task=self.task)


def _canonical_employee(employee: Employee) -> list[Any]:
    row: list[Any] = [employee.id, {a: t for a, t in sorted(employee.aspects.items()) if t}]
    if employee.capacity is not None:
        row.append({"capacity": employee.capacity})
    return row


@dataclass
class GroundTruth:
    """Hidden truth of a simulated or benchmark dataset, for the simulated annotator.

    Attributes:
        relevance: exhaustive graded relevance ``task_id -> employee_id -> grade`` (grade > 0
            only; absent pairs are 0) for every evaluation *and* seed task.
        task_needs: ``task_id -> [skill_id, ...]`` the skills a task needs (demo only).
        employee_skills: ``employee_id -> {skill_id: level in (0, 1]}`` (demo only).
        skills: ``skill_id -> {"label", "area", "paraphrases", "description"}`` (demo only).
        seniority: ``employee_id -> seniority name`` (demo only).
    """

    relevance: dict[str, dict[str, int]] = field(default_factory=dict)
    task_needs: dict[str, list[str]] = field(default_factory=dict)
    employee_skills: dict[str, dict[str, float]] = field(default_factory=dict)
    skills: dict[str, dict[str, Any]] = field(default_factory=dict)
    seniority: dict[str, str] = field(default_factory=dict)


@dataclass
class Dataset:
    """Employees, evaluation tasks, labels, seed tasks and context, with a stable hash.

    Attributes:
        name: where it came from (``demo``, ``onet``, ``custom``); not part of the hash.
        employees: in a stable order; ids are unique.
        tasks: evaluation tasks; ids are unique.
        qrels: sparse graded labels ``task_id -> employee_id -> grade`` (0 = judged
            non-relevant). Unlabelled pairs are absent.
        train_tasks: seed tasks for synthesis; never shared with :attr:`tasks`.
        context: a paragraph about the enterprise, put at the head of every prompt.
        aspects: aspect names in the data's order.
        truth: hidden ground truth, when the dataset is simulated or a benchmark.
        notes: human-readable facts about loading (skipped rows, filters), printed by stats.
    """

    name: str
    employees: list[Employee]
    tasks: list[Task]
    qrels: dict[str, dict[str, int]]
    train_tasks: list[Task] = field(default_factory=list)
    context: str = ""
    aspects: list[str] = field(default_factory=list)
    truth: GroundTruth | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.aspects:
            seen: dict[str, None] = {}
            for e in self.employees:
                for a in e.aspects:
                    seen.setdefault(a, None)
            self.aspects = list(seen)

    # ---- look-ups -------------------------------------------------------------------------
    @property
    def employee_ids(self) -> list[str]:
        return [e.id for e in self.employees]

    @property
    def task_by_id(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    def aspect_texts(self, aspect: str) -> dict[str, str]:
        """``employee_id -> text`` for the employees that have a non-empty ``aspect``."""
        return {e.id: e.aspects[aspect] for e in self.employees if e.aspects.get(aspect)}

    def concat_texts(self, aspects: Iterable[str] | None = None) -> dict[str, str]:
        """``employee_id -> all (chosen) aspects joined``, labelled ``"role: ..."`` per line."""
        names = list(self.aspects if aspects is None else aspects)
        return {e.id: e.text(names) for e in self.employees}

    # ---- identity -------------------------------------------------------------------------
    def canonical(self) -> dict[str, Any]:
        """The content that defines the dataset, in a canonical order (what the hash covers).

        An employee is ``[id, {aspect: text}]``, with ``{"capacity": n}`` appended only when the
        capacity is set, so datasets without capacities hash as they did before it existed.
        """
        return {
            "aspects": list(self.aspects),
            "employees": sorted((_canonical_employee(e) for e in self.employees), key=lambda r: r[0]),
            "tasks": sorted([t.id, t.project, t.task] for t in self.tasks),
            # A task with an empty label dict is the same as an unlabelled one.
            "qrels": {t: dict(sorted(d.items())) for t, d in sorted(self.qrels.items()) if d},
            "train_tasks": sorted([t.id, t.project, t.task] for t in self.train_tasks),
            "context": self.context.strip(),
        }

    @property
    def hash(self) -> str:
        """A 16-hex-digit SHA-256 prefix of :meth:`canonical` as compact sorted JSON."""
        blob = json.dumps(self.canonical(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def stats(self) -> dict[str, Any]:
        """Counts for ``teamform data stats`` (numbers only: no employee text)."""
        judged = sum(len(d) for d in self.qrels.values())
        positives = sum(1 for d in self.qrels.values() for g in d.values() if g > 0)
        coverage = {a: len(self.aspect_texts(a)) for a in self.aspects}
        return {
            "dataset": self.name,
            "hash": self.hash,
            "employees": len(self.employees),
            "aspects": len(self.aspects),
            "aspect_coverage": coverage,
            "tasks": len(self.tasks),
            "judged_tasks": sum(1 for d in self.qrels.values() if d),
            "judged_pairs": judged,
            "positives": positives,
            "train_seed_tasks": len(self.train_tasks),
            "context_chars": len(self.context),
        }
