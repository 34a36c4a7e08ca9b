"""``teamform report DIR``: re-render REPORT.md of a finished run or grid from stored results."""

from __future__ import annotations

import argparse
from pathlib import Path

from reports.render import render_report


def run(directory: Path, show_examples: bool = False) -> Path:
    return render_report(directory, show_examples=show_examples)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="teamform report", description="Render REPORT.md, results.csv and plots/ of a run or grid directory, from its stored results (nothing is recomputed).")
    parser.add_argument("directory", type=Path, help="a directory written by `teamform grid` or `teamform eval`")
    parser.add_argument("--summary", action="store_true", help="also print REPORT.md to stdout (for CI job summaries)")
    args = parser.parse_args(argv)
    path = run(args.directory)
    if args.summary:
        print(path.read_text())
    print(args.directory)
