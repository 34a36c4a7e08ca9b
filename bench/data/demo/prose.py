"""Render a simulated employee's hidden state as the five aspects of the paper (section 4.1).

* ``role``: title and responsibilities (paraphrases of the unit's skills) and team scope;
* ``abilities``: skill labels the person lists, with generic words and some skills they do not
  really have;
* ``experience``: past jobs described through paraphrases of skills actually held;
* ``goals``: mostly skills the person does not hold yet, plus goals set by the boss;
* ``behavior``: the manager's yearly evaluation of soft (leadership-area) skills.

Templates come from ``phrasing.yaml``; every choice is drawn from the caller's generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.data.demo.enterprise import Enterprise
from bench.data.demo.taxonomy import Taxonomy
from bench.data.demo.workforce import LEADERSHIP, Person

ASPECTS = ("role", "abilities", "experience", "goals", "behavior")
CURRENT_YEAR = 2024


class Renderer:
    """Turns :class:`Person` objects into aspect texts with one generator."""

    def __init__(
        self, rng: np.random.Generator, taxonomy: Taxonomy, enterprise: Enterprise, phrasing: dict[str, Any]
    ) -> None:
        self.rng, self.tax, self.ent, self.phr = rng, taxonomy, enterprise, phrasing
        self.soft = taxonomy.area_columns(LEADERSHIP)

    # ---- small helpers -------------------------------------------------------------------
    def pick(self, items):
        return items[int(self.rng.integers(len(items)))]

    def para(self, column: int) -> str:
        return self.pick(self.tax.skills[column].paraphrases)

    def label(self, column: int) -> str:
        return self.tax.skills[column].label

    def weighted(self, columns: list[int], weights: list[float], k: int) -> list[int]:
        """Up to ``k`` distinct columns drawn with probability proportional to ``weights``."""
        if not columns or k <= 0:
            return []
        w = np.asarray(weights, dtype=float) + 1e-9
        idx = self.rng.choice(len(columns), size=min(k, len(columns)), replace=False, p=w / w.sum())
        return [columns[int(i)] for i in idx]

    def title(self, person: Person) -> str:
        name, unit = person.seniority.name, person.unit.name
        if name == "Senior":
            return f"Senior {self.pick(person.department.senior_titles)}, {unit}"
        if name == "Director":
            return f"Director of {person.department.name}"
        if name == "Manager" and self.rng.random() < 0.3:
            return f"{person.department.name} Manager"
        return f"{unit} {name}"

    # ---- aspects -------------------------------------------------------------------------
    def role(self, person: Person) -> str:
        r = self.phr["role"]
        held = [c for c in person.unit.skills if person.level(c) > 0] or list(person.unit.skills)
        rest = [c for c in person.unit.skills if c not in held]
        duties = self.weighted(held, [1.0] * len(held), 2)
        if len(duties) < 2:
            duties += rest[:1] or duties
        sentences = [
            self.pick(r["title"]).format(
                title=self.title(person), site=person.site, department=person.department.name
            ),
            self.pick(r["duties_two"]).format(p1=self.para(duties[0]), p2=self.para(duties[-1])),
        ]
        extra = [c for c in person.levels if c not in person.unit.skills and c not in self.soft]
        if extra and self.rng.random() < 0.5:
            sentences.append(self.pick(r["duties_one"]).format(p=self.para(self.pick(extra))))
        n = int(self.rng.integers(4, 40)) * (person.seniority.rank if person.seniority.rank > 2 else 1)
        scope = self.pick(r["scope"][person.seniority.name]).format(n=n, k=int(self.rng.integers(2, 5)))
        sentences.insert(1 + int(self.rng.integers(0, 2)), scope)
        sentences.append(self.pick(r["department_line"]).format(department=person.department.name))
        return " ".join(s for s in sentences if s)

    def abilities(self, person: Person) -> str:
        a = self.phr["abilities"]
        held = [c for c in person.levels if c not in self.soft or self.rng.random() < 0.3]
        listed = [c for c in held if self.rng.random() < 0.25 + 0.6 * person.levels[c]][:8]
        areas = {area: w for area, w in person.department.areas.items()}
        pool = [c for area in areas for c in self.tax.area_columns(area) if person.level(c) == 0]
        false = self.weighted(pool, [1.0] * len(pool), int(self.rng.integers(0, 3)))
        generic = [self.pick(self.ent.generic_abilities) for _ in range(int(self.rng.integers(1, 4)))]
        items = [self.label(c) for c in listed + false] + generic
        items = list(dict.fromkeys(items))
        items = [items[int(i)] for i in self.rng.permutation(len(items))]
        if len(items) >= 4 and self.rng.random() < 0.3:
            return self.pick(a["lead"]).format(a=items[0], b=items[1], rest=", ".join(items[2:]))
        return self.pick(a["list"]).format(items=", ".join(items))

    def _place(self, person: Person, column: int | None, internal: bool) -> str:
        """Where a past job was: one of our sites, or an employer that fits the skill's area."""
        if internal:
            return self.pick(self.phr["experience"]["internal_place"]).format(site=person.site)
        area = self.tax.skills[column].area if column is not None else None
        if area in person.department.areas or person.past is None and area is None:
            return self.pick(person.department.employers)
        if person.past is not None and (area is None or area in person.past.areas):
            return self.pick(person.past.employers)
        fitting = [d for d in self.ent.departments if area in d.areas] or list(self.ent.departments)
        return self.pick(self.pick(fitting).employers)

    def _partner(self, chosen: list[int], column: int) -> int:
        """Take from ``chosen`` a skill of the same area as ``column`` if there is one, else the last."""
        area = self.tax.skills[column].area
        for i, c in enumerate(chosen):
            if self.tax.skills[c].area == area:
                return chosen.pop(i)
        return chosen.pop()

    def experience(self, person: Person) -> str:
        e = self.phr["experience"]
        columns = [c for c in person.levels if c not in self.soft]
        weights = [person.levels[c] ** 2 for c in columns]
        n_entries = int(self.rng.integers(2, 5))
        chosen = self.weighted(columns, weights, n_entries + 2)
        year = CURRENT_YEAR - int(self.rng.integers(1, 6))
        entries = []
        for i in range(n_entries):
            length = int(self.rng.integers(2, 7))
            start, end = year - length, year
            year = start - int(self.rng.integers(0, 2))
            first = chosen.pop() if chosen and not (i == n_entries - 1 and self.rng.random() < 0.2) else None
            internal = i == 0 and self.rng.random() < 0.7
            fields = dict(
                start=start,
                end=end,
                place=self._place(person, first, internal),
                years=length,
                initiative=self.pick(e["initiatives"]),
            )
            if first is None:
                entries.append(self.pick(e["filler"]).format(**fields))
            elif chosen and self.rng.random() < 0.45:
                second = self._partner(chosen, first)
                entries.append(
                    self.pick(e["entry_two"]).format(p1=self.para(first), p2=self.para(second), **fields)
                )
            else:
                entries.append(self.pick(e["entry_one"]).format(p1=self.para(first), **fields))
        return " ".join(entries)

    def goals(self, person: Person) -> str:
        g = self.phr["goals"]
        wanted_areas = list(person.department.areas) + [LEADERSHIP, LEADERSHIP]
        goals = []
        for _ in range(int(self.rng.integers(1, 4))):
            u = self.rng.random()
            if u < 0.7:
                area = self.pick(wanted_areas)
                pool = [c for c in self.tax.area_columns(area) if person.level(c) == 0]
                if pool:
                    c = self.pick(pool)
                    goals.append(self.pick(g["develop"]).format(p=self.para(c), label=self.label(c)))
                    continue
            if u < 0.82 and person.levels:
                c = self.pick(list(person.levels))
                goals.append(self.pick(g["deepen"]).format(p=self.para(c), label=self.label(c)))
                continue
            goals.append(self.pick(g["generic"]).format(year=CURRENT_YEAR, n=int(self.rng.integers(3, 16))))
        return " ".join(dict.fromkeys(goals))

    def behavior(self, person: Person) -> str:
        b = self.phr["behavior"]
        held = sorted((c for c in person.levels if c in self.soft), key=lambda c: -person.levels[c])
        mean = np.mean([person.levels[c] for c in held]) if held else 0.3
        rating = b["ratings"][int(np.clip(round(mean * 5 - 1.5 + self.rng.normal(0, 0.7)), 0, 4))]
        parts = [self.pick(b["opener"]).format(year=CURRENT_YEAR - 1, rating=rating)]
        for c in held[: int(self.rng.integers(1, 3))]:
            parts.append(self.pick(b["strength"]).format(p=self.para(c)))
        missing = [c for c in self.soft if person.level(c) == 0]
        if missing:
            parts.append(self.pick(b["develop"]).format(p=self.para(self.pick(missing))))
        if self.rng.random() < 0.6:
            parts.append(
                self.pick(b["trait"]).format(
                    trait=self.pick(b["traits_good"]), trait_dev=self.pick(b["traits_dev"])
                )
            )
        return " ".join(parts)

    def aspects(self, person: Person, missing: dict[str, float]) -> dict[str, str]:
        """All aspects of one person; an aspect is left out with probability ``missing[aspect]``."""
        out = {}
        for name in ASPECTS:
            text = getattr(self, name)(person)
            if self.rng.random() >= missing.get(name, 0.0):
                out[name] = text
        return out
