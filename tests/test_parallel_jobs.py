"""Grid jobs side by side (profile=default's joblib launcher): each fills a cache entry once.

Two jobs that need the same synthetic data and the same adapter set (``ft_full``'s global adapter
is ablation's "nothing dropped" one) run at once under Hydra's joblib launcher: both finish, each
on its share of the cores, and every adapter set is trained once (:func:`bench.core.io.cache_lock`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
from pathlib import Path

from tests.test_grid import TINY


def _hold(entry: str, started: str, seconds: float) -> None:
    from bench.core.io import cache_lock

    with cache_lock(entry):
        Path(started).write_text("held")
        time.sleep(seconds)
        Path(entry).mkdir()


def test_cache_lock_makes_the_second_filler_wait_for_the_first(tmp_path: Path) -> None:
    from bench.core.io import cache_lock

    entry, started = tmp_path / "cache" / "key", tmp_path / "started"
    holder = multiprocessing.get_context("spawn").Process(target=_hold, args=(str(entry), str(started), 1.5))
    holder.start()
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.05)
    with cache_lock(entry):  # blocks until the holder has filled the entry and let go
        assert entry.is_dir()
    holder.join(timeout=60)
    assert holder.exitcode == 0


def test_two_jobs_at_once_train_their_shared_adapter_once(run_teamform, tmp_path: Path) -> None:
    proc = run_teamform(
        "grid",
        "profile=quick",
        "logger=none",
        "experiment=ft_full,ablation",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "hydra.launcher.batch_size=1",
        *TINY,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    grid = Path(proc.stdout.strip().splitlines()[-1])
    jobs = {j["experiment"]: j for j in json.loads((grid / "grid.json").read_text())["jobs"]}
    assert {e: j["status"] for e, j in jobs.items()} == {"ft_full": "ok", "ablation": "ok"}
    threads = max(1, (os.cpu_count() or 1) // 2)
    assert all(j["threads"] == threads for j in jobs.values())  # each job its share of the cores
    # ablation trains one set per dropped aspect and the "nothing dropped" one, which is ft_full's
    logs = "".join((grid / j["dir"] / "grid.log").read_text() for j in jobs.values())
    trained = re.findall(r"training adapter set (\w+)", logs)
    sets = {d.name for d in (tmp_path / "cache" / "adapters").iterdir()}  # entries only: locks are apart
    assert sorted(trained) == sorted(sets) and len(sets) == 6, trained  # 5 aspects + none dropped
    assert all((tmp_path / "cache" / "adapters" / s / "metadata.json").exists() for s in sets)
    assert len(list((tmp_path / "cache" / "synth").iterdir())) == 1  # one artifact, filled once
