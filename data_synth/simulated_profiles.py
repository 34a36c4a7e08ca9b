"""Employee profiles the simulated backend writes from hidden skills (curriculums and negatives).

A profile is rendered from a list of skill ids of the dataset's :class:`bench.core.dataset.GroundTruth`
(``skills[id] = {"label", "area", "paraphrases", "description"}``), one text per aspect of the
data. Each skill mention uses the skill's label, or with probability ``paraphrase_noise`` one of its
paraphrases, so a curriculum does not simply repeat the words of the taxonomy; with probability
``distractor_rate`` an unrelated skill is mentioned too.

Negatives (Negative Matters (2025), section 2.1: four negatives of graded similarity) have a
controlled overlap with the task's needed skills ``N`` (``n = |N|``). Level 4 is the most similar
(hardest), level 1 the least similar (easiest), as ``docs/synthetic-data.md`` numbers them:

=====  ======================================  ==============================  ======================
level  needed skills held as competences         other skills                    shared with the ideal
=====  ======================================  ==============================  ======================
4      ``n - 1`` (the missing one as a goal)     siblings from the same area(s)  seniority, behaviour
3      ``max(1, floor((n - 1) / 2))``, 0 if n=1  siblings from the same area(s)  behaviour, goals
2      0                                         siblings from the same area(s)  goals
1      0                                         skills of another area          nothing
=====  ======================================  ==============================  ======================

so no negative holds every needed skill, each level shares what the level below it shares and
more, and the share of the task's skills, area and wording falls with the level, as an LLM asked
for four negatives of decreasing similarity would write them. (Before ``simulated-v2``, level 3
kept ``floor((n - 1) / 2)`` needed skills and no goals: with two needed skills it kept none and
came out as similar to the task as level 2; Negative Matters (2025), Table 4, wants the
similarity to fall level by level.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

SENIORITY = ("Coordinator", "Senior specialist", "Supervisor", "Manager")
SOFT_SKILLS = (
    "communicates clearly with colleagues on the shop floor and in the office",
    "keeps commitments and flags risks early",
    "is calm under pressure and organises the team's priorities well",
    "listens before deciding and gives useful feedback",
    "takes ownership of problems and follows them through",
    "shares knowledge readily and coaches newer colleagues",
    "works methodically and documents decisions",
    "builds good relations with suppliers and customers",
)
GENERIC_ABILITIES = ("teamwork", "Microsoft Office", "problem solving", "time management", "English")


class SkillBook:
    """Look-ups over the hidden skill taxonomy: areas, siblings, mentions.

    Args:
        skills: ``skill_id -> {"label", "area", "paraphrases", "description"}``.
    """

    def __init__(self, skills: dict[str, dict[str, Any]]) -> None:
        self.skills = skills
        self.by_area: dict[str, list[str]] = {}
        for sid in sorted(skills):
            self.by_area.setdefault(str(skills[sid].get("area", "general")), []).append(sid)
        self.areas = sorted(self.by_area)

    def area(self, sid: str) -> str:
        return str(self.skills[sid].get("area", "general"))

    def mention(self, sid: str, rng: random.Random, noise: float) -> str:
        """The skill's label, or a random paraphrase with probability ``noise``."""
        skill = self.skills[sid]
        paraphrases = [p for p in skill.get("paraphrases", []) if p]
        if paraphrases and rng.random() < noise:
            return str(rng.choice(paraphrases))
        return str(skill.get("label", sid))

    def describe(self, sid: str, rng: random.Random, noise: float) -> str:
        """The skill's description (third person, lower-cased: it follows "someone who"), or a
        paraphrase with probability ``noise`` or when it has none."""
        description = str(self.skills[sid].get("description", "")).strip().rstrip(".")
        if description and rng.random() >= noise:
            return description[0].lower() + description[1:]
        return self.mention(sid, rng, 1.0)

    def siblings(self, needed: Sequence[str], count: int, rng: random.Random) -> list[str]:
        """``count`` skills from the areas of ``needed`` that are not needed themselves."""
        areas = {self.area(s) for s in needed}
        pool = sorted({s for a in areas for s in self.by_area[a]} - set(needed))
        return rng.sample(pool, min(count, len(pool)))

    def strangers(self, needed: Sequence[str], count: int, rng: random.Random) -> list[str]:
        """``count`` skills from one area that none of ``needed`` belongs to."""
        areas = {self.area(s) for s in needed}
        others = [a for a in self.areas if a not in areas] or self.areas
        area = rng.choice(others)
        pool = [s for s in self.by_area[area] if s not in needed]
        return rng.sample(pool, min(count, len(pool)))


@dataclass(frozen=True)
class Style:
    """The parts of a profile that are not skills: seniority, years, the manager's evaluation."""

    seniority: str
    years: int
    behaviour: tuple[str, str]

    @classmethod
    def draw(cls, rng: random.Random) -> Style:
        return cls(rng.choice(SENIORITY), rng.randint(3, 18), tuple(rng.sample(SOFT_SKILLS, 2)))


def render_profile(
    book: SkillBook,
    competences: Sequence[str],
    goals: Sequence[str],
    aspects: Sequence[str],
    rng: random.Random,
    noise: float,
    distractor_rate: float,
    style: Style | None = None,
) -> dict[str, str]:
    """One text per aspect describing a person with ``competences`` who wants to learn ``goals``.

    Known aspect names (role, abilities, experience, goals, behavior) get their own kind of text;
    any other aspect lists the competences in prose. ``style`` fixes seniority, years and the
    evaluation (drawn from ``rng`` when ``None``).
    """
    style = Style.draw(rng) if style is None else style
    skills = list(competences) or list(goals)
    lead = skills[0] if skills else None
    area = book.area(lead) if lead else "operations"
    mentions = [book.mention(s, rng, noise) for s in competences]
    if rng.random() < distractor_rate:
        mentions.append(book.mention(rng.choice(sorted(book.skills)), rng, noise))
    if rng.random() < 0.5:
        mentions.append(rng.choice(GENERIC_ABILITIES))
    rng.shuffle(mentions)
    listed = ", ".join(mentions) if mentions else "general operations"
    texts: dict[str, str] = {}
    for aspect in aspects:
        name = aspect.lower()
        if name == "role":
            duties = (
                " and ".join(book.mention(s, rng, noise) for s in competences[:2]) or "day-to-day operations"
            )
            texts[aspect] = f"{style.seniority} in {area}, responsible for {duties}."
        elif name in ("abilities", "skills"):
            texts[aspect] = listed[0].upper() + listed[1:] + "."
        elif name == "experience":
            years = style.years
            parts = [f"Has worked on {book.mention(s, rng, 1.0)}" for s in competences]
            if lead is not None and competences:
                parts.append(f"Known as someone who {book.describe(lead, rng, 0.0)}")
            texts[aspect] = (
                f"{years} years in {area}. " + ". ".join(parts or ["Broad general experience"]) + "."
            )
        elif name == "goals":
            wanted = [book.mention(s, rng, noise) for s in goals]
            texts[aspect] = (
                ("Wants to develop further in " + " and ".join(wanted) + ".")
                if wanted
                else ("Wants to take on more responsibility.")
            )
        elif name in ("behavior", "behaviour"):
            a, b = style.behaviour
            texts[aspect] = f"According to the last evaluation, {a}, and {b}."
        else:
            texts[aspect] = f"Works with {listed}."
    return texts


def negative_plan(
    book: SkillBook,
    needed: Sequence[str],
    ideal_goals: Sequence[str],
    ideal: Style,
    level: int,
    rng: random.Random,
) -> tuple[list[str], list[str], Style]:
    """``(competences, goals, style)`` of the negative profile of ``level`` (see the module table)."""
    n = max(1, len(needed))
    order = list(needed)
    rng.shuffle(order)
    fresh = Style.draw(rng)
    if level == 4:
        kept = order[: n - 1]
        return kept + book.siblings(needed, n - len(kept) + 1, rng), order[n - 1 :], ideal
    if level == 3:
        kept = order[: max(1, (n - 1) // 2)] if n > 1 else []
        return (
            kept + book.siblings(needed, n - len(kept) + 1, rng),
            list(ideal_goals),
            replace(fresh, behaviour=ideal.behaviour),
        )
    if level == 2:
        return book.siblings([*needed, *ideal_goals], n + 1, rng), list(ideal_goals), fresh
    if level == 1:
        return book.strangers(needed, n + 1, rng), [], fresh
    raise ValueError(f"negative level must be 1..4, got {level}")
