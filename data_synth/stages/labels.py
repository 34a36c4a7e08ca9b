"""Stage 4: chain-of-thought relevance labels of (synthetic task, real employee) pairs.

Drummond and Veloso (2024), section 4.2: tasks are sampled at random; the employee comes
with probability 1/2 from the base encoder's top 20 for the task (``source = "top20"``) and
otherwise uniformly from all employees (``source = "uniform"``). Each pair is labelled by the
labelling prompt (the hand-written base prompt, or the best Eureka prompt when Eureka ran), which
weighs strengths and weaknesses and ends with 0 or 1. Output: ``labels.jsonl`` with ``task_id``,
``employee_id``, ``label``, ``source``, ``prompt`` (the prompt id).
"""

from __future__ import annotations

import random

from bench.core.errors import TeamformError
from bench.core.io import write_jsonl
from data_synth.label_pool import top_k_pool
from data_synth.prompts import base_label_prompt, prompt_id, render_label_prompt
from data_synth.schemas import RelevanceLabel
from data_synth.stages.common import StageContext, load_done, usage_delta, usage_snapshot

NAME = "labels"
MAX_TRIES = 20


def sample_pairs(
    task_ids: list[str],
    employee_ids: list[str],
    pool: dict[str, list[str]],
    n: int,
    top_share: float,
    rng: random.Random,
) -> list[tuple[str, str, str]]:
    """``n`` distinct ``(task_id, employee_id, source)`` pairs (fewer if not that many exist).

    A task is drawn uniformly; with probability ``top_share`` the employee is drawn from the
    task's ``pool`` (source ``top20``), otherwise from all employees (``uniform``). A pair drawn
    twice is drawn again (at most :data:`MAX_TRIES` times in a row).

    Example:
        >>> pairs = sample_pairs(["t1"], ["a", "b", "c"], {"t1": ["a"]}, 2, 1.0, random.Random(0))
        >>> pairs[0], len(pairs)
        (('t1', 'a', 'top20'), 1)
    """
    n = min(n, len(task_ids) * len(employee_ids))
    pairs: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str]] = set()
    misses = 0
    while len(pairs) < n and misses < MAX_TRIES:
        task = rng.choice(task_ids)
        from_pool = rng.random() < top_share and pool.get(task)
        employee = rng.choice(pool[task]) if from_pool else rng.choice(employee_ids)
        if (task, employee) in seen:
            misses += 1
            continue
        misses = 0
        seen.add((task, employee))
        pairs.append((task, employee, "top20" if from_pool else "uniform"))
    return pairs


def best_eureka_prompt(ctx: StageContext) -> str | None:
    """The best prompt of the last Eureka generation, when Eureka finished."""
    if load_done(ctx, "eureka") is None or load_done(ctx, "eureka").get("skipped"):
        return None
    rows = [r for r in ctx.rows("eureka.jsonl") if r.get("best")]
    return max(rows, key=lambda r: r["generation"])["prompt"] if rows else None


def labelling_prompt(ctx: StageContext) -> str:
    """The prompt ``synth.label_prompt`` selects (``auto``: Eureka's best if any, else the base)."""
    choice = ctx.settings.label_prompt
    if choice == "base":
        return base_label_prompt()
    best = best_eureka_prompt(ctx)
    if best is None and choice == "eureka":
        raise TeamformError(
            "synth.label_prompt=eureka needs a finished Eureka stage; add eureka to synth.stages with a real "
            "LLM backend, or set synth.label_prompt=auto|base"
        )
    return best or base_label_prompt()


def is_current(ctx: StageContext, done: dict) -> bool:
    """A finished labels stage is stale when the labelling prompt changed since (Eureka ran)."""
    return done.get("prompt") == prompt_id(labelling_prompt(ctx))


def run(ctx: StageContext) -> dict:
    """Sample and label pairs; returns the stage's counts."""
    before = usage_snapshot(ctx.client)
    tasks = ctx.tasks()
    if not tasks:
        raise TeamformError(
            f"stage 'labels' found no tasks in {ctx.path('tasks.jsonl')}; add tasks to synth.stages"
        )
    settings, dataset = ctx.settings, ctx.dataset
    profiles = dataset.concat_texts()
    encoder = ctx.encoder() if (settings.label_pool_encoder == "base" and ctx.encoder is not None) else None
    if settings.label_pool_encoder == "base" and encoder is None:
        ctx.notes.append("labels: no base encoder given, the top-k pool was ranked by TF-IDF")
    pool = top_k_pool({t.id: t.query for t in tasks}, profiles, settings.label_top_k, encoder)
    pairs = sample_pairs(
        [t.id for t in tasks],
        dataset.employee_ids,
        pool,
        settings.n_labels,
        settings.label_top_share,
        ctx.rng("labels"),
    )
    template = labelling_prompt(ctx)
    pid = prompt_id(template)
    by_id = {t.id: t for t in tasks}
    requests = []
    for task_id, employee_id, _ in pairs:
        task = by_id[task_id]
        prompt = render_label_prompt(template, ctx.context, task.project, task.task, profiles[employee_id])
        payload = {"project": task.project, "task": task.task, "employee_id": employee_id, "prompt_id": pid}
        requests.append(
            ctx.request(
                "label",
                prompt,
                RelevanceLabel,
                payload,
                temperature=settings.label_temperature,
                seed=settings.seed,
            )
        )
    replies = ctx.ask_all(requests, desc="labels")
    rows = [
        {"task_id": t, "employee_id": e, "label": int(reply.parsed.label), "source": source, "prompt": pid}
        for (t, e, source), reply in zip(pairs, replies, strict=True)
        if reply is not None
    ]
    write_jsonl(ctx.path("labels.jsonl"), rows)
    positives = sum(r["label"] for r in rows)
    return {
        "count": len(rows),
        "requested": len(requests),
        "positives": positives,
        "top20": sum(1 for r in rows if r["source"] == "top20"),
        "prompt": pid,
        "pool_encoder": "tfidf" if encoder is None else settings.label_pool_encoder,
        "unanswered": len(requests) - len(rows),
        **usage_delta(before, ctx.client),
    }
