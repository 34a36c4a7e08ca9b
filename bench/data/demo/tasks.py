"""Projects and their tasks for the simulated enterprise.

A task needs one to three skills, drawn from its project's areas (and sometimes a leadership
skill), and is either hands-on or a lead role. Its text is written from paraphrases or the
description of the needed skills, never from their labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.data.demo.enterprise import Enterprise, ProjectTheme
from bench.data.demo.taxonomy import Taxonomy
from bench.data.demo.workforce import LEADERSHIP, apportion

NEED_COUNTS = (1, 2, 3)
NEED_COUNT_P = (0.3, 0.45, 0.25)
LEAD_RATE = 0.3
SECONDARY_FROM_THEME = 0.7  # a further need comes from the project's skills...
SECONDARY_LEADERSHIP = 0.15  # ... or is a leadership skill, or else any skill of a project area
DESCRIPTION_RATE = 0.35  # share of tasks worded from a description rather than a paraphrase
NEED_WEIGHTS = (1.0, 0.8, 0.6)  # importance of the first, second and third need (used for grading)


@dataclass(frozen=True)
class Project:
    name: str
    theme: ProjectTheme


@dataclass(frozen=True)
class TaskSpec:
    """A task with its hidden needs: ``needs`` are taxonomy columns, most important first."""

    project: str
    text: str
    needs: tuple[int, ...]
    lead: bool


def make_projects(rng: np.random.Generator, enterprise: Enterprise, n: int) -> list[Project]:
    """``n`` projects with distinct names, from the themes in a random order.

    When ``n`` exceeds the number of themes, themes repeat with another site or a phase number.
    """
    themes = enterprise.projects
    order = [int(i) for i in rng.permutation(len(themes))]
    projects: list[Project] = []
    names: set[str] = set()
    round_ = 0
    while len(projects) < n:
        for i in order:
            if len(projects) == n:
                break
            theme = themes[i]
            sites = enterprise.sites.get(theme.site_kind or "", ("",))
            site = sites[(int(rng.integers(len(sites))) + round_) % len(sites)]
            name = theme.name.format(site=site)
            if name in names:
                name = f"{name}, phase {round_ + 1}"
            if name in names:
                continue
            names.add(name)
            projects.append(Project(name, theme))
        round_ += 1
    return projects


class TaskWriter:
    """Draws needs and writes the text of tasks with one generator."""

    def __init__(self, rng: np.random.Generator, taxonomy: Taxonomy, phrasing: dict[str, Any]) -> None:
        self.rng, self.tax, self.phr = rng, taxonomy, phrasing["task"]

    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def needs(self, theme: ProjectTheme) -> tuple[int, ...]:
        """One to three distinct skills: the first among the project's skills, the others mostly too,
        sometimes from the project's areas or a leadership skill."""
        k = int(self.rng.choice(NEED_COUNTS, p=NEED_COUNT_P))
        needs = [self.pick(theme.skills)]
        while len(needs) < k:
            u = self.rng.random()
            if u < SECONDARY_FROM_THEME:
                column = self.pick(theme.skills)
            else:
                area = (
                    LEADERSHIP if u < SECONDARY_FROM_THEME + SECONDARY_LEADERSHIP else self.pick(theme.areas)
                )
                column = self.pick(self.tax.area_columns(area))
            if column not in needs:
                needs.append(column)
        return tuple(needs)

    def text(self, needs: tuple[int, ...], lead: bool) -> str:
        """Task text: a verb phrase for the first need, the others joined on, then a tail."""
        skills = [self.tax.skills[c] for c in needs]
        if self.rng.random() < DESCRIPTION_RATE:
            first = self.pick(self.phr["lead_by_description" if lead else "by_description"]).format(
                d=skills[0].clause
            )
        else:
            first = self.pick(self.phr["lead" if lead else "hands_on"]).format(
                p=self.pick(skills[0].paraphrases)
            )
        described = skills[-1] if len(skills) > 1 and self.rng.random() < DESCRIPTION_RATE else None
        rest = [self.pick(s.paraphrases) for s in skills[1:] if s is not described]
        if len(rest) == 1:
            first = self.pick(self.phr["second"]).format(first=first, p=rest[0])
        elif len(rest) == 2:
            first = self.pick(self.phr["third"]).format(first=first, p2=rest[0], p3=rest[1])
        text = first + self.pick(self.phr["tails"])
        if described is not None:
            text = self.pick(self.phr["also_description"]).format(first=text, d=described.clause)
        return text + "."

    def write(self, project: Project, taken: set[str], attempts: int = 200) -> TaskSpec:
        """One task of ``project`` whose text is not in ``taken`` and names none of its needs' labels."""
        for _ in range(attempts):
            needs = self.needs(project.theme)
            lead = bool(self.rng.random() < LEAD_RATE)
            text = self.text(needs, lead)
            low = text.lower()
            if text in taken or any(self.tax.skills[c].label.lower() in low for c in needs):
                continue
            return TaskSpec(project.name, text, needs, lead)
        raise RuntimeError(f"could not write a new task for project {project.name!r} in {attempts} attempts")


def split_counts(rng: np.random.Generator, total: int, parts: int) -> list[int]:
    """``total`` tasks over ``parts`` projects, as even as possible, extras on random projects."""
    counts = apportion(total, [1.0] * parts)
    return [counts[int(i)] for i in rng.permutation(parts)]
