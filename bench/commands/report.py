"""``teamform report DIR``: re-render REPORT.md of a finished run or grid from stored results.

``teamform report DIR report.show_examples=true`` (or ``--show-examples``) adds employee text
(personal data) for a few tasks; the report then says so at its top.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.core.errors import ConfigError
from reports.render import render_report

TRUE, FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def run(directory: Path, show_examples: bool = False) -> Path:
    return render_report(directory, show_examples=show_examples)


def parse_overrides(overrides: list[str]) -> bool:
    """``report.show_examples=true|false`` (the one setting of this command); anything else is an error."""
    show = False
    for override in overrides:
        key, sep, value = override.partition("=")
        if key.lstrip("+") != "report.show_examples" or not sep or value.lower() not in TRUE + FALSE:
            raise ConfigError(
                "teamform report takes only report.show_examples=true|false after the directory, "
                f"not {override!r}"
            )
        show = value.lower() in TRUE
    return show


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
        help="report.show_examples=true: show employee text (personal data) for a few tasks",
    )
    parser.add_argument("--show-examples", action="store_true", help="the same as report.show_examples=true")
    parser.add_argument(
        "--summary", action="store_true", help="also print REPORT.md to stdout (for CI job summaries)"
    )
    args = parser.parse_args(argv)
    path = run(args.directory, show_examples=args.show_examples or parse_overrides(args.overrides))
    if args.summary:
        print(path.read_text())
    print(args.directory)
