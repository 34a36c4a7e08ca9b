"""Simulated profiles for datasets whose hidden truth is relevance only (``data=onet``).

Without a skill taxonomy the simulator cannot *write* a profile, so it *excerpts* real ones:

- the ideal profile (curriculum) of a seed task is an excerpt of one of its owners, the
  employees with the task's top grade: per aspect a random ~70% of the sentences, shuffled,
  sometimes with one sentence of an unrelated employee mixed in (``distractor_rate``);
- the four hard negatives are excerpts of non-relevant employees (grade 0) at decreasing
  closeness to that owner. With O*NET-SOC codes as ids (``15-1252.00``) closeness is the
  occupational hierarchy: level 4 (most similar) shares the broad occupation (``15-125``), level 3
  the minor group (``15-12``), level 2 the major group (``15``), level 1 nothing. A level with no
  candidate takes the nearest harder-to-easier one that has some.

Every choice comes from the ``rng`` the caller seeds per request, so a rerun is identical.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence

from bench.core.dataset import Dataset

KEEP = 0.7
_SENTENCE = re.compile(r"(?<=[.;!?])\s+")
_SOC = re.compile(r"^(\d\d)-(\d\d)(\d)(\d)")


def sentences(text: str) -> list[str]:
    """The sentences (or ``;``-separated items) of a text, stripped, without empty ones."""
    return [s.strip() for s in _SENTENCE.split(text or "") if s.strip()]


def excerpt(
    aspects: Mapping[str, str],
    wanted: Sequence[str],
    rng: random.Random,
    distractor: Mapping[str, str] | None = None,
    keep: float = KEEP,
) -> dict[str, str]:
    """One text per wanted aspect: a shuffled ``keep`` share of the sentences of ``aspects``.

    Args:
        aspects: the source employee's ``{aspect: text}``.
        wanted: the aspects to write (a missing one becomes ``"Not stated."``).
        rng: the request's seeded generator.
        distractor: another employee's aspects; one of its sentences joins each aspect when given.
        keep: share of the sentences kept (at least one).
    """
    out = {}
    for aspect in wanted:
        parts = sentences(aspects.get(aspect, ""))
        chosen = rng.sample(parts, max(1, math.ceil(keep * len(parts)))) if parts else []
        extra = sentences((distractor or {}).get(aspect, ""))
        if extra:
            chosen.insert(rng.randrange(len(chosen) + 1), rng.choice(extra))
        out[aspect] = " ".join(chosen) or "Not stated."
    return out


def soc_closeness(a: str, b: str) -> int:
    """4 - level of the O*NET-SOC hierarchy two codes share: 3 broad, 2 minor, 1 major, 0 none.

    Codes that are not O*NET-SOC share nothing.

    Example:
        >>> soc_closeness("15-1252.00", "15-1251.00"), soc_closeness("15-1252.00", "15-2031.00")
        (3, 1)
    """
    ma, mb = _SOC.match(a), _SOC.match(b)
    if not ma or not mb:
        return 0
    shared = 0
    for key in ((1,), (1, 2), (1, 2, 3)):
        if all(ma.group(i) == mb.group(i) for i in key):
            shared += 1
    return shared


def owner(relevance: Mapping[str, int], rng: random.Random) -> str:
    """One employee with the task's top grade (the person the ideal profile is excerpted from)."""
    top = max(relevance.values())
    return rng.choice(sorted(e for e, g in relevance.items() if g == top))


def negative_employees(
    dataset: Dataset, relevance: Mapping[str, int], anchor: str, rng: random.Random
) -> dict[int, str]:
    """A non-relevant employee per level 4..1, by closeness to ``anchor`` (see the module docstring)."""
    pool: dict[int, list[str]] = {c: [] for c in range(4)}
    for employee in dataset.employee_ids:
        if relevance.get(employee, 0) <= 0:
            pool[soc_closeness(anchor, employee)].append(employee)
    out = {}
    for level in (4, 3, 2, 1):
        closeness = level - 1
        order = [closeness, *range(closeness - 1, -1, -1), *range(closeness + 1, 4)]  # nearest easier first
        source = next((c for c in order if pool[c]), None)
        if source is None:
            raise ValueError("every employee is relevant to the task: no negative to excerpt")
        out[level] = rng.choice(pool[source])
    return out
