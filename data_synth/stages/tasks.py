"""Stage 2: tasks per project (Drummond and Veloso (2024), section 4.2, Figure 7 right).

Each brainstormed project is broken into ``tasks_per_project`` tasks, guided by one
human-written example project (in ``data_synth/prompts/tasks.md``). Tasks are de-duplicated, and
the **leakage guard** drops every task whose text or query equals an evaluation task's after
normalisation, or is a near copy of one (word Jaccard >= ``synth.leakage_threshold``); the drops
are counted in the manifest. Output: ``tasks.jsonl`` with ``id`` (``s1``, ``s2``, ...),
``project``, ``task``.
"""

from __future__ import annotations

from bench.core.dataset import Task
from bench.core.errors import TeamformError
from bench.core.io import write_jsonl
from bench.data.leakage import NearDuplicateIndex, normalise_text
from data_synth.prompts import load_template
from data_synth.schemas import TaskList
from data_synth.stages.common import StageContext, usage_delta, usage_snapshot

NAME = "tasks"


class LeakageGuard:
    """Recognises synthetic tasks that copy an evaluation task (exactly, normalised, or nearly).

    Args:
        eval_tasks: the dataset's evaluation tasks.
        threshold: word-Jaccard at or above which two texts are near copies.

    Example:
        >>> guard = LeakageGuard([Task("t1", "Kiln retrofit", "Plan the kiln downtime")], 0.8)
        >>> (guard.leaks(Task("s1", "Other", "plan the KILN downtime!")),
        ...  guard.leaks(Task("s2", "X", "Audit payroll")))
        (True, False)
    """

    def __init__(self, eval_tasks: list[Task], threshold: float) -> None:
        self.exact = {normalise_text(t.task) for t in eval_tasks} | {
            normalise_text(t.query) for t in eval_tasks
        }
        self.tasks = NearDuplicateIndex([t.task for t in eval_tasks], threshold) if threshold > 0 else None
        self.queries = NearDuplicateIndex([t.query for t in eval_tasks], threshold) if threshold > 0 else None

    def leaks(self, task: Task) -> bool:
        if normalise_text(task.task) in self.exact or normalise_text(task.query) in self.exact:
            return True
        if self.tasks is None:
            return False
        return bool(self.tasks.matches(task.task) or self.queries.matches(task.query))


def run(ctx: StageContext) -> dict:
    """Write the tasks of every project; returns the stage's counts."""
    before = usage_snapshot(ctx.client)
    projects = ctx.rows("projects.jsonl")
    if not projects:
        raise TeamformError(
            f"stage 'tasks' found no projects in {ctx.path('projects.jsonl')}; run the projects stage first "
            "(add projects to synth.stages)"
        )
    settings, template = ctx.settings, load_template("tasks")
    requests = []
    for row in projects:
        prompt = template.render(
            enterprise_context=ctx.context, project=row["project"], n_tasks=settings.tasks_per_project
        )
        payload = {"project": row["project"], "n_tasks": settings.tasks_per_project}
        requests.append(ctx.request("tasks", prompt, TaskList, payload, seed=settings.seed))
    replies = ctx.ask_all(requests, desc="tasks")
    guard = LeakageGuard(ctx.dataset.tasks, settings.leakage_threshold)
    rows, seen = [], set()
    dropped_leakage = duplicates = unanswered = 0
    for row, reply in zip(projects, replies, strict=True):
        if reply is None:
            unanswered += 1
            continue
        for text in reply.parsed.tasks[: settings.tasks_per_project]:
            text = " ".join(str(text).split()).strip(" -*")
            if not text:
                continue
            task = Task(f"s{len(rows) + 1}", row["project"], text)
            key = normalise_text(task.query)
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            if guard.leaks(task):
                dropped_leakage += 1
                continue
            rows.append({"id": task.id, "project": task.project, "task": task.task})
    write_jsonl(ctx.path("tasks.jsonl"), rows)
    return {
        "count": len(rows),
        "requested": len(requests),
        "duplicates": duplicates,
        "dropped_leakage": dropped_leakage,
        "unanswered": unanswered,
        **usage_delta(before, ctx.client),
    }
