"""The organisation of the simulated enterprise, read from ``enterprise.yaml``.

Departments, their units (each tied to a few skills), sites, seniority levels with the paper's
head-counts (Drummond and Veloso (2024), section 4.1) and project themes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bench.core.errors import DataError
from bench.data.demo.taxonomy import Taxonomy, load_taxonomy, read_yaml

PATH = "bench/data/demo/enterprise.yaml"


@dataclass(frozen=True)
class Unit:
    name: str
    skills: tuple[int, ...]  # taxonomy columns


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    weight: float
    shop_floor: bool
    site_kinds: tuple[str, ...]
    senior_titles: tuple[str, ...]
    areas: dict[str, float]  # area id -> weight of drawing a skill from it
    employers: tuple[str, ...]
    units: tuple[Unit, ...]


@dataclass(frozen=True)
class Seniority:
    name: str
    paper_count: int
    rank: int  # 1 = Senior ... 5 = Director


@dataclass(frozen=True)
class ProjectTheme:
    name: str
    site_kind: str | None
    areas: tuple[str, ...]
    skills: tuple[int, ...]  # taxonomy columns of the skills its tasks mostly need


@dataclass(frozen=True)
class Enterprise:
    context: str
    seniority: tuple[Seniority, ...]
    leadership_skills: dict[str, tuple[int, int]]
    sites: dict[str, tuple[str, ...]]
    departments: tuple[Department, ...]
    generic_abilities: tuple[str, ...]
    projects: tuple[ProjectTheme, ...]


def _check_areas(areas: Any, taxonomy: Taxonomy, where: str) -> None:
    for area in areas:
        if area not in taxonomy.areas:
            raise DataError(
                PATH, f"{where} names unknown area {area!r}", fix=f"use one of {', '.join(taxonomy.areas)}"
            )


def _parse(raw: dict[str, Any], taxonomy: Taxonomy) -> Enterprise:
    sites = {kind: tuple(names) for kind, names in raw["sites"].items()}
    departments = []
    for d in raw["departments"]:
        _check_areas(d["areas"], taxonomy, f"department {d['id']!r}")
        for kind in d["sites"]:
            if kind not in sites:
                raise DataError(PATH, f"department {d['id']!r} names unknown site kind {kind!r}")
        units = tuple(Unit(u["name"], tuple(taxonomy.index(s) for s in u["skills"])) for u in d["units"])
        departments.append(
            Department(
                d["id"],
                d["name"],
                float(d["weight"]),
                bool(d["shop_floor"]),
                tuple(d["sites"]),
                tuple(d["senior_titles"]),
                {a: float(w) for a, w in d["areas"].items()},
                tuple(d["employers"]),
                units,
            )
        )
    projects = []
    for p in raw["projects"]:
        _check_areas(p["areas"], taxonomy, f"project {p['name']!r}")
        if p.get("site") and p["site"] not in sites:
            raise DataError(PATH, f"project {p['name']!r} names unknown site kind {p['site']!r}")
        skills = tuple(taxonomy.index(s) for s in p["skills"])
        projects.append(ProjectTheme(p["name"], p.get("site"), tuple(p["areas"]), skills))
    return Enterprise(
        context=" ".join(raw["context"].split()),
        seniority=tuple(
            Seniority(s["name"], int(s["paper_count"]), int(s["rank"])) for s in raw["seniority"]
        ),
        leadership_skills={k: (int(v[0]), int(v[1])) for k, v in raw["leadership_skills"].items()},
        sites=sites,
        departments=tuple(departments),
        generic_abilities=tuple(raw["generic_abilities"]),
        projects=tuple(projects),
    )


@lru_cache(maxsize=1)
def load_enterprise() -> Enterprise:
    """The enterprise shipped with the package (parsed once per process)."""
    return _parse(read_yaml("enterprise.yaml"), load_taxonomy())


@lru_cache(maxsize=1)
def load_phrasing() -> dict[str, Any]:
    """The sentence templates of ``phrasing.yaml``."""
    return read_yaml("phrasing.yaml")
