"""Stage 3: one ideal-employee curriculum per task (Lima (2024, thesis), section 4.3.3).

The prompt gives the enterprise context, the profile sections (the dataset's aspect names) and the
task; the reply has one text per aspect. Output: ``curriculums.jsonl`` with ``task_id`` and
``aspects``. A reply whose sections are all empty is dropped and counted as ``invalid``.
"""

from __future__ import annotations

from bench.core.errors import TeamformError
from bench.core.io import write_jsonl
from data_synth.prompts import aspect_sections, load_template
from data_synth.schemas import profile_dict, profile_schema
from data_synth.stages.common import StageContext, usage_delta, usage_snapshot

NAME = "curriculums"


def run(ctx: StageContext) -> dict:
    """Write one curriculum per synthetic task; returns the stage's counts."""
    before = usage_snapshot(ctx.client)
    tasks = ctx.tasks()
    if not tasks:
        raise TeamformError(
            f"stage 'curriculums' found no tasks in {ctx.path('tasks.jsonl')}; add tasks to synth.stages"
        )
    if ctx.settings.n_curriculums is not None:
        tasks = tasks[: ctx.settings.n_curriculums]
    template, schema = load_template("curriculum"), profile_schema(ctx.aspects)
    sections = aspect_sections(list(ctx.aspects))
    requests = [
        ctx.request(
            "curriculum",
            template.render(
                enterprise_context=ctx.context, project=t.project, task=t.task, aspect_sections=sections
            ),
            schema,
            {"project": t.project, "task": t.task, "aspects": list(ctx.aspects)},
            seed=ctx.settings.seed,
        )
        for t in tasks
    ]
    replies = ctx.ask_all(requests, desc="curriculums")
    rows, invalid = [], 0
    for task, reply in zip(tasks, replies, strict=True):
        aspects = profile_dict(reply.parsed, ctx.aspects) if reply is not None else {}
        if not aspects:
            invalid += 1
            continue
        rows.append({"task_id": task.id, "aspects": aspects})
    write_jsonl(ctx.path("curriculums.jsonl"), rows)
    return {
        "count": len(rows),
        "requested": len(requests),
        "dropped_invalid": invalid,
        **usage_delta(before, ctx.client),
    }
