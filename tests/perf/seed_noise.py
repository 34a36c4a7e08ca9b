"""Seed noise: how far two sets of grids differ, against how far each set's seeds differ.

Usage::

    python -m tests.perf.seed_noise --a GRID GRID GRID --b GRID GRID GRID [--metric ndcg@5]

Each ``--a`` / ``--b`` directory is a finished ``teamform grid`` (one seed each, e.g. ``seed=0``,
``seed=1``, ``seed=2`` of one profile). Read from the stored results, nothing recomputed but the
intervals: for every system that every grid scored, the mean of ``--metric`` over test tasks in
each grid; per set, the standard deviation of those means over its seeds (seed noise) and the
median width of the report's 95% bootstrap interval over tasks; then how many systems' mean over
set B's seeds lies within two standard errors of set A's (``sqrt(sd_a^2 / n_a + sd_b^2 / n_b)``)
and within the range of A's seeds, the systems that moved most, and the key rows of the report
with their relative change against the reference (``minilm/concat`` unless ``--reference``).
Markdown on stdout. Numbers only.

It answers the question of issue 20's acceptance ("differences shown to be within seed noise,
three seeds") for a change that alters numerics; it is not part of ``make test``.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from bench.metrics.significance import bootstrap_ci
from reports.grid import load_grid

KEY_ROWS = (
    "minilm/concat",
    "minilm+lora-global-full/concat",
    "minilm+lora-global-curriculums/concat",
    "minilm+lora-global-labels/concat",
    "minilm+lora-global-full/condorcet",
    "minilm+lora-global-full/condorcet_fuse",
    "minilm+lora-global-full/weighted_combsum",
    "minilm+lora-specialised-full/condorcet",
    "minilm+lora-global-full-no-behavior/condorcet",
    "minilm+lora-global-full-neg-curriculum/condorcet",
    "minilm+lora-global-full-neg-random/condorcet",
    "minilm[ata]+lora-global-full/concat",
)


def per_task(grid: Path, metric: str) -> tuple[dict[str, dict[str, float]], dict[str, object]]:
    """``system -> task -> value`` of one grid (the first job that scored a system) and its provenance."""
    meta, jobs = load_grid(grid)
    systems: dict[str, dict[str, float]] = {}
    for job in jobs:
        for name, system in job.results.get("systems", {}).items():
            if name not in systems:
                systems[name] = {t: float(v[metric]) for t, v in system["per_task"].items() if metric in v}
    return systems, meta.get("provenance", {})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", nargs="+", required=True, type=Path, help="the grids of set A (one per seed)")
    parser.add_argument("--b", nargs="+", required=True, type=Path, help="the grids of set B (one per seed)")
    parser.add_argument("--metric", default="ndcg@5", help="the metric compared (default ndcg@5)")
    parser.add_argument("--reference", default="minilm/concat", help="the row relative changes are against")
    args = parser.parse_args(argv)
    sets = {"A": [per_task(g, args.metric) for g in args.a], "B": [per_task(g, args.metric) for g in args.b]}
    names = sorted(set.intersection(*(set(s) for grids in sets.values() for s, _ in grids)))
    if not names:
        print("seed_noise: no system is scored by every grid", file=sys.stderr)
        return 1
    stats = {label: _stats(grids, names) for label, grids in sets.items()}
    print(f"## Seed noise of {args.metric} ({len(names)} systems scored by every grid)\n")
    print(
        "| set | grids | profile | seeds | dataset hash | wall-clock "
        "| median seed sd (of those that vary) | max seed sd | median 95% CI width |"
    )
    print("|---|---:|---|---|---|---|---:|---:|---:|")
    for label, grids in sets.items():
        _, widths, sd = stats[label]
        prov = [p for _, p in grids]
        cells = [_join(p.get(key) for p in prov) for key in ("profile", "seeds", "dataset_hash")]
        cells.append(_join(_secs(p.get("wall_clock_s")) for p in prov))
        print(
            f"| {label} | {len(grids)} | {' | '.join(cells)} "
            f"| {_median(sd):.4f} ({_median(sd[sd > 0]):.4f}) | {_max(sd):.4f} | {np.median(widths):.3f} |"
        )
    (ma, _, sda), (mb, _, sdb) = stats["A"], stats["B"]
    diff = mb.mean(axis=0) - ma.mean(axis=0)
    se = np.sqrt(sda**2 / len(ma) + sdb**2 / len(mb))
    within_se = int(np.sum(np.abs(diff) <= 2 * se + 1e-12))
    inside = (mb.mean(axis=0) >= ma.min(axis=0) - 1e-12) & (mb.mean(axis=0) <= ma.max(axis=0) + 1e-12)
    print(
        f"\nB's mean against A's: median |difference| {np.median(np.abs(diff)):.4f}, "
        f"max {np.abs(diff).max():.4f}; within two standard errors of the seed means: {within_se} "
        f"of {len(names)}; inside the range of A's seeds: {int(inside.sum())} of {len(names)}.\n"
    )
    print("Moved most (B - A):\n")
    print("| system | A mean (sd) | B mean (sd) | B - A | 2 SE |")
    print("|---|---:|---:|---:|---:|")
    for j in np.argsort(-np.abs(diff))[:10]:
        print(
            f"| {names[j]} | {ma[:, j].mean():.3f} ({sda[j]:.3f}) | {mb[:, j].mean():.3f} ({sdb[j]:.3f}) "
            f"| {diff[j]:+.3f} | {2 * se[j]:.3f} |"
        )
    if args.reference in names:
        _key_rows(stats, names, args.reference)
    return 0


def _stats(grids: list, names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(seeds, systems)`` means and CI widths, and the ``(systems,)`` seed sd, of one set of grids."""
    means = np.array([[np.mean(list(s[n].values())) for n in names] for s, _ in grids])
    widths = np.array([[_width(s[n]) for n in names] for s, _ in grids])
    sd = means.std(axis=0, ddof=1) if len(grids) > 1 else np.full(len(names), math.nan)
    return means, widths, sd


def _key_rows(stats: dict, names: list[str], reference: str) -> None:
    """The report's key rows: mean over seeds [lowest, highest], CI width, Δ against ``reference``."""
    ref = names.index(reference)
    print(f"\nKey rows: mean over seeds [lowest, highest], median 95% CI width, Δ against {reference}:\n")
    print("| system | A | A CI width | A Δ | B | B CI width | B Δ |")
    print("|---|---|---:|---:|---|---:|---:|")
    for name in KEY_ROWS:
        if name not in names:
            continue
        j = names.index(name)
        cells = []
        for label in ("A", "B"):
            means, widths, _ = stats[label]
            base = np.where(means[:, ref] > 0, means[:, ref], np.nan)
            delta = np.mean((means[:, j] - means[:, ref]) / base)
            cells.append(
                f"{means[:, j].mean():.3f} [{means[:, j].min():.3f}, {means[:, j].max():.3f}] "
                f"| {np.median(widths[:, j]):.3f} | {100 * delta:+.1f}%"
            )
        print(f"| {name} | {' | '.join(cells)} |")


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size and not np.isnan(values).all() else math.nan


def _max(values: np.ndarray) -> float:
    return float(np.max(values)) if values.size and not np.isnan(values).all() else math.nan


def _width(values: dict[str, float]) -> float:
    low, high = bootstrap_ci(list(values.values()))
    return high - low


def _join(values: object) -> str:
    items = [str(v) for v in values]  # type: ignore[attr-defined]
    return items[0] if len(set(items)) == 1 else ", ".join(items)


def _secs(value: object) -> str:
    return f"{float(value):.0f} s" if isinstance(value, int | float) else "?"


if __name__ == "__main__":
    sys.exit(main())
