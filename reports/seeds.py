"""Jobs of a grid swept over seeds or other overrides, as the report's tables show them.

``teamform grid seed=0,1,2`` runs every experiment once per seed: the report merges the jobs that
differ only by their seed into one, whose systems carry the mean over seeds, the standard
deviation (``std``, sample, ``ddof=1``) and per-task values averaged over seeds (what the
significance tests read). Any other override that tells jobs of one experiment apart
(``train.lora.r=8,16``) goes into their row label, so that rows never look the same.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import numpy as np

from reports.grid import Job

IGNORED = ("experiment=", "seed=")


def _seed(job: Job) -> str | None:
    return next((o.split("=", 1)[1] for o in job.overrides if o.startswith("seed=")), None)


def varying_overrides(jobs: list[Job]) -> dict[str, list[str]]:
    """``job id -> overrides`` that not every job of the grid shares (experiment and seed aside)."""
    ok = [j for j in jobs if j.status == "ok"]
    own = {j.id: [o for o in j.overrides if not o.startswith(IGNORED)] for j in ok}
    shared = set.intersection(*(set(v) for v in own.values())) if own else set()
    return {job_id: [o for o in overrides if o not in shared] for job_id, overrides in own.items()}


def merge_systems(systems: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean, std over seeds and seed-averaged per-task values of one system's runs."""
    metrics = sorted(set.intersection(*(set(s["mean"]) for s in systems)))
    values = {m: np.array([s["mean"][m] for s in systems], dtype=float) for m in metrics}
    tasks = sorted(set.intersection(*(set(s.get("per_task", {})) for s in systems)))
    per_task = {
        t: {m: float(np.nanmean([s["per_task"][t].get(m, np.nan) for s in systems])) for m in metrics}
        for t in tasks
    }
    return {
        "mean": {m: float(v.mean()) for m, v in values.items()},
        "std": {m: float(v.std(ddof=1)) for m, v in values.items()},
        "per_task": per_task,
        "n_seeds": len(systems),
    }


def merge_seeds(jobs: list[Job]) -> tuple[list[Job], list[str]]:
    """The jobs with those that differ only by ``seed=`` merged; returns ``(jobs, seeds merged)``.

    Each job's ``study.variant`` is set to its distinguishing overrides (``train.lora.r=8``), empty
    when nothing but the experiment tells it apart.
    """
    variants = varying_overrides(jobs)
    groups: dict[tuple[str, tuple[str, ...]], list[Job]] = defaultdict(list)
    out: list[Job] = []
    for job in jobs:
        if job.status != "ok":
            out.append(job)
            continue
        key = (job.experiment, tuple(sorted(variants.get(job.id, []))))
        groups[key].append(job)
    seeds: set[str] = set()
    for (_, variant), members in groups.items():
        if len(members) == 1 or len({_seed(j) for j in members}) < len(members):
            for job in members:
                job.results.setdefault("study", {})["variant"] = list(variant)
                out.append(job)
            continue
        seeds |= {s for s in (_seed(j) for j in members) if s is not None}
        first = members[0]
        results = copy.deepcopy(first.results)
        names = [
            n for n in first.results.get("systems", {}) if all(n in j.results["systems"] for j in members)
        ]
        results["systems"] = {n: merge_systems([j.results["systems"][n] for j in members]) for n in names}
        results.setdefault("study", {})["variant"] = list(variant)
        results["seeds"] = sorted(_seed(j) or "" for j in members)
        out.append(
            Job(
                id="+".join(j.id for j in members),
                experiment=first.experiment,
                status="ok",
                overrides=first.overrides,
                wall_s=sum(j.wall_s or 0.0 for j in members),
                results=results,
            )
        )
    order = {job.id: i for i, job in enumerate(jobs)}
    out.sort(key=lambda j: min(order.get(part, 1 << 30) for part in j.id.split("+")))
    return out, sorted(seeds, key=lambda s: (len(s), s))
