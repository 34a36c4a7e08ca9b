"""``teamform report DIR``: re-render REPORT.md of a finished run or grid from stored results.

``teamform report DIR report.show_examples=true`` (or ``--show-examples``) adds employee text
(personal data) for a few tasks; the report then says so at its top.
``teamform report DIR report.reference=SYSTEM`` re-renders with another reference row (a system
name or glob matching one system); by default the one the grid declared before it ran.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.core.errors import ConfigError
from reports.render import render_report

TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def run(directory: Path, show_examples: bool = False, reference: str | None = None) -> Path:
    return render_report(directory, show_examples=show_examples, reference=reference)


def parse_overrides(overrides: list[str]) -> tuple[bool, str | None]:
    """``(report.show_examples, report.reference)`` from the overrides; any other key is an error."""
    show, reference = False, None
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+")
        if key == "report.reference" and sep and value:
            reference = value
            continue
        if key != "report.show_examples" or not sep or value.lower() not in TRUE + FALSE:
            raise ConfigError(
                "teamform report takes only report.show_examples=true|false and report.reference=SYSTEM "
                f"after the directory, not {override!r}"
            )
        show = value.lower() in TRUE
    return show, reference


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="teamform report",
        description=(
            "Render REPORT.md, results.csv and plots/ of a run or grid directory, "
            "from its stored results (nothing is recomputed)."
        ),
    )
    parser.add_argument(
        "directory", type=Path, help="a directory written by `teamform grid` or `teamform eval`"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        help=(
            "report.show_examples=true: show employee text (personal data) for a few tasks; "
            "report.reference=SYSTEM: the reference row of every Δ and mark "
            "(default: the one the grid declared)"
        ),
    )
    parser.add_argument("--show-examples", action="store_true", help="the same as report.show_examples=true")
    parser.add_argument(
        "--summary", action="store_true", help="also print REPORT.md to stdout (for CI job summaries)"
    )
    args = parser.parse_args(argv)
    show, reference = parse_overrides(args.overrides)
    path = run(args.directory, show_examples=args.show_examples or show, reference=reference)
    if args.summary:
        print(path.read_text())
    print(args.directory)
