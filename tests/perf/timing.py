"""Interleaved timing of ours against a peer, and the record the table is built from.

Each workload is one pytest-benchmark test: pytest-benchmark times *ours* with
``benchmark.pedantic`` and a fixed number of rounds, and the ``setup`` hook of every round runs
and times the *peer* first (setup time is not counted in ours). Ours and the peer thus alternate
round by round, so both see the same load on a shared machine. The ratio is the median of the
per-round ratios ``peer_i / ours_i`` (how many times faster ours is).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def interleaved(
    benchmark: Any, ours: Callable[[], Any], peer: Callable[[], Any], rounds: int
) -> tuple[list[float], list[float]]:
    """Time ``ours`` (pytest-benchmark) and ``peer`` (in the round's setup) alternately.

    Args:
        benchmark: the pytest-benchmark fixture.
        ours: one round of our implementation.
        peer: one round of the peer library on the same input.
        rounds: timed rounds of each.

    Returns:
        ``(ours seconds per round, peer seconds per round)``, in round order.
    """
    peer_times: list[float] = []

    def setup() -> None:
        start = time.perf_counter()
        peer()
        peer_times.append(time.perf_counter() - start)

    benchmark.pedantic(ours, setup=setup, rounds=rounds, iterations=1, warmup_rounds=0)
    ours_times = list(benchmark.stats.stats.data)
    return ours_times, peer_times


def paired_ratio(ours: list[float], peer: list[float]) -> float:
    """Median over rounds of ``peer_i / ours_i``."""
    return statistics.median(p / o for o, p in zip(ours, peer, strict=True))


def record(
    benchmark: Any,
    workload: str,
    *,
    ours: str,
    peer: str,
    ratio: float | None,
    target: str,
    holds: bool | None,
    agree: bool,
    detail: str,
    **extra: Any,
) -> None:
    """Store one table row in the benchmark's ``extra_info`` (written to ``--benchmark-json``).

    Args:
        benchmark: the pytest-benchmark fixture.
        workload: the row name.
        ours, peer: the measured values as shown (with units).
        ratio: the headline ratio, or ``None`` where there is none.
        target: the target as text (``">= 1.2x"``).
        holds: whether the target holds (``None``: no target).
        agree: whether ours and the peer produced the same output (checked before timing).
        detail: what was compared and how close it was.
        extra: raw numbers kept in the JSON (round times, sizes...).
    """
    benchmark.extra_info.update(
        {
            "workload": workload,
            "ours": ours,
            "peer": peer,
            "ratio": ratio,
            "target": target,
            "holds": holds,
            "agree": bool(agree),
            "detail": detail,
            "threads": int(os.environ.get("BENCH_THREADS", "1")),
            **extra,
        }
    )


def median(values: list[float]) -> float:
    return statistics.median(values)
