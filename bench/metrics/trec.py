"""TREC run files: ``task_id Q0 employee_id rank score run_name``, top ``depth`` per task.

Employee ids and numbers only. Ranks follow trec_eval's order (score descending, ties broken by
employee id descending), so a file read back by trec_eval gives the values in ``results.json``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from bench.core.io import atomic_write_text
from bench.metrics._ranking import trec_order, trec_tiebreak


def system_filename(system: str) -> str:
    """``minilm/condorcet`` -> ``minilm__condorcet.trec`` (``docs/design.md`` section 5)."""
    encoder, _, view = system.partition("/")
    return f"{encoder}__{view}.trec".replace("/", "_")


def format_run(
    task_ids: list[str], item_ids: list[str], scores: np.ndarray, run_name: str, depth: int = 100
) -> str:
    """Rows of a TREC run for a ``(n_tasks, n_items)`` score matrix (NaN = not retrieved).

    Rows follow trec_eval's own order (:func:`bench.metrics._ranking.trec_order`); scores are
    written as float32 with 9 significant digits, which round-trips exactly, so trec_eval reading
    the file ranks the items as the harness did.
    """
    order = trec_order(scores, trec_tiebreak(list(item_ids)))[:, :depth]  # (n_tasks, depth)
    run_name = "_".join(run_name.split())  # one field: aspect names may hold spaces
    lines = []
    for row, task in enumerate(task_ids):
        rank = 0
        for j in order[row]:
            value = scores[row, j]
            if math.isnan(value) or value == -math.inf:
                break
            rank += 1
            lines.append(f"{task} Q0 {item_ids[j]} {rank} {np.float32(value):.9g} {run_name}")
    return "\n".join(lines) + ("\n" if lines else "")


def write_run(
    path: Path, task_ids: list[str], item_ids: list[str], scores: np.ndarray, run_name: str, depth: int = 100
) -> Path:
    return atomic_write_text(path, format_run(task_ids, item_ids, scores, run_name, depth))


def read_run(path: Path) -> dict[str, dict[str, float]]:
    """Parse a TREC run file into ``task_id -> {employee_id: score}``."""
    run: dict[str, dict[str, float]] = {}
    for line in Path(path).read_text().splitlines():
        task, _, item, _, score, _ = line.split()
        run.setdefault(task, {})[item] = float(score)
    return run
