"""The skill taxonomy of the simulated enterprise, read from ``taxonomy.yaml``.

Skills are kept in file order (areas in order, skills in order within an area); that order is the
column order of every competence matrix of the demo, so generation never depends on set or hash
order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from bench.core.errors import DataError

PACKAGE = "bench.data.demo"


def read_yaml(name: str) -> Any:
    """Parse one YAML data file shipped in this package (``taxonomy.yaml``, ...)."""
    text = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def skill_id(label: str) -> str:
    """The id of a skill: its label lower-cased, runs of non-alphanumerics turned into ``_``.

    Example:
        >>> skill_id("ISO 9001 quality management")
        'iso_9001_quality_management'
    """
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


@dataclass(frozen=True)
class Skill:
    """One skill: what a CV calls it (``label``) and how prose describes it."""

    id: str
    label: str
    area: str
    description: str
    paraphrases: tuple[str, ...]

    @property
    def clause(self) -> str:
        """The description as a relative clause: ``"runs the ... strength"`` (no capital, no dot)."""
        text = self.description.rstrip(".")
        return text[0].lower() + text[1:]

    def as_truth(self) -> dict[str, Any]:
        """The form :class:`bench.core.dataset.GroundTruth` stores."""
        return {
            "label": self.label,
            "area": self.area,
            "paraphrases": list(self.paraphrases),
            "description": self.description,
        }


@dataclass(frozen=True)
class Taxonomy:
    """Areas (``id -> name``) and skills in a fixed order."""

    areas: dict[str, str]
    skills: tuple[Skill, ...]

    def index(self, label: str) -> int:
        """Column of the skill called ``label``; a :class:`DataError` names an unknown label."""
        for i, skill in enumerate(self.skills):
            if skill.label == label:
                return i
        raise DataError(
            "bench/data/demo/taxonomy.yaml",
            f"no skill labelled {label!r}",
            fix="use a label spelled exactly as in taxonomy.yaml",
        )

    def area_columns(self, area: str) -> list[int]:
        """Columns of the skills of one area, in file order."""
        return [i for i, s in enumerate(self.skills) if s.area == area]


def _parse(raw: dict[str, Any]) -> Taxonomy:
    path = "bench/data/demo/taxonomy.yaml"
    areas: dict[str, str] = {}
    skills: list[Skill] = []
    seen: dict[str, str] = {}
    for area in raw["areas"]:
        areas[area["id"]] = area["name"]
        for entry in area["skills"]:
            label = entry["label"]
            sid = skill_id(label)
            if sid in seen:
                raise DataError(path, f"skill {label!r} has the same id as {seen[sid]!r}", fix="rename one")
            paraphrases = tuple(entry["paraphrases"])
            if len(paraphrases) < 2 or not entry.get("description"):
                raise DataError(path, f"skill {label!r} needs >= 2 paraphrases and a description")
            seen[sid] = label
            skills.append(Skill(sid, label, area["id"], entry["description"], paraphrases))
    return Taxonomy(areas, tuple(skills))


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the package (parsed once per process)."""
    return _parse(read_yaml("taxonomy.yaml"))
