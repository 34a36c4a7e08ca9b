"""Which multi-granularity hard-negative level a training step uses (``train.negatives.schedule``).

Negative Matters (2025), section 2.1 trains with four hard negatives per query ordered by
similarity and feeds them coarse-to-fine: the easiest level for the first 25 % of the steps, the
next for the following 25 %, and so on. Section 4.1 ablates that order: ``reverse`` (hardest
first), ``random`` (a random level per example and step) and ``fixed`` (one level throughout).
``none`` trains without hard negatives.

Levels follow ``docs/synthetic-data.md``: 1 = least similar to the ideal profile (easiest),
4 = most similar (hardest). With ``K`` levels each phase lasts ``1/K`` of the steps.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from bench.core.errors import ConfigError, unknown_choice


def _phase(step: int, total_steps: int, n_levels: int) -> int:
    """Index of the equal-length phase ``step`` falls in: ``floor(K * step / total)``, at most ``K - 1``."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be > 0, got {total_steps}")
    return min(n_levels - 1, max(0, step) * n_levels // total_steps)


def curriculum_level(step: int, total_steps: int, levels: Sequence[int], level: int | None, key: int) -> int:
    """Easiest level first, ``1/K`` of the steps per level (Negative Matters (2025), section 2.1)."""
    return levels[_phase(step, total_steps, len(levels))]


def reverse_level(step: int, total_steps: int, levels: Sequence[int], level: int | None, key: int) -> int:
    """Hardest level first (Negative Matters (2025), section 4.1, "reverse curriculum")."""
    return levels[len(levels) - 1 - _phase(step, total_steps, len(levels))]


def random_level(step: int, total_steps: int, levels: Sequence[int], level: int | None, key: int) -> int:
    """A level drawn uniformly per (seeded) example key and step: reproducible, order-free."""
    return levels[random.Random(key * 1_000_003 + step).randrange(len(levels))]


def fixed_level(step: int, total_steps: int, levels: Sequence[int], level: int | None, key: int) -> int:
    """Always ``train.negatives.level``."""
    if level is None or level not in levels:
        raise ConfigError(
            f"train.negatives.level={level} is not one of the artifact's levels {list(levels)}; "
            "set train.negatives.level to one of them for schedule=fixed"
        )
    return level


LevelFn = Callable[[int, int, Sequence[int], "int | None", int], int]

# The one mapping of schedule names users type in `train.negatives.schedule` (`none`: no hard negatives).
SCHEDULES: dict[str, LevelFn | None] = {
    "curriculum": curriculum_level,
    "reverse": reverse_level,
    "random": random_level,
    "fixed": fixed_level,
    "none": None,
}


def check_schedule(name: str) -> str:
    if name not in SCHEDULES:
        raise unknown_choice("train.negatives.schedule", name, SCHEDULES)
    return name


def scheduled_level(
    schedule: str, step: int, total_steps: int, levels: Sequence[int], level: int | None = None, key: int = 0
) -> int | None:
    """The hard-negative level for optimizer step ``step`` of ``total_steps``.

    Args:
        schedule: a key of :data:`SCHEDULES`.
        step: 0-based optimizer step.
        total_steps: optimizer steps of the whole run.
        levels: the levels the artifact has, easiest first (usually ``[1, 2, 3, 4]``).
        level: the level of ``fixed``.
        key: an integer identifying the example (``random`` draws from it and ``step``).

    Returns:
        The level, or ``None`` for ``none`` or when there are no levels.

    Example:
        >>> [scheduled_level("curriculum", s, 8, [1, 2, 3, 4]) for s in range(8)]
        [1, 1, 2, 2, 3, 3, 4, 4]
    """
    fn = SCHEDULES[check_schedule(schedule)]
    if fn is None or not levels:
        return None
    return fn(step, total_steps, sorted(levels), level, key)


def nearest_level(wanted: int, available: Sequence[int]) -> int:
    """The available level closest to ``wanted`` (the easier one on a tie), for tasks missing a level."""
    return min(available, key=lambda lv: (abs(lv - wanted), lv))
