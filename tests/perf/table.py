"""Print the ``make bench`` table from a pytest-benchmark JSON file.

Usage: ``python -m tests.perf.table [.benchmarks/perf.json]``. Each benchmark of ``tests/perf``
stores its row in ``extra_info`` (:func:`tests.perf.timing.record`); this module only formats
them as one markdown table, in the order the tests ran.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_JSON = Path(".benchmarks/perf.json")
COLUMNS = ("workload", "ours", "peer", "ratio", "target", "target holds", "outputs agree")
ORDER = ("encoding", "training", "aggregation", "metrics", "cache", "scale")  # the order


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "**no**")


def rows(report: dict[str, Any]) -> list[list[str]]:
    """Table cells of every benchmark that recorded a row."""
    out = []
    benchmarks = report.get("benchmarks", [])
    rank = {name: i for i, name in enumerate(ORDER)}
    benchmarks = sorted(
        benchmarks,
        key=lambda b: rank.get(b.get("extra_info", {}).get("workload", "").split(":")[0], len(ORDER)),
    )
    for bench in benchmarks:
        info = bench.get("extra_info", {})
        if "workload" not in info:
            continue
        ratio = info.get("ratio")
        ratio_text = info.get("ratio_text") or ("-" if ratio is None else f"{ratio:.2f}x")
        out.append(
            [
                info["workload"],
                info["ours"],
                info["peer"],
                ratio_text,
                info["target"],
                _yes_no(info.get("holds")),
                f"{_yes_no(info['agree'])} ({info['detail']})",
            ]
        )
    return out


def render(report: dict[str, Any]) -> str:
    """The markdown table, preceded by the machine and the date of the run."""
    machine = report.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw", machine.get("processor", "?"))
    threads = next(
        (
            b["extra_info"].get("threads")
            for b in report.get("benchmarks", [])
            if "threads" in b.get("extra_info", {})
        ),
        "?",
    )
    lines = [
        f"`make bench` on {cpu} ({machine.get('cpu', {}).get('count', '?')} cores, "
        f"{threads} thread(s) per library), "
        f"{report.get('datetime', '?')[:19]}; python {machine.get('python_version', '?')}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows(report)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_JSON
    if not path.is_file():
        print(
            f"{path} does not exist; run `make bench` "
            f"(pytest tests/perf --benchmark-enable --benchmark-json={path})",
            file=sys.stderr,
        )
        return 2
    report = json.loads(path.read_text())
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
