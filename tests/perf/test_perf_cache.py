"""Embedding cache: a repeated ``teamform eval`` against its first run.

Two real ``teamform eval`` processes on the demo (200 employees, 20 evaluation tasks, the base
MiniLM encoder, no tracker), each with a fresh ``TEAMFORM_OUTPUTS`` and one shared
``TEAMFORM_CACHE``: the first encodes every text, the second finds every vector in the cache.
Both must write the same metrics and byte-identical TREC runs. Target: the second at most 10% of
the first's wall-clock (process start, imports and Hydra included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.perf.timing import record

pytestmark = pytest.mark.perf

OVERRIDES = ["scale.employees=200", "scale.eval_tasks=20", "eval.encoders=[base]", "logger=none"]
TARGET = 0.10


def teamform_eval(work: Path, cache: Path, outputs: Path) -> tuple[float, Path]:
    env = {**os.environ, "TEAMFORM_CACHE": str(cache), "TEAMFORM_OUTPUTS": str(outputs), "HYDRA_FULL_ERROR": "1"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bench.cli", "eval", *OVERRIDES], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr[-3000:]
    return seconds, next(outputs.rglob("results.json")).parent


def test_repeated_eval_uses_the_cache(benchmark, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    runs: list[tuple[float, Path]] = []

    def first() -> None:
        runs.append(teamform_eval(tmp_path, cache, tmp_path / "first"))

    def second() -> None:
        runs.append(teamform_eval(tmp_path, cache, tmp_path / "second"))

    benchmark.pedantic(second, setup=first, rounds=1, iterations=1, warmup_rounds=0)
    (cold_s, cold_dir), (warm_s, warm_dir) = runs
    cold, warm = (json.loads((d / "results.json").read_text()) for d in (cold_dir, warm_dir))
    trec = sorted(p.relative_to(cold_dir) for p in cold_dir.rglob("*.trec"))
    same_runs = trec and all((cold_dir / p).read_bytes() == (warm_dir / p).read_bytes() for p in trec)
    agree = cold["systems"] == warm["systems"] and bool(same_runs)
    assert agree, "the cached run's metrics or TREC files differ from the first run's"
    share = warm_s / cold_s
    record(
        benchmark, "cache: repeated `teamform eval` (200 employees, 20 tasks, MiniLM)",
        ours=f"{warm_s:.1f} s (second run, every vector cached)", peer=f"{cold_s:.1f} s (first run, cold cache)",
        ratio=share, ratio_text=f"{share:.1%} of the first", target=f"<= {TARGET:.0%} of the first", holds=share <= TARGET, agree=agree,
        detail=f"same metrics for {len(cold['systems'])} systems, {len(trec)} byte-identical TREC files",
        cold_s=cold_s, warm_s=warm_s,
    )
