"""``make bench-grid``: the default grid from a cold cache, this checkout against a base commit.

Usage::

    python -m tests.perf.bench_grid [--base REF] [--profile default] [--out .benchmarks/grid.json]
                                    [--keep DIR]

The code of ``--base`` (``git archive``, so the work tree is not touched) and this checkout each
run ``teamform grid profile=PROFILE`` once, back to back on the same machine, with the same
interpreter and packages, each in fresh output and cache folders (synthetic data, adapters and
embeddings all computed again). Printed: one markdown table with both wall-clock times (the whole
``teamform grid`` process), the ratio base / this checkout, the job statuses, and the largest
difference between the two grids' means on the rows of ``results.jsonl`` they share (0 when the
numerics are unchanged). The JSON goes to ``--out``. ``--keep DIR`` runs in ``DIR`` instead of a
temporary folder and leaves both grids there (their ``grid.json`` has each job's ``wall_s``). It
takes as long as two grids (about an hour for the default profile on a 2-core CPU, an hour and a
half on a CPU without AVX-512): it is not part of ``make bench`` or ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# The commit before the demo-speed work (issue 20): what `make bench-grid` compares against.
DEFAULT_BASE = "7abf2a0"


def export_tree(ref: str, into: Path) -> Path:
    """The files of commit ``ref`` unpacked under ``into`` (no checkout, no worktree entry)."""
    into.mkdir(parents=True)
    archive = into.parent / f"{into.name}.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), ref], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def run_grid(tree: Path, scratch: Path, profile: str, extra: list[str]) -> dict[str, Any]:
    """``teamform grid profile=...`` with ``tree``'s code from a cold cache; wall-clock and its grid."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "TEAMFORM_OUTPUTS": str(scratch / "outputs"),
        "TEAMFORM_CACHE": str(scratch / "cache"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "TOKENIZERS_PARALLELISM": "false",
    }
    log = scratch / "grid.log"
    started = time.perf_counter()
    with log.open("w") as stream:
        done = subprocess.run(
            [sys.executable, "-m", "bench.cli", "grid", f"profile={profile}", *extra],
            cwd=tree,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stream,
            text=True,
        )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    grid = Path(lines[-1]) if done.returncode == 0 and lines else None
    statuses: dict[str, int] = {}
    if grid is not None and (grid / "grid.json").exists():
        for job in json.loads((grid / "grid.json").read_text()).get("jobs", []):
            statuses[job.get("status", "?")] = statuses.get(job.get("status", "?"), 0) + 1
    return {
        "seconds": round(seconds, 1),
        "rc": done.returncode,
        "grid": str(grid),
        "statuses": statuses,
        "log": str(log),
    }


def means(grid: str) -> dict[tuple[str, str, str], float]:
    """``(experiment, system, metric) -> mean`` of a grid's ``results.jsonl``."""
    path = Path(grid) / "results.jsonl"
    out: dict[tuple[str, str, str], float] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        row = json.loads(line)
        for metric, value in (row.get("mean") or {}).items():
            if isinstance(value, int | float):
                out[(str(row.get("experiment")), str(row.get("system")), metric)] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base", default=DEFAULT_BASE, help=f"commit to compare against (default {DEFAULT_BASE})"
    )
    parser.add_argument("--profile", default="default", help="the grid's profile (default: default)")
    parser.add_argument("--out", default=".benchmarks/grid.json", help="where the JSON goes")
    parser.add_argument(
        "--keep", default=None, help="run in this new folder and keep both grids (default: a temporary one)"
    )
    parser.add_argument("overrides", nargs="*", help="extra overrides for both grids")
    args = parser.parse_args(argv)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    with _scratch(args.keep) as scratch:
        base_tree = export_tree(args.base, scratch / "base-tree")
        runs = {}
        for label, tree in (("base", base_tree), ("head", ROOT)):
            (scratch / label).mkdir()
            print(
                f"bench-grid: {label} ({args.base if label == 'base' else 'this checkout'}) ...",
                file=sys.stderr,
            )
            runs[label] = run_grid(tree, scratch / label, args.profile, args.overrides)
            if runs[label]["rc"] != 0:
                print(Path(runs[label]["log"]).read_text()[-3000:], file=sys.stderr)
                print(f"bench-grid: the {label} grid failed (exit {runs[label]['rc']})", file=sys.stderr)
                return 1
        before, after = means(runs["base"]["grid"]), means(runs["head"]["grid"])
        shared = sorted(set(before) & set(after))
        diffs = [abs(before[k] - after[k]) for k in shared]
        report = {
            "profile": args.profile,
            "base": args.base,
            "head": head.stdout.strip() + ("+dirty" if _dirty() else ""),
            "base_s": runs["base"]["seconds"],
            "head_s": runs["head"]["seconds"],
            "ratio": round(runs["base"]["seconds"] / runs["head"]["seconds"], 3),
            "statuses": {k: v["statuses"] for k, v in runs.items()},
            "shared_means": len(shared),
            "max_abs_mean_diff": max(diffs, default=0.0),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print("| grid | base | this checkout | ratio | jobs (base / this) | max abs Δ mean |")
    print("|---|---|---|---|---|---|")
    print(
        f"| profile={args.profile} cold | {report['base_s']:.0f} s ({args.base}) | {report['head_s']:.0f} s "
        f"({report['head']}) | {report['ratio']:.2f}x | {_statuses(report['statuses']['base'])} / "
        f"{_statuses(report['statuses']['head'])} | {report['max_abs_mean_diff']:.2g} "
        f"over {len(shared)} means |"
    )
    return 0


@contextlib.contextmanager
def _scratch(keep: str | None) -> Iterator[Path]:
    """``keep`` (created, must be new or empty) or a temporary folder removed afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="teamform-bench-grid-") as tmp:
            yield Path(tmp)
        return
    folder = Path(keep).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"bench-grid: --keep {keep} is not empty; give a new folder")
    yield folder


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"


def _dirty() -> bool:
    status = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return bool(status.stdout.strip())


if __name__ == "__main__":
    sys.exit(main())
