"""``teamform team``: rank the employees for each task of a project and propose a team.

The steps: read the project (a JSON file with its tasks, or a plain-text description that the
configured LLM splits into tasks, written to ``tasks.json`` so a person can fix it); check the
constraints by counts alone (before any model loads); resolve the ranking system (an encoder,
an optional adapter set, and an aggregator or ``concat``: ``team.system``, ``team.adapter_set``
or ``team.from_grid``); bring the persistent employee index up to date
(:class:`bench.run.team_index.EmployeeIndex`); score, fuse, assign exactly under the constraints
(:mod:`bench.team.assign`), explain every pick, and write ``team.json`` and ``TEAM.md``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from aggregators.registry import AGGREGATORS, get_aggregator
from bench.core.dataset import Dataset, Task
from bench.core.errors import ConfigError
from bench.core.io import atomic_write_text, write_json
from bench.run.adapters import GLOBAL, AdapterSet
from bench.run.preflight import check_job
from bench.run.scorers import build_model, tag_of_parts
from bench.run.synthesis import build_client
from bench.run.team_index import EmployeeIndex
from bench.team.assign import TeamConstraints, assign, check_counts
from bench.team.explain import explain_tasks, team_document
from bench.team.project import ProjectSpec, read_project, split_text_tasks, task_ids, write_tasks_json
from bench.team.render import compare_solvers, render_team_md
from data_synth.prompts import load_template
from data_synth.schemas import TaskList

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TeamSystem:
    """The system that ranks: ``{encoder}/{view}`` with the adapter set behind the encoder.

    Attributes:
        encoder: the encoder part of the system name (``minilm``, ``minilm+lora-global-full``).
        view: ``concat`` or an aggregator of :data:`aggregators.AGGREGATORS`.
        adapters: the adapter set (``None``: the base model).
        chosen: how the system was chosen, when it was (``team.from_grid``).
    """

    encoder: str
    view: str
    adapters: AdapterSet | None = None
    chosen: str | None = None

    @property
    def name(self) -> str:
        return f"{self.encoder}/{self.view}"


def constraints_of(cfg: DictConfig, dataset: Dataset) -> TeamConstraints:
    """``team.*`` constraints, with each employee's ``capacity`` from the data where given."""
    team = cfg.team
    capacity = {e.id: int(e.capacity) for e in dataset.employees if getattr(e, "capacity", None) is not None}
    return TeamConstraints(
        per_task=int(team.per_task),
        max_tasks_per_person=int(team.max_tasks_per_person),
        capacity=capacity or None,
        exclude=list(team.exclude or []),
        require=list(team.require or []),
    )


def read_tasks(cfg: DictConfig, dataset: Dataset, out: Path) -> ProjectSpec:
    """The project and its tasks; a text description is split (LLM, or one task per line) into
    ``tasks.json``."""
    if not cfg.team.project:
        raise ConfigError(
            'teamform team needs team.project=FILE: a JSON file {"project": ..., "tasks": [...]} '
            "or a plain-text project description"
        )
    spec = read_project(cfg.team.project)
    if spec.source == "text":
        spec = split_project(cfg, dataset, spec)
        path = write_tasks_json(out, spec)
        print(f"tasks written to {path}: edit them and rerun with team.project={path}")
    return spec


def split_project(cfg: DictConfig, dataset: Dataset, spec: ProjectSpec) -> ProjectSpec:
    """The LLM's split of a plain-text project; ``llm=simulated`` (which cannot read one) splits by line."""
    text = "\n".join([spec.project, *spec.tasks])
    if str(OmegaConf.select(cfg, "llm.backend._target_", default="")).endswith("SimulatedBackend"):
        print("llm=simulated cannot read a new project: one task per line or bullet of the description")
        title, tasks = split_text_tasks(text)
        return ProjectSpec(title or spec.project, tasks, "text")
    from data_synth.backend import LLMRequest  # deferred: only a real LLM split needs the request type

    prompt = load_template("tasks").render(
        enterprise_context=dataset.context or "", project=text, n_tasks=int(cfg.team.n_tasks)
    )
    request = LLMRequest(
        "tasks",
        [{"role": "user", "content": prompt}],
        TaskList,
        {"project": spec.project, "n_tasks": int(cfg.team.n_tasks)},
        seed=int(cfg.seed),
    )
    with build_client(cfg.llm, dataset) as client:
        (reply,) = client.run(client.map([request], desc="split project"))
    if reply is None or not reply.parsed.tasks:
        raise ConfigError(
            f"the LLM returned no tasks for {cfg.team.project}; write them as JSON "
            '{"project": ..., "tasks": [...]} and pass that file as team.project'
        )
    return ProjectSpec(spec.project, [t for t in reply.parsed.tasks if t.strip()], "text")


def adapter_sets(cache_dir: str | Path, tag: str) -> list[Path]:
    """Finished cached adapter sets whose tag (``lora-global-full``...) is ``tag``."""
    found = []
    for meta_path in sorted((Path(cache_dir) / "adapters").glob("*/metadata.json")):
        meta = json.loads(meta_path.read_text())
        if meta.get("complete") and tag_of_parts(meta.get("train", {})) == tag:
            found.append(meta_path.parent)
    return found


def parse_system(cfg: DictConfig, name: str) -> TeamSystem:
    """``ENCODER/VIEW`` (``minilm+lora-global-full/condorcet``) with its adapter set found in the cache."""
    encoder, _, view = name.partition("/")
    if view != "concat" and view not in AGGREGATORS:
        raise ConfigError(
            f"team.system={name!r}: the view must be concat or an aggregator ({', '.join(AGGREGATORS)})"
        )
    base, _, tag = encoder.partition("+")
    if base != cfg.model.name:
        raise ConfigError(
            f"team.system={name!r} names encoder {base!r} but model={cfg.model.name}; "
            f"pass model={base} or a system of {cfg.model.name}"
        )
    if not tag:
        return TeamSystem(encoder, view)
    if cfg.team.adapter_set:
        return TeamSystem(encoder, view, AdapterSet.load(cfg.team.adapter_set))
    found = adapter_sets(cfg.paths.cache_dir, tag)
    if not found:
        raise ConfigError(
            f"no finished adapter set with tag {tag} in {Path(cfg.paths.cache_dir) / 'adapters'}; "
            "train one (teamform train / grid) or pass team.adapter_set=DIR"
        )
    if len(found) > 1:
        listed = ", ".join(str(p) for p in found)
        raise ConfigError(
            f"{len(found)} cached adapter sets have tag {tag} ({listed}); pick one with team.adapter_set=DIR"
        )
    return TeamSystem(encoder, view, AdapterSet.load(found[0]))


def best_of_grid(cfg: DictConfig, grid: Path) -> TeamSystem:
    """The grid's best system by ``team.criterion`` (mean), among the base model and global adapters."""
    criterion = str(cfg.team.criterion)
    best: tuple[float, str, Path | None] | None = None
    for line in (grid / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        encoder, _, view = row["system"].partition("/")
        if view != "concat" and view not in AGGREGATORS or criterion not in row["mean"]:
            continue
        results = json.loads((grid / str(row["job"]) / "results.json").read_text())
        key = results.get("extras", {}).get("adapter_set")
        if encoder == cfg.model.name:
            adapters = None
        elif key and encoder.startswith(f"{cfg.model.name}+"):
            adapters = Path(cfg.paths.cache_dir) / "adapters" / key
        else:
            continue
        value = float(row["mean"][criterion])
        if best is None or value > best[0]:
            best = (value, row["system"], adapters)
    if best is None:
        raise ConfigError(
            f"team.from_grid={grid}: no system of model={cfg.model.name} with {criterion} in its "
            "results.jsonl; pass a grid directory written by `teamform grid`"
        )
    value, name, adapters = best
    encoder, _, view = name.partition("/")
    chosen = f"chosen on the evaluation tasks of grid {grid.name}: mean {criterion} = {value:.4f}"
    print(f"team.from_grid: {name} ({chosen})")
    return TeamSystem(encoder, view, AdapterSet.load(adapters) if adapters else None, chosen)


def resolve_system(cfg: DictConfig) -> TeamSystem:
    """``team.from_grid``, else ``team.system``, else the base model with Condorcet."""
    if cfg.team.from_grid:
        return best_of_grid(cfg, Path(cfg.team.from_grid))
    return parse_system(cfg, cfg.team.system or f"{cfg.model.name}/condorcet")


def encoder_for(cfg: DictConfig, system: TeamSystem, view: str) -> Any:
    """The (cached) encoder of one view: the base model, the global adapter, or the aspect's adapter."""
    adapter = None if system.adapters is None else system.adapters.adapter_for(view)
    name = (
        system.encoder
        if system.adapters is None or system.adapters.mode == GLOBAL
        else f"{system.encoder}-{view}"
    )
    return build_model(cfg.model, cfg.paths.cache_dir, adapter, name)


def score_views(
    cfg: DictConfig, dataset: Dataset, system: TeamSystem, tasks: list[Task]
) -> tuple[list[str], np.ndarray]:
    """Per-view ``(m_views, n_tasks, n_employees)`` scores from the persistent index."""
    views = ["concat"] if system.view == "concat" else list(dataset.aspects)
    if system.adapters is not None and system.adapters.mode != GLOBAL and system.view == "concat":
        raise ConfigError(f"{system.name}: a specialised adapter set has no concat view; pick an aggregator")
    matrices = []
    for view in views:
        encoder = encoder_for(cfg, system, view)
        index = EmployeeIndex(Path(cfg.paths.cache_dir) / "index", encoder)
        texts = dataset.concat_texts() if view == "concat" else dataset.aspect_texts(view)
        index.update(view, texts)
        queries = encoder.encode_queries([t.query for t in tasks])
        matrices.append(index.scores(view, queries, dataset.employee_ids, int(cfg.team.depth)))
    return views, np.stack(matrices)  # (m_views, n_tasks, n_employees)


def propose_team(
    cfg: DictConfig, dataset: Dataset, spec: ProjectSpec, system: TeamSystem | None = None
) -> dict[str, Any]:
    """The ``team.json`` document for ``spec``'s tasks (nothing written); see :func:`run_team`."""
    constraints = constraints_of(cfg, dataset)
    check_counts(
        len(spec.tasks), len(dataset.employees), constraints, dataset.employee_ids, str(cfg.team.solver)
    )
    system = system or resolve_system(cfg)
    ids = task_ids(len(spec.tasks))
    tasks = [Task(i, spec.project, text) for i, text in zip(ids, spec.tasks, strict=True)]
    views, scores = score_views(cfg, dataset, system, tasks)
    fused = (
        scores[0] if system.view == "concat" else get_aggregator(system.view)(scores)
    )  # (n_tasks, n_employees)
    assignment = assign(fused, dataset.employee_ids, ids, constraints, str(cfg.team.solver))
    explained = explain_tasks(scores, views, fused, assignment, ids, dataset.employee_ids, constraints)
    for task, text in zip(explained, spec.tasks, strict=True):
        task["text"] = text
    extra: dict[str, Any] = {
        "dataset": {"name": dataset.name, "hash": dataset.hash},
        "comparison": compare_solvers(fused, dataset.employee_ids, ids, constraints),
    }
    if system.chosen:
        extra["chosen"] = system.chosen
    if system.adapters is not None:
        extra["adapter_set"] = str(system.adapters.dir)
    return team_document(
        spec.project, system.name, str(cfg.team.solver), assignment.objective, explained, constraints, extra
    )


def run_team(cfg: DictConfig, dataset: Dataset, out: Path) -> dict[str, Any]:
    """Propose a team for ``team.project``; write ``team.json`` and ``TEAM.md`` in ``out``.

    The constraints are checked by counts before any model loads; profile text reaches
    ``TEAM.md`` only with ``team.show_text=true``.
    """
    spec = read_tasks(cfg, dataset, out)
    check_counts(
        len(spec.tasks),
        len(dataset.employees),
        constraints_of(cfg, dataset),
        dataset.employee_ids,
        str(cfg.team.solver),
    )  # infeasible by counts alone: refused before any model loads
    check_job(cfg, dataset, kind="eval")
    team = propose_team(cfg, dataset, spec)
    write_json(out / "team.json", team)
    employee_texts = None
    if cfg.team.show_text:
        picked = {a["employee_id"] for t in team["tasks"] for a in t["assigned"]}
        employee_texts = {e.id: dict(e.aspects) for e in dataset.employees if e.id in picked}
    task_texts = {t["task"]: t["text"] for t in team["tasks"]}
    atomic_write_text(out / "TEAM.md", render_team_md(team, task_texts, employee_texts))
    return team
