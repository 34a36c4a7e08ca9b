"""The real services of the label studio (:mod:`bench.studio`): ranking, team proposals, splits, labels.

The web app takes these as injected callables so that it holds no model code; this module builds
them from a composed config: ``label.system`` ranks (the top share of sampled pairs, and the
team builder), :func:`bench.run.team.propose_team` proposes teams, the ``llm=`` backend splits
projects and labels pairs with the labelling prompt (its calls cached like every call).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from aggregators.registry import get_aggregator
from bench.core.dataset import Dataset, Employee, Task
from bench.core.errors import TeamformError
from bench.run.synthesis import build_client
from bench.run.team import TeamSystem, parse_system, propose_team, score_views, split_project
from bench.team.project import ProjectSpec, split_text_tasks
from data_synth.backend import LLMRequest
from data_synth.prompts import base_label_prompt, prompt_id, render_label_prompt
from data_synth.schemas import RelevanceLabel

log = logging.getLogger(__name__)


def label_system(cfg: DictConfig) -> TeamSystem:
    """``label.system`` (``base/condorcet`` = the ``model=`` preset with Condorcet) as a team system."""
    name = str(cfg.label.system)
    encoder, _, view = name.partition("/")
    if encoder == "base":
        name = f"{cfg.model.name}/{view}"
    return parse_system(cfg, name)


def ranker(cfg: DictConfig, dataset: Dataset) -> Callable[[list[str], int], dict[str, list[str]]]:
    """``rank_top_k(task_ids, k)``: the top-k employees of ``label.system`` for dataset tasks."""
    system = label_system(cfg)
    by_id = dataset.task_by_id

    def rank_top_k(task_ids: list[str], k: int) -> dict[str, list[str]]:
        tasks = [by_id[t] for t in task_ids]
        _, scores = score_views(cfg, dataset, system, tasks)
        fused = (
            scores[0] if system.view == "concat" else get_aggregator(system.view)(scores)
        )  # (n_tasks, n_emp)
        order = np.argsort(-np.nan_to_num(fused, nan=-np.inf), axis=1, kind="stable")[:, :k]
        return {
            t: [dataset.employee_ids[j] for j in row if not np.isnan(fused[i, j])]
            for i, (t, row) in enumerate(zip(task_ids, order, strict=True))
        }

    return rank_top_k


def proposer(cfg: DictConfig, dataset: Dataset) -> Callable[[str, list[str]], dict[str, Any]]:
    """``propose_team(project, task texts)``: what ``teamform team`` proposes, as ``team.json``."""
    system = label_system(cfg)

    def propose(project: str, tasks: list[str]) -> dict[str, Any]:
        return propose_team(cfg, dataset, ProjectSpec(project, list(tasks), "json"), system)

    return propose


def splitter(cfg: DictConfig, dataset: Dataset) -> Callable[[str], list[str]]:
    """``split_project(text)``: the LLM's split of a description (one task per line with
    ``llm=simulated``)."""

    def split(text: str) -> list[str]:
        title, lines = split_text_tasks(text)
        return split_project(cfg, dataset, ProjectSpec(title or "project", lines, "text")).tasks

    return split


def labeller(cfg: DictConfig, dataset: Dataset) -> Callable[[list[tuple[Task, Employee]]], list[int]]:
    """``synthetic_labeller(pairs)``: the base labelling prompt of the ``llm=`` backend on each pair.

    Raises (when called): :class:`bench.core.errors.TeamformError` when the backend cannot label
    these pairs (``llm=simulated`` on data without hidden truth).
    """

    def label(pairs: list[tuple[Task, Employee]]) -> list[int]:
        template = base_label_prompt()
        pid = prompt_id(template)
        aspects = list(dataset.aspects)
        requests = [
            LLMRequest(
                "label",
                [
                    {
                        "role": "user",
                        "content": render_label_prompt(
                            template, dataset.context or "", task.project, task.task, employee.text(aspects)
                        ),
                    }
                ],
                RelevanceLabel,
                {"project": task.project, "task": task.task, "employee_id": employee.id, "prompt_id": pid},
                temperature=float(OmegaConf.select(cfg, "synth.label_temperature", default=0.0)),
                seed=int(cfg.seed),
            )
            for task, employee in pairs
        ]
        with build_client(cfg.llm, dataset) as client:
            replies = client.run(client.map(requests, desc="synthetic labels"))
        if any(r is None for r in replies):
            raise TeamformError("the LLM left some pairs unlabelled (budget or invalid replies); see the log")
        return [int(r.parsed.label) for r in replies]

    return label
