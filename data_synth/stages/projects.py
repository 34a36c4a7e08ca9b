"""Stage 1: project brainstorm (Drummond and Veloso (2024), section 4.2, Figure 7 left).

``n_brainstorms`` times, the LLM is given the enterprise context and a fresh random sample of
ability phrases taken from the employees' records, and asked for ``projects_per_brainstorm``
projects. Projects are de-duplicated after normalisation. Output: ``projects.jsonl`` with
``id``, ``project``, ``brainstorm``.
"""

from __future__ import annotations

import re

from bench.core.io import write_jsonl
from bench.data.leakage import normalise_text
from data_synth.prompts import load_template
from data_synth.schemas import ProjectList
from data_synth.stages.common import StageContext, usage_delta, usage_snapshot

NAME = "projects"
_SPLIT = re.compile(r"[,;\n]|\.\s")


def ability_phrases(ctx: StageContext) -> list[str]:
    """Distinct short phrases of the abilities aspect (``synth.abilities_aspect``) of all employees."""
    aspect = ctx.settings.abilities_aspect
    if aspect not in ctx.aspects:
        aspect = next(
            (a for a in ctx.aspects if "abilit" in a.lower() or "skill" in a.lower()), ctx.aspects[0]
        )
    seen: dict[str, str] = {}
    for text in ctx.dataset.aspect_texts(aspect).values():
        for part in _SPLIT.split(text):
            phrase = " ".join(part.split()).strip(" .")
            if 2 < len(phrase) <= 80:
                seen.setdefault(normalise_text(phrase), phrase)
    return [seen[k] for k in sorted(seen)]


def run(ctx: StageContext) -> dict:
    """Brainstorm projects; returns the stage's counts."""
    before = usage_snapshot(ctx.client)
    settings, template = ctx.settings, load_template("projects")
    phrases = ability_phrases(ctx)
    requests = []
    for i in range(settings.n_brainstorms):
        sample = ctx.rng("abilities", i).sample(phrases, min(settings.n_abilities, len(phrases)))
        prompt = template.render(
            enterprise_context=ctx.context,
            n_projects=settings.projects_per_brainstorm,
            abilities="\n".join(f"- {p}" for p in sample) or "- (no abilities recorded)",
        )
        payload = {"brainstorm": i, "n_projects": settings.projects_per_brainstorm}
        requests.append(ctx.request("projects", prompt, ProjectList, payload, seed=settings.seed + i))
    replies = ctx.ask_all(requests, desc="projects")
    rows, seen, duplicates, invalid = [], set(), 0, 0
    for i, reply in enumerate(replies):
        if reply is None:
            invalid += 1
            continue
        for name in reply.parsed.projects[: settings.projects_per_brainstorm]:
            name = " ".join(str(name).split()).strip(" -*.")
            key = normalise_text(name)
            if not key:
                continue
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            rows.append({"id": f"p{len(rows) + 1}", "project": name, "brainstorm": i})
    write_jsonl(ctx.path("projects.jsonl"), rows)
    return {
        "count": len(rows),
        "requested": len(requests),
        "duplicates": duplicates,
        "unanswered": invalid,
        **usage_delta(before, ctx.client),
    }
