"""Stage 6: multi-granularity negatives (Negative Matters (2025), section 2.1, Figure 2).

For each task and its ideal curriculum, the LLM writes four profiles that are not right for the
task, ordered from the most to the least similar to the ideal one. They are stored with their
level (``docs/synthetic-data.md``): 4 = most similar = hardest, ..., 1 = least similar = easiest.
(``002`` numbers them the other way round, most similar first; the artifact's levels follow the
training curriculum's "easiest first" order instead.) Output: ``negatives.jsonl`` with
``task_id``, ``level``, ``aspects``.
"""

from __future__ import annotations

from bench.core.errors import TeamformError
from bench.core.io import write_jsonl
from data_synth.prompts import aspect_sections, load_template
from data_synth.schemas import NEGATIVE_FIELDS, NEGATIVE_LEVELS, negatives_schema, profile_dict
from data_synth.stages.common import StageContext, usage_delta, usage_snapshot

NAME = "negatives"


def run(ctx: StageContext) -> dict:
    """Write four graded negatives per curriculum; returns the stage's counts."""
    before = usage_snapshot(ctx.client)
    curriculums = {r["task_id"]: r["aspects"] for r in ctx.rows("curriculums.jsonl")}
    if not curriculums:
        raise TeamformError(
            "stage 'negatives' needs the ideal curriculums and found none in "
            f"{ctx.path('curriculums.jsonl')}; add curriculums to synth.stages"
        )
    tasks = [t for t in ctx.tasks() if t.id in curriculums]
    if ctx.settings.n_negatives is not None:
        tasks = tasks[: ctx.settings.n_negatives]
    template, schema = load_template("negatives"), negatives_schema(ctx.aspects)
    sections = aspect_sections(list(ctx.aspects))
    requests = []
    for t in tasks:
        ideal = "\n".join(f"{a}: {text}" for a, text in curriculums[t.id].items())
        prompt = template.render(
            enterprise_context=ctx.context,
            project=t.project,
            task=t.task,
            aspect_sections=sections,
            ideal_profile=ideal,
        )
        payload = {"project": t.project, "task": t.task, "aspects": list(ctx.aspects)}
        requests.append(ctx.request("negatives", prompt, schema, payload, seed=ctx.settings.seed))
    replies = ctx.ask_all(requests, desc="negatives")
    rows, invalid, unanswered = [], 0, 0
    for task, reply in zip(tasks, replies, strict=True):
        if reply is None:
            unanswered += 1
            continue
        for field in NEGATIVE_FIELDS:
            aspects = profile_dict(getattr(reply.parsed, field), ctx.aspects)
            if not aspects:
                invalid += 1
                continue
            rows.append({"task_id": task.id, "level": NEGATIVE_LEVELS[field], "aspects": aspects})
    write_jsonl(ctx.path("negatives.jsonl"), rows)
    return {
        "count": len(rows),
        "tasks": len(tasks) - unanswered,
        "requested": len(requests),
        "dropped_invalid": invalid,
        "unanswered": unanswered,
        **usage_delta(before, ctx.client),
    }
