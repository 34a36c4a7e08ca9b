"""Rank fusion: :mod:`aggregators` against ranx ``fuse`` on 500 tasks x 1,000 candidates x 5 aspects.

Input: every aspect ranks every candidate, without score ties. Each aspect's ranking is a shared
per-task order with some disjoint adjacent pairs swapped (each pair with probability 0.3), and
its scores are distinct random values placed in that order. Two majorities of 5 aspects always
share an aspect, so no two overlapping adjacent pairs are both reversed by a majority: the
pairwise-majority relation is a strict order, and Condorcet-fuse has a unique answer to agree on.

Ranx gets one ``Run`` per aspect (built before timing; its numba kernels are compiled by a
warm-up call on a small input). Ranx's Borda and Condorcet take about 0.15-0.25 s and 0.45-1 s
per task here (minutes for 500 tasks), so for those two ranx fuses the first ``K`` tasks and its time is
scaled by ``500 / K`` (ranx fuses each task on its own, so its time is linear in tasks); ours
always fuses all 500. Pairs compared (each checked before timing, to 1e-9): ``borda`` +
``m`` = ``bordafuse`` (the documented one-point-per-aspect constant), ``rrf`` = ``rrf``,
``combsum`` = ``sum`` and ``combmnz`` = ``mnz`` (both min-max normalised), ``condorcet_fuse`` =
``condorcet`` (exactly). Rank-based ranx methods run with ``norm=None`` (normalising cannot change
them). Target: ours at least 3x faster for each method.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.perf.timing import interleaved, median, paired_ratio, record

pytestmark = pytest.mark.perf

M, N_TASKS, N_ITEMS, ROUNDS, TARGET = 5, 500, 1000, 3, 3.0
# ours -> (ranx method, ranx norm, constant added to ours to equal ranx, tasks ranx fuses)
PAIRS = {
    "borda": ("bordafuse", None, float(M), 20),
    "rrf": ("rrf", None, 0.0, N_TASKS),
    "combsum": ("sum", "min-max", 0.0, N_TASKS),
    "combmnz": ("mnz", "min-max", 0.0, N_TASKS),
    "condorcet_fuse": ("condorcet", None, 0.0, 8),
}


def fusion_input(m: int, n_tasks: int, n_items: int, seed: int = 0) -> np.ndarray:
    """``(m, n_tasks, n_items)`` tie-free scores whose pairwise majority is a strict order."""
    rng = np.random.default_rng(seed)
    scores = np.empty((m, n_tasks, n_items))
    for t in range(n_tasks):
        base = rng.permutation(n_items)  # items from best to worst
        for a in range(m):
            order = base.copy()
            swap = rng.random(n_items - 1) < 0.3
            swap[1:] &= ~swap[:-1]  # disjoint pairs: no two overlapping swaps in one aspect
            for i in np.flatnonzero(swap):
                order[i], order[i + 1] = order[i + 1], order[i]
            values = np.sort(rng.random(n_items))[::-1]  # distinct, best first
            scores[a, t, order] = values
    return scores


def to_runs(scores: np.ndarray):  # noqa: ANN201 - list of ranx.Run
    import ranx

    items = [f"d{i}" for i in range(scores.shape[2])]
    return [
        ranx.Run({f"t{t}": dict(zip(items, aspect[t].tolist(), strict=True)) for t in range(scores.shape[1])})
        for aspect in scores
    ]


def from_run(run, n_tasks: int, n_items: int) -> np.ndarray:  # noqa: ANN001
    out = np.full((n_tasks, n_items), np.nan)
    for task, ranking in run.to_dict().items():
        t = int(task[1:])
        for doc, value in ranking.items():
            out[t, int(doc[1:])] = value
    return out


def ranx_fuse(runs, method: str, norm: str | None):  # noqa: ANN001, ANN201
    import ranx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ranx.fuse(runs, method=method, norm=norm)


@pytest.fixture(scope="module")
def fusion_data():
    scores = fusion_input(M, N_TASKS, N_ITEMS)
    runs = to_runs(scores)
    small_runs = to_runs(fusion_input(M, 3, 20, seed=1))
    subsets = {}
    for method, norm, _, k in PAIRS.values():
        ranx_fuse(small_runs, method, norm)  # numba JIT warm-up
        subsets[k] = runs if k == N_TASKS else to_runs(scores[:, :k])
    return scores, subsets


@pytest.mark.parametrize("name", list(PAIRS))
def test_aggregation_vs_ranx(benchmark, fusion_data, name: str) -> None:
    from aggregators import get_aggregator

    scores, subsets = fusion_data
    method, norm, constant, k = PAIRS[name]
    runs = subsets[k]
    ours_fn = get_aggregator(name)
    ours_out = ours_fn(scores)[:k]  # (k, n_items): the tasks ranx fuses
    theirs = from_run(ranx_fuse(runs, method, norm), k, N_ITEMS)
    if name == "condorcet_fuse":
        worst = float(np.abs(ours_out - theirs).max())
        agree = worst == 0.0
    else:
        worst = float(np.abs(ours_out + constant - theirs).max())
        agree = worst <= 1e-9
    same_order = bool(
        (np.argsort(-ours_out, axis=1, kind="stable") == np.argsort(-theirs, axis=1, kind="stable")).all()
    )
    assert agree and same_order, (
        f"{name} vs ranx {method}: max difference {worst:.2e}, same order {same_order}"
    )

    ours_s, peer_s = interleaved(
        benchmark, lambda: ours_fn(scores), lambda: ranx_fuse(runs, method, norm), ROUNDS
    )
    peer_s = [t * N_TASKS / k for t in peer_s]  # per 500 tasks
    ratio = paired_ratio(ours_s, peer_s)
    shift = f" + {constant:g}" if constant else ""
    scaled = "" if k == N_TASKS else f", timed on {k} tasks, scaled x{N_TASKS / k:g}"
    record(
        benchmark,
        f"aggregation: {name}, {N_TASKS} tasks x {N_ITEMS:,} candidates x {M} aspects",
        ours=f"{median(ours_s):.3f} s",
        peer=f"{median(peer_s):.2f} s (ranx {method}{scaled})",
        ratio=ratio,
        target=f">= {TARGET:g}x",
        holds=ratio >= TARGET,
        agree=agree and same_order,
        detail=f"ours{shift} = ranx on {k} tasks: max abs diff {worst:.1e}, identical rankings",
        ours_s=ours_s,
        peer_s=peer_s,
        peer_tasks=k,
    )
