"""Hidden state of the simulated employees: department, unit, seniority, site and competences.

Competences are clustered: most of an employee's skills come from their unit and department
areas, a few from a previous department (transfers) or from anywhere (side interests), and
leadership skills grow with seniority. Levels lie in (0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.data.demo.enterprise import Department, Enterprise, Seniority, Unit
from bench.data.demo.taxonomy import Taxonomy

LEADERSHIP = "leadership"
TRANSFER_RATE = 0.15  # share of employees who moved from another department
UNIT_SKILL_RATE = 0.85  # chance to hold each skill of one's unit


@dataclass
class Person:
    """The hidden truth about one simulated employee (never shown as such in the aspects)."""

    id: str
    department: Department
    unit: Unit
    seniority: Seniority
    site: str
    past: Department | None
    levels: dict[int, float] = field(default_factory=dict)  # taxonomy column -> level in (0, 1]

    def level(self, column: int) -> float:
        return self.levels.get(column, 0.0)


def apportion(total: int, weights: list[float]) -> list[int]:
    """Integer counts proportional to ``weights`` summing to ``total`` (largest remainder).

    Ties in the remainder go to the earlier weight, so the result is deterministic.

    Example:
        >>> apportion(800, [247, 222, 280, 83, 3])
        [237, 213, 268, 79, 3]
    """
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


def _pick(rng: np.random.Generator, items, p=None):
    return items[int(rng.choice(len(items), p=p))]


def _add(levels: dict[int, float], column: int, level: float) -> None:
    level = round(float(np.clip(level, 0.05, 1.0)), 2)
    levels[column] = max(levels.get(column, 0.0), level)


def _area_skill(rng: np.random.Generator, taxonomy: Taxonomy, areas: dict[str, float]) -> int:
    names = list(areas)
    weights = np.array([areas[a] for a in names])
    area = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    return _pick(rng, taxonomy.area_columns(area))


def _competences(
    rng: np.random.Generator, person: Person, taxonomy: Taxonomy, enterprise: Enterprise
) -> None:
    boost = 0.04 * (person.seniority.rank - 1)
    levels = person.levels
    for column in person.unit.skills:
        if rng.random() < UNIT_SKILL_RATE:
            _add(levels, column, 0.45 + 0.5 * rng.beta(2, 2) + boost)
    for _ in range(int(rng.integers(2, 6))):
        _add(
            levels, _area_skill(rng, taxonomy, person.department.areas), 0.2 + 0.6 * rng.beta(2, 2.5) + boost
        )
    if person.past is not None:
        past_unit = _pick(rng, person.past.units)
        for column in past_unit.skills[: int(rng.integers(1, 3))]:
            _add(levels, column, 0.35 + 0.45 * rng.beta(2, 2))
    others = [c for c, s in enumerate(taxonomy.skills) if s.area != LEADERSHIP]
    for _ in range(int(rng.integers(0, 3))):
        _add(levels, _pick(rng, others), 0.15 + 0.45 * rng.beta(2, 3))
    low, high = enterprise.leadership_skills[person.seniority.name]
    soft = taxonomy.area_columns(LEADERSHIP)
    for column in rng.choice(soft, size=int(rng.integers(low, high + 1)), replace=False):
        _add(levels, int(column), 0.3 + 0.5 * rng.beta(2, 2) + 0.05 * (person.seniority.rank - 1))
    person.levels = dict(sorted(levels.items()))


def sample_workforce(
    rng: np.random.Generator, n: int, taxonomy: Taxonomy, enterprise: Enterprise
) -> list[Person]:
    """Draw ``n`` employees in the paper's seniority mix, scaled to ``n``.

    Args:
        rng: the generator every draw comes from (seeded by the caller).
        n: number of employees.
        taxonomy: skills.
        enterprise: departments, sites and seniority levels.

    Returns:
        People with ids ``e0001...`` in a random order of seniority.
    """
    counts = apportion(n, [s.paper_count for s in enterprise.seniority])
    ranks = np.repeat(np.arange(len(counts)), counts)
    ranks = ranks[rng.permutation(n)]  # (n,) seniority index per employee
    width = max(4, len(str(n)))
    departments = enterprise.departments
    people = []
    for i, s in enumerate(ranks):
        seniority = enterprise.seniority[int(s)]
        weights = np.array(
            [
                d.weight * (0.35 if seniority.name == "Supervisor" and not d.shop_floor else 1.0)
                for d in departments
            ]
        )
        department = _pick(rng, departments, weights / weights.sum())
        unit = _pick(rng, department.units)
        site = _pick(rng, enterprise.sites[_pick(rng, department.site_kinds)])
        past = None
        if rng.random() < TRANSFER_RATE:
            others = [d for d in departments if d.id != department.id]
            w = np.array([d.weight for d in others])
            past = _pick(rng, others, w / w.sum())
        person = Person(f"e{i + 1:0{width}d}", department, unit, seniority, site, past)
        _competences(rng, person, taxonomy, enterprise)
        people.append(person)
    return people


def level_matrix(people: list[Person], n_skills: int) -> np.ndarray:
    """``(n_people, n_skills)`` matrix of competence levels, 0 where a skill is not held."""
    matrix = np.zeros((len(people), n_skills))
    for row, person in enumerate(people):
        for column, level in person.levels.items():
            matrix[row, column] = level
    return matrix
