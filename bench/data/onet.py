"""``data=onet``: the public O*NET database as a team-formation benchmark.

Occupations play the employees and their task statements play the project tasks (the O*NET
database's own text files, read from ``data.root``; ``docs/design.md`` section 4). Each kept
occupation's task statements are split in two by a seeded shuffle: one half is the
``experience`` aspect, the other half is where queries come from. A query is
``Project: {detailed work activity}. Task: {task statement}``; relevance is 2 for every kept
occupation that owns the statement (the same text may belong to several) and 1 for their
Primary-Short related occupations. No query statement occurs in any employee text (compared
after :func:`~bench.data.textmatch.normalise_text`, word for word): it comes from the held-out
half (a text shared by several occupations is held out for all of them), experience statements
that contain it are removed, and candidates found in any other aspect are never drawn;
:func:`_check_no_leakage` verifies it.

Source: O*NET 29.3 Database, National Center for O*NET Development, CC BY 4.0.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.core.dataset import Dataset, Employee, GroundTruth, Task
from bench.core.errors import ConfigError
from bench.data.onet_profile import profile_aspects
from bench.data.onet_tables import CODE, check_release, number, read_table
from bench.data.textmatch import normalise_text

ATTRIBUTION = "O*NET 29.3 Database, National Center for O*NET Development, CC BY 4.0"
ASPECTS = ["role", "experience", "abilities", "behavior", "tools"]
CONTEXT = (
    "The employees are occupations of the O*NET occupational database of the US Department of "
    "Labor: each has a role (title and description), experience (a sample of the occupation's task "
    "statements), its most important skills, knowledge and work styles, and the technology it "
    "uses. Projects are detailed work activities and tasks are task statements of these "
    f"occupations. Source: {ATTRIBUTION}."
)


@dataclass(frozen=True)
class Statement:
    """One O*NET task statement of one occupation."""

    code: str
    task_id: str
    text: str
    norm: str


def load_onet(
    root: str | Path,
    min_job_zone: int = 4,
    n_eval_tasks: int = 300,
    n_train_tasks: int = 600,
    seed: int = 0,
    top_skills: int = 8,
    top_knowledge: int = 8,
    top_work_styles: int = 6,
    max_tools: int = 15,
) -> Dataset:
    """Load an O*NET text release as a :class:`~bench.core.dataset.Dataset`.

    Args:
        root: directory of the official text release (``Occupation Data.txt`` etc.).
        min_job_zone: keep occupations whose job zone (1-5, ``Job Zones.txt``) is at least this.
        n_eval_tasks: evaluation tasks to draw.
        n_train_tasks: seed tasks for synthesis to draw (disjoint from evaluation tasks).
        seed: seeds the experience/held-out split and the task sample.
        top_skills: skills (importance scale ``IM``) in the ``abilities`` aspect.
        top_knowledge: knowledge areas (scale ``IM``) in the ``abilities`` aspect.
        top_work_styles: work styles (scale ``IM``) in the ``behavior`` aspect.
        max_tools: technology skills in the ``tools`` aspect, hot / in-demand ones first.

    Returns:
        The dataset; ``qrels`` hold the graded labels (> 0) of the evaluation tasks and
        ``truth.relevance`` those of evaluation and seed tasks. Unjudged pairs count as 0.

    Raises:
        DataError: ``root`` or one of its tables is missing or malformed.
        ConfigError: a parameter is out of range or asks for more tasks than there are.

    Example:
        ``load_onet("../shared/data/onet")`` on the 29.3 release: 378 of 923 occupations,
        300 evaluation tasks, 600 seed tasks, about 7 relevant occupations per task.
    """
    _check_params(min_job_zone, n_eval_tasks, n_train_tasks)
    root = Path(root).expanduser()
    check_release(root)
    zones = _job_zones(root)
    profile = profile_aspects(
        root,
        [c for c, zone in zones.items() if zone >= min_job_zone],
        top_skills,
        top_knowledge,
        top_work_styles,
        max_tools,
    )
    kept = sorted(profile)
    statements = _statements(root, set(kept))
    dwas = _task_dwas(root)
    experience, held_out = _split(statements, seed)
    guard = "\0".join(f" {normalise_text(t)} " for aspects in profile.values() for t in aspects.values())
    queries, skipped = _sample(held_out, dwas, n_eval_tasks + n_train_tasks, seed, guard)
    removed = _drop_containing(experience, [q.norm for q in queries])
    employees = _employees(profile, experience)
    _check_no_leakage(employees, queries)

    owners: dict[str, set[str]] = defaultdict(set)
    for code, own in statements.items():
        for s in own:
            owners[s.norm].add(code)
    related = _related(root, set(kept))
    tasks = [Task(f"T{q.task_id}", dwas[q.task_id].rstrip(". "), q.text) for q in queries]
    relevance = {t.id: _grades(owners[q.norm], related) for t, q in zip(tasks, queries, strict=True)}
    eval_tasks = tasks[:n_eval_tasks]
    counts = {
        "statements": sum(map(len, statements.values())),
        "experience": sum(map(len, experience.values())),
        "held_out": sum(map(len, held_out.values())),
        "no_dwa": sum(1 for own in statements.values() for s in own if s.task_id not in dwas),
        "shared": sum(1 for codes in owners.values() if len(codes) > 1),
        "removed": removed,
        "skipped": skipped,
    }
    return Dataset(
        name="onet",
        employees=employees,
        tasks=eval_tasks,
        qrels={t.id: dict(relevance[t.id]) for t in eval_tasks},
        train_tasks=tasks[n_eval_tasks:],
        context=CONTEXT,
        aspects=list(ASPECTS),
        truth=GroundTruth(relevance=relevance),
        notes=_notes(len(kept), len(zones), min_job_zone, counts),
    )


def _employees(profile: dict[str, dict[str, str]], experience: dict[str, list[Statement]]) -> list[Employee]:
    """Employees in code order, aspects in :data:`ASPECTS` order; experience is prose."""
    employees = []
    for code in sorted(profile):
        aspects = dict(profile[code])
        aspects["experience"] = " ".join(s.text for s in experience.get(code, []))
        employees.append(Employee(code, {a: aspects[a] for a in ASPECTS if aspects.get(a)}))
    return employees


def _notes(n_kept: int, n_zones: int, min_job_zone: int, counts: dict[str, int]) -> list[str]:
    """What loading did, in numbers (printed by ``teamform data stats``)."""
    notes = [
        f"{n_kept} of {n_zones} occupations kept (job zone >= {min_job_zone}; data.min_job_zone)",
        f"{counts['statements']} task statements: {counts['experience']} in experience, "
        f"{counts['held_out']} held out as possible queries",
        f"{counts['no_dwa']} statements map to no detailed work activity and are never queries",
        f"{counts['shared']} statement texts belong to several kept occupations (all graded 2)",
        f"{counts['removed']} experience statements removed because they contain a query statement",
    ]
    if counts["skipped"]:
        notes.append(f"{counts['skipped']} candidate queries skipped because they occur in other aspects")
    return [*notes, f"source: {ATTRIBUTION}"]


def _check_params(min_job_zone: int, n_eval_tasks: int, n_train_tasks: int) -> None:
    if not 1 <= min_job_zone <= 5:
        raise ConfigError(f"data.min_job_zone={min_job_zone} is out of range; O*NET job zones are 1 to 5")
    if n_eval_tasks < 1 or n_train_tasks < 0:
        raise ConfigError(
            f"data.n_eval_tasks={n_eval_tasks}, data.n_train_tasks={n_train_tasks}: "
            "need at least 1 evaluation task and no negative count"
        )


def _job_zones(root: Path) -> dict[str, int]:
    return {
        c: int(number(root, "job_zones", line, "Job Zone", z))
        for line, (c, z) in read_table(root, "job_zones", [CODE, "Job Zone"])
    }


def _statements(root: Path, kept: set[str]) -> dict[str, list[Statement]]:
    """``code -> task statements`` (file order) of the kept occupations."""
    out: dict[str, list[Statement]] = {c: [] for c in kept}
    for _, (code, task_id, text) in read_table(root, "tasks", [CODE, "Task ID", "Task"]):
        if code in kept and text.strip():
            out[code].append(Statement(code, task_id, text.strip(), normalise_text(text)))
    return out


def _task_dwas(root: Path) -> dict[str, str]:
    """``task_id -> DWA title``: of a task's DWAs, the broadest (linked to most tasks), ties by DWA ID."""
    rows = read_table(root, "task_dwas", ["Task ID", "DWA ID", "DWA Title"])
    breadth: dict[str, int] = defaultdict(int)
    for _, (_, dwa_id, _) in rows:
        breadth[dwa_id] += 1
    best: dict[str, tuple[int, str, str]] = {}
    for _, (task_id, dwa_id, title) in rows:
        key = (-breadth[dwa_id], dwa_id, title.strip())
        if task_id not in best or key < best[task_id]:
            best[task_id] = key
    return {task_id: key[2] for task_id, key in best.items()}


def _split(statements: dict[str, list[Statement]], seed: int) -> tuple[dict, dict]:
    """Split each occupation's statements into experience and held-out halves (file order kept).

    Occupations are visited in code order; each shuffles its statements with its own seeded
    generator. A text that an earlier occupation already placed keeps that side (shared texts sit
    on the same side for every owner, so a shared query never has to leave anyone's experience);
    the others fill experience up to ceil(n / 2), the rest are held out.
    """
    side: dict[str, bool] = {}  # normalised text -> in experience
    experience, held_out = {}, {}
    for code in sorted(statements):
        own = statements[code]
        order = list(range(len(own)))
        random.Random(f"onet-split:{seed}:{code}").shuffle(order)
        room = (len(own) + 1) // 2 - sum(side.get(s.norm, False) for s in own)
        for i in order:
            if own[i].norm not in side:
                side[own[i].norm] = room > 0
                room -= 1
        experience[code] = [s for s in own if side[s.norm]]
        held_out[code] = [s for s in own if not side[s.norm]]
    return experience, held_out


def _sample(
    held_out: dict[str, list[Statement]], dwas: dict[str, str], n: int, seed: int, guard: str
) -> tuple[list[Statement], int]:
    """Draw ``n`` distinct statements round-robin over occupations in a seeded order.

    Round ``r`` takes the ``r``-th candidate (seeded shuffle) of every occupation, so the first
    tasks come from as many occupations as possible. Statements without a DWA, texts already drawn
    and texts that occur in ``guard`` (the other aspects) are passed over.

    Returns:
        ``(statements, number passed over because of guard)``.
    """
    rng = random.Random(f"onet-sample:{seed}")
    queues = {}
    for code in sorted(held_out):
        queue = [s for s in held_out[code] if s.task_id in dwas]
        rng.shuffle(queue)
        queues[code] = queue
    order = sorted(queues)
    rng.shuffle(order)
    chosen: list[Statement] = []
    seen: set[str] = set()
    skipped = 0
    for r in range(max(map(len, queues.values()), default=0)):
        for code in order:
            if r >= len(queues[code]) or queues[code][r].norm in seen:
                continue
            statement = queues[code][r]
            seen.add(statement.norm)
            if not statement.norm or f" {statement.norm} " in guard:
                skipped += 1
                continue
            chosen.append(statement)
            if len(chosen) == n:
                return chosen, skipped
    raise ConfigError(
        f"data.n_eval_tasks + data.n_train_tasks = {n}, but only {len(chosen)} distinct task statements "
        f"of the {len(held_out)} kept occupations can be queries; ask for fewer or lower data.min_job_zone"
    )


def _drop_containing(experience: dict[str, list[Statement]], query_norms: list[str]) -> int:
    """Remove, in place, experience statements that contain a query word for word; return how many."""
    flat = [(code, i, f" {s.norm} ") for code, own in experience.items() for i, s in enumerate(own)]
    starts, pos = [], 0
    for *_, padded in flat:
        starts.append(pos)
        pos += len(padded) + 1
    joined = "\0".join(padded for *_, padded in flat)
    hit: set[tuple[str, int]] = set()
    for query in query_norms:
        at = joined.find(f" {query} ")
        while at != -1:
            code, i, _ = flat[bisect_right(starts, at) - 1]
            hit.add((code, i))
            at = joined.find(f" {query} ", at + 1)
    for code in {code for code, _ in hit}:
        experience[code] = [s for i, s in enumerate(experience[code]) if (code, i) not in hit]
    return len(hit)


def _related(root: Path, kept: set[str]) -> dict[str, list[str]]:
    """``code -> its Primary-Short related occupations`` (both ends kept)."""
    out: dict[str, list[str]] = defaultdict(list)
    for _, (code, other, tier) in read_table(
        root, "related", [CODE, "Related O*NET-SOC Code", "Relatedness Tier"]
    ):
        if tier == "Primary-Short" and code in kept and other in kept:
            out[code].append(other)
    return out


def _grades(owners: set[str], related: dict[str, list[str]]) -> dict[str, int]:
    """Owners 2, their Primary-Short related occupations 1 (a grade never goes down)."""
    grades = {code: 2 for code in owners}
    for code in sorted(owners):
        for other in related.get(code, []):
            grades.setdefault(other, 1)
    return dict(sorted(grades.items()))


def _check_no_leakage(employees: list[Employee], queries: list[Statement]) -> None:
    """Raise ``RuntimeError`` (a bug, not a data defect) if a query statement is in employee text."""
    text = "\0".join(f" {normalise_text(t)} " for e in employees for t in e.aspects.values())
    leaked = [q.task_id for q in queries if f" {q.norm} " in text]
    if leaked:
        raise RuntimeError(f"O*NET loader bug: query task statement(s) {leaked[:5]} occur in employee text")
