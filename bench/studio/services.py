"""What the label studio asks of the rest of the harness, as injected callables.

The web app holds no model code: the orchestration (``bench/run/``) builds these from the
configured system and LLM and hands them to :func:`bench.studio.app.create_app`; tests pass
deterministic doubles. Every callable is called from a worker thread, one request at a time per
browser, so it may block (embed, call the LLM) but should be thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bench.core.dataset import Employee, Task


class RankTopK(Protocol):
    """The chosen system's ranking, feeding the ``label.top_share`` of the sample.

    Args:
        task_ids: evaluation task ids of the dataset.
        k: how many employees per task (``label.top_k``).

    Returns:
        ``task_id -> [employee_id, ...]``, best first, at most ``k`` each; a task may be absent.

    Example:
        >>> rank_top_k(["t1", "t2"], 3)  # doctest: +SKIP
        {'t1': ['e4', 'e17', 'e2'], 't2': ['e9', 'e4', 'e11']}
    """

    def __call__(self, task_ids: list[str], k: int) -> dict[str, list[str]]: ...


class ProposeTeam(Protocol):
    """``teamform team`` for one project: the proposed team with its explanations.

    Args:
        project: the project name.
        tasks: the task texts, in order.

    Returns:
        A ``team.json``-shaped dict::

            {"project": str, "system": str, "solver": str, "objective": str,
             "tasks": [{"task": task_id, "text": task text,
                        "assigned": [{"employee_id": str, "fused_score": float,
                                      "aspects": {aspect: {"rank": int, "score": float}}}],
                        "next": [{"employee_id": str, "fused_score": float}, ...],
                        "displaced": None | {"employee_id": str, "taken_by": task_id}}]}

        ``tasks`` is in the order of the argument; the studio matches them by position and
        replaces each ``task`` id by its own (a fresh id for a task typed in the team builder).
    """

    def __call__(self, project: str, tasks: list[str]) -> dict[str, Any]: ...


class SplitProject(Protocol):
    """Split a project description into task texts (the LLM's split, or one task per line)."""

    def __call__(self, text: str) -> list[str]: ...


class SyntheticLabeller(Protocol):
    """The configured ``llm=`` labelling prompt on task-employee pairs (for ``teamform label stats``).

    Returns:
        One label per pair (0 = not relevant, a positive grade = relevant), in order.
    """

    def __call__(self, pairs: list[tuple[Task, Employee]]) -> list[int]: ...


def split_lines(text: str) -> list[str]:
    """One task per non-empty line, bullets and numbering removed.

    Example:
        >>> split_lines("- Plan the downtime\\n\\n2. Order the bricks")
        ['Plan the downtime', 'Order the bricks']
    """
    tasks = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*•").strip()
        head, dot, rest = line.partition(".")
        if dot and head.isdigit():
            line = rest.strip()
        if line:
            tasks.append(line)
    return tasks


@dataclass(frozen=True)
class StudioServices:
    """The callables a studio uses; ``None`` turns the feature off with a clear message.

    Attributes:
        rank_top_k: needed when ``label.top_share > 0``.
        propose_team: needed by the team builder's "Propose team".
        split_project: the team builder's "Split into tasks" (default: one task per line).
    """

    rank_top_k: RankTopK | None = None
    propose_team: ProposeTeam | None = None
    split_project: SplitProject | Callable[[str], list[str]] = split_lines
