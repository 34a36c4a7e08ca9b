"""``data=demo``: build the simulated enterprise as a :class:`bench.core.dataset.Dataset`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bench.core.dataset import Dataset, Employee, GroundTruth, Task
from bench.core.errors import ConfigError
from bench.data.demo.enterprise import load_enterprise, load_phrasing
from bench.data.demo.judging import grades, judged_rows
from bench.data.demo.prose import ASPECTS, Renderer
from bench.data.demo.tasks import Project, TaskSpec, TaskWriter, make_projects, split_counts
from bench.data.demo.taxonomy import load_taxonomy
from bench.data.demo.workforce import level_matrix, sample_workforce

MISSING_ASPECTS = {"goals": 0.08, "behavior": 0.07, "experience": 0.04, "abilities": 0.02}
POOL_SIZE = 10  # thesis 003, section 4.1.2: candidates from the base model's top 10


def _check(
    n_employees: int, n_projects: int, n_eval_tasks: int, n_train_tasks: int, judged_pairs: int
) -> None:
    if n_employees < 10:
        raise ConfigError(f"data.n_employees={n_employees}: the demo needs at least 10 employees")
    if n_eval_tasks < 1 or n_train_tasks < 0 or judged_pairs < n_eval_tasks:
        raise ConfigError(
            f"data.n_eval_tasks={n_eval_tasks}, data.n_train_tasks={n_train_tasks}, "
            f"data.judged_pairs={judged_pairs}: need >= 1 eval task, >= 0 train tasks and at least one "
            "judged pair per eval task"
        )
    if n_projects < (2 if n_train_tasks else 1):
        raise ConfigError(
            f"data.n_projects={n_projects}: need one project for evaluation and one for training"
        )


def _write_tasks(
    writer: TaskWriter,
    rng: np.random.Generator,
    projects: list[Project],
    total: int,
    taken: set[str],
    levels: np.ndarray,
    ranks: np.ndarray,
) -> list[TaskSpec]:
    """``total`` tasks spread over ``projects``; each has at least one relevant employee."""
    specs = []
    for project, count in zip(projects, split_counts(rng, total, len(projects)), strict=True):
        for _ in range(count):
            for _attempt in range(100):
                spec = writer.write(project, taken)
                if (grades(levels, ranks, spec) > 0).any():
                    break
            taken.add(spec.text)
            specs.append(spec)
    return specs


def build_demo(
    seed: int = 0,
    n_employees: int = 800,
    n_projects: int = 40,
    n_eval_tasks: int = 50,
    n_train_tasks: int = 200,
    judged_pairs: int = 500,
    pool_size: int = POOL_SIZE,
    missing_aspects: Mapping[str, float] | None = None,
) -> Dataset:
    """Generate the simulated enterprise deterministically from ``seed``.

    Args:
        seed: seeds the one ``numpy`` generator every draw comes from.
        n_employees: strategic employees, in the paper's seniority mix (section 4.1).
        n_projects: projects; about ``n_eval/(n_eval+n_train)`` of them hold the evaluation
            tasks, the others the training seed tasks (no project is shared).
        n_eval_tasks: evaluation tasks (queries).
        n_train_tasks: seed tasks for synthesis.
        judged_pairs: judged (task, employee) pairs, spread evenly over the evaluation tasks.
        pool_size: size of the likely-relevant short list half of the judged candidates come from.
        missing_aspects: ``aspect -> probability that an employee lacks it``.

    Returns:
        The dataset, with the exhaustive graded relevance and hidden competences in ``truth``.

    Example:
        >>> d = build_demo(seed=1, n_employees=40, n_projects=4, n_eval_tasks=4, n_train_tasks=8,
        ...                judged_pairs=20)
        >>> len(d.employees), len(d.tasks), len(d.train_tasks), sum(map(len, d.qrels.values()))
        (40, 4, 8, 20)
    """
    _check(n_employees, n_projects, n_eval_tasks, n_train_tasks, judged_pairs)
    missing = dict(MISSING_ASPECTS if missing_aspects is None else missing_aspects)
    taxonomy, enterprise, phrasing = load_taxonomy(), load_enterprise(), load_phrasing()
    rng = np.random.default_rng(seed)

    people = sample_workforce(rng, n_employees, taxonomy, enterprise)
    levels = level_matrix(people, len(taxonomy.skills))  # (n_employees, n_skills)
    ranks = np.array([p.seniority.rank for p in people])  # (n_employees,)
    renderer = Renderer(rng, taxonomy, enterprise, phrasing)
    employees = [Employee(p.id, renderer.aspects(p, missing)) for p in people]

    projects = make_projects(rng, enterprise, n_projects)
    n_eval_projects = (
        1
        if not n_train_tasks
        else int(
            np.clip(round(n_projects * n_eval_tasks / (n_eval_tasks + n_train_tasks)), 1, n_projects - 1)
        )
    )
    writer, taken = TaskWriter(rng, taxonomy, phrasing), set()
    eval_specs = _write_tasks(writer, rng, projects[:n_eval_projects], n_eval_tasks, taken, levels, ranks)
    train_specs = _write_tasks(writer, rng, projects[n_eval_projects:], n_train_tasks, taken, levels, ranks)
    width = max(3, len(str(max(n_eval_tasks, n_train_tasks))))
    tasks = [Task(f"t{i + 1:0{width}d}", s.project, s.text) for i, s in enumerate(eval_specs)]
    train = [Task(f"s{i + 1:0{width}d}", s.project, s.text) for i, s in enumerate(train_specs)]

    ids = [p.id for p in people]
    truth = GroundTruth(
        skills={s.id: s.as_truth() for s in taxonomy.skills},
        employee_skills={p.id: {taxonomy.skills[c].id: lv for c, lv in p.levels.items()} for p in people},
        seniority={p.id: p.seniority.name for p in people},
    )
    qrels: dict[str, dict[str, int]] = {}
    per_task = split_counts(rng, judged_pairs, len(tasks))
    for task, spec, n_pairs in zip(
        tasks + train, eval_specs + train_specs, per_task + [0] * len(train), strict=True
    ):
        g = grades(levels, ranks, spec)
        truth.relevance[task.id] = {ids[r]: int(g[r]) for r in np.flatnonzero(g)}
        truth.task_needs[task.id] = [taxonomy.skills[c].id for c in spec.needs]
        if n_pairs:
            rows = sorted(judged_rows(rng, levels, ranks, spec, n_pairs, pool_size))
            qrels[task.id] = {ids[r]: int(g[r]) for r in rows}

    notes = [
        f"simulated enterprise (seed {seed}): {len(enterprise.departments)} departments, "
        f"{len(taxonomy.skills)} skills in {len(taxonomy.areas)} areas, {n_eval_projects} evaluation "
        f"and {len(projects) - n_eval_projects} training projects"
    ]
    return Dataset("demo", employees, tasks, qrels, train, enterprise.context, list(ASPECTS), truth, notes)
