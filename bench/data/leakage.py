"""Leakage guard: evaluation tasks that also occur in training seeds or in employee text.

Two kinds of finding, each ``exact`` or ``normalised`` (equal only after
:func:`normalise_text`):

* ``train_eval``: a training seed task whose full query or task text equals an evaluation
  task's (a model trained on it has seen the test question);
* ``eval_in_employee``: an evaluation task text that occurs inside an employee's aspect text
  (the answer is in the document: word overlap alone solves it).

Reports carry ids only, never text (``docs/design.md`` section 7).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bench.core.dataset import Dataset, Task
from bench.data.textmatch import (
    NearDuplicateIndex,
    PhraseIndex,
    near_duplicate,
    normalise_text,
    token_jaccard,
)

__all__ = [
    "KINDS",
    "LeakageFinding",
    "LeakageReport",
    "NearDuplicateIndex",
    "leakage_report",
    "near_duplicate",
    "normalise_text",
    "token_jaccard",
]

KINDS = ("train_eval_exact", "train_eval_normalised", "eval_in_employee_exact", "eval_in_employee_normalised")


@dataclass(frozen=True)
class LeakageFinding:
    """One leak: evaluation task ``task_id`` matches ``other_id`` (a seed task or an employee).

    Attributes:
        kind: ``train_eval`` or ``eval_in_employee``.
        match: ``exact`` or ``normalised``.
        task_id: the evaluation task.
        other_id: the seed task id (``train_eval``) or the employee id (``eval_in_employee``).
        where: ``query`` or ``task text`` (``train_eval``), the aspect name (``eval_in_employee``).
    """

    kind: str
    match: str
    task_id: str
    other_id: str
    where: str

    def line(self) -> str:
        if self.kind == "train_eval":
            return (
                f"seed task {self.other_id!r} duplicates eval task {self.task_id!r} "
                f"({self.match} {self.where})"
            )
        return (
            f"eval task {self.task_id!r} appears in employee {self.other_id!r} "
            f"aspect {self.where!r} ({self.match})"
        )


@dataclass
class LeakageReport:
    """All leakage findings of a dataset."""

    findings: list[LeakageFinding] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.findings)

    def counts(self) -> dict[str, int]:
        """``{kind_match: number of findings}`` for every kind in :data:`KINDS` (zeros included)."""
        counts = dict.fromkeys(KINDS, 0)
        for f in self.findings:
            counts[f"{f.kind}_{f.match}"] += 1
        return counts

    def lines(self, limit: int | None = None) -> list[str]:
        """One line per finding (ids only), at most ``limit`` plus a line counting the rest."""
        shown = self.findings if limit is None else self.findings[:limit]
        out = [f.line() for f in shown]
        if len(shown) < len(self.findings):
            out.append(f"... and {len(self.findings) - len(shown)} more finding(s)")
        return out

    def to_json(self) -> list[dict[str, str]]:
        return [vars(f).copy() for f in self.findings]


def _train_eval(train: list[Task], tasks: list[Task]) -> list[LeakageFinding]:
    """Seed tasks equal to evaluation tasks by query or task text, exactly or normalised."""

    def normalised_query(t: Task) -> str:
        return normalise_text(t.query) if normalise_text(t.task) else ""  # a wordless task matches nothing

    keys = {
        ("exact", "query"): lambda t: t.query,
        ("exact", "task text"): lambda t: t.task,
        ("normalised", "query"): normalised_query,
        ("normalised", "task text"): lambda t: normalise_text(t.task),
    }
    index: dict[tuple[str, str], dict[str, list[str]]] = {}
    for name, key in keys.items():
        table: dict[str, list[str]] = defaultdict(list)
        for t in tasks:
            table[key(t)].append(t.id)
        table.pop("", None)  # texts with no words after normalisation match nothing
        index[name] = table
    findings = []
    for seed in train:
        matched: dict[str, tuple[str, str]] = {}
        for (match, where), key in keys.items():  # strongest kind first: report each pair once
            for task_id in index[(match, where)].get(key(seed), ()):
                matched.setdefault(task_id, (match, where))
        findings += [LeakageFinding("train_eval", m, t, seed.id, w) for t, (m, w) in matched.items()]
    return findings


def _eval_in_employee(dataset: Dataset) -> list[LeakageFinding]:
    """Evaluation task texts that occur (normalised) inside an employee's aspect text."""
    tasks = dataset.tasks
    index = PhraseIndex([t.task for t in tasks])
    findings = []
    for employee in dataset.employees:
        for aspect, text in employee.aspects.items():
            for i in index.find(text):
                match = "exact" if tasks[i].task.strip() in text else "normalised"
                findings.append(LeakageFinding("eval_in_employee", match, tasks[i].id, employee.id, aspect))
    return findings


def leakage_report(dataset: Dataset) -> LeakageReport:
    """Find evaluation tasks leaked into training seeds or employee text.

    Args:
        dataset: any dataset.

    Returns:
        The report; ``report.total == 0`` means no leakage.

    Example:
        >>> from bench.core.dataset import Employee
        >>> ds = Dataset("x", [Employee("e1", {"role": "Plans the kiln downtime."})],
        ...              [Task("t1", "Kiln", "plan the kiln downtime")], {},
        ...              train_tasks=[Task("s1", "kiln", "Plan the kiln downtime!")])
        >>> leakage_report(ds).counts()  # doctest: +NORMALIZE_WHITESPACE
        {'train_eval_exact': 0, 'train_eval_normalised': 1,
         'eval_in_employee_exact': 0, 'eval_in_employee_normalised': 0}
    """
    return LeakageReport(_train_eval(dataset.train_tasks, dataset.tasks) + _eval_in_employee(dataset))
