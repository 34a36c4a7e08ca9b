"""``teamform compare DIR [DIR ...] [--out DIR]``: one COMPARE.md across run and grid directories.

Merges run directories (``teamform eval``: ``results.json``) and grid directories (``teamform
grid``: ``grid.json``), of several datasets, models and dates, into ``COMPARE.md`` and
``compare.csv`` in a new directory (``reports/compare.py``), and prints that directory last.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from reports.compare import CSV, MARKDOWN, compare


def default_out() -> Path:
    """``{paths.output_dir}/compare/<timestamp>``, resolved as ``conf/paths/default.yaml`` does:
    ``$TEAMFORM_OUTPUTS``, else ``$TEAMFORM_ROOT/outputs``, else ``./outputs``."""
    outputs = os.environ.get("TEAMFORM_OUTPUTS") or str(
        Path(os.environ.get("TEAMFORM_ROOT") or ".") / "outputs"
    )
    return Path(outputs) / "compare" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


def run(directories: list[Path], out: Path | None = None) -> tuple[Path, list[str]]:
    """``(COMPARE.md, warnings)`` of ``directories``, written into ``out`` (default: a new one)."""
    return compare(directories, out if out is not None else default_out())


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="teamform compare",
        description=(
            f"Compare run and grid directories in one {MARKDOWN} (and {CSV}), from their stored results "
            "(nothing is recomputed; numbers only): a provenance row per directory, a table per dataset "
            "(AP, nDCG@1, nDCG@5, Hit@5, MRR, AUC; best in bold), and a leaderboard across datasets "
            "(nDCG@5 per dataset, mean rank, Borda count) of the systems found on two or more datasets. "
            "Only jobs with status ok count; failed and skipped jobs are listed with their reason."
        ),
        epilog=(
            "A dataset is told apart by the name in results.json (demo, onet; data=custom: data.name, "
            "default the data directory's name); the same name with different dataset hashes (e.g. the "
            "demo at two profile sizes) "
            "gets one column per hash, name@hash8, and a warning. Systems are matched across datasets by "
            "their name without the study label (e.g. minilm/concat). The last line printed is the output "
            "directory."
        ),
    )
    parser.add_argument(
        "directories",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="a run directory (teamform eval: results.json) or grid directory (teamform grid: grid.json)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=(
            "a new (or empty) directory to write to; default: $TEAMFORM_OUTPUTS/compare/<timestamp> "
            "($TEAMFORM_OUTPUTS unset: $TEAMFORM_ROOT/outputs, else ./outputs, as paths.output_dir)"
        ),
    )
    args = parser.parse_args(argv)
    path, warnings = run(args.directories, args.out)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(path.parent)
