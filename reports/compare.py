"""``COMPARE.md``: one comparison of run and grid directories, across datasets, models and dates.

Reads each directory's ``grid.json`` (or its lone ``results.json``) and the jobs' ``results.json``
(:func:`reports.grid.load_grid`), and writes ``COMPARE.md`` and ``compare.csv`` into a new
directory: a provenance row per input, one table per dataset, and a leaderboard across datasets in
the manner of MTEB's (Muennighoff et al., 2023; its "Rank (Borda)"). Numbers only: no employee
text, and no dataset file is read. Only jobs with status ``ok`` count; the others are listed.

A dataset column is ``results.json``'s ``dataset.name`` (``demo``, ``onet``; a ``data=custom``
dataset is named by ``data.name``, default its directory's name), or ``name@hash8`` when one name
comes with several dataset hashes (the demo at two profile sizes), with a warning.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bench.core.errors import ConfigError, DataError, one_line
from bench.core.io import atomic_write_text
from bench.core.ranks import tie_counts
from bench.data.onet import ATTRIBUTION
from reports.grid import Job, load_grid
from reports.study import KEY_METRIC, METRIC_TITLES, REPORT_METRICS
from reports.tables import Row, fmt, markdown_table

MARKDOWN, CSV = "COMPARE.md", "compare.csv"
FIX = "pass a directory written by `teamform grid` or `teamform eval`"


@dataclass
class Source:
    """One input directory (a grid, or a run read as a one-job grid) and its short id ``d1``, ``d2``..."""

    id: str
    path: Path
    provenance: dict[str, Any]
    jobs: list[Job]


@dataclass
class Entry:
    """One row of a dataset table: one system of one ok job."""

    source: Source
    job: Job
    system: str
    dataset: tuple[str, str]  # (name, hash)
    means: dict[str, float]
    column: str = ""
    label: str = ""
    rank: float | None = None  # in the leaderboard, when this row is the one it uses
    points: float | None = None


@dataclass
class Standing:
    """One system of the leaderboard: its key metric, rank and Borda points per dataset column."""

    system: str
    scores: dict[str, float]
    ranks: dict[str, float] = field(default_factory=dict)
    points: dict[str, float] = field(default_factory=dict)

    @property
    def mean_rank(self) -> float:
        return float(np.mean(list(self.ranks.values())))

    @property
    def borda(self) -> float:
        return float(sum(self.points.values()))


def leaderboard(
    scores: dict[str, dict[str, float]], columns: Sequence[str]
) -> tuple[list[Standing], list[str]]:
    """Rank the systems scored on two or more columns; list the others.

    Within each column, the systems of the board scored there are ranked by score (1 = best, ties
    get the mean of their ranks) and each gets as Borda points the number of them it beats (a tie
    counts half): rank ``n - below - (tied - 1) / 2``, points ``below + (tied - 1) / 2``
    (:func:`bench.core.ranks.tie_counts`). The mean rank is over the columns a system is scored
    on; the Borda count sums its points, so a missing column adds none. Sorted by mean rank, then
    Borda count (higher first), then name.

    Args:
        scores: system -> column -> score (``NaN`` or absent: not scored there).
        columns: the dataset columns, in display order.

    Returns:
        ``(standings, systems scored on fewer than two columns)``.

    Example:
        >>> scores = {"a": {"x": 0.5, "y": 0.2}, "b": {"x": 0.3, "y": 0.2}, "c": {"x": 0.9}}
        >>> board, alone = leaderboard(scores, ["x", "y"])
        >>> [(s.system, s.mean_rank, s.borda) for s in board]
        [('a', 1.25, 1.5), ('b', 1.75, 0.5)]
        >>> alone
        ['c']
    """
    present = {s: {c: v for c, v in by.items() if not math.isnan(v)} for s, by in scores.items()}
    board = [Standing(s, by) for s, by in present.items() if len(by) >= 2]
    for column in columns:
        here = [s for s in board if column in s.scores]
        if not here:
            continue
        below, tied = tie_counts(np.array([s.scores[column] for s in here]))  # (n,), (n,)
        for standing, b, t in zip(here, below.tolist(), tied.tolist(), strict=True):
            standing.ranks[column] = len(here) - b - (t - 1) / 2
            standing.points[column] = b + (t - 1) / 2
    board.sort(key=lambda s: (s.mean_rank, -s.borda, s.system))
    return board, [s for s, by in present.items() if len(by) < 2]


def load_sources(directories: Sequence[str | Path]) -> list[Source]:
    """Each directory read back, with its short id; a missing, unreadable or repeated one is an error."""
    sources, seen = [], set()
    for i, directory in enumerate(directories, start=1):
        path = Path(directory)
        if not path.is_dir():
            raise DataError(path, "is not a directory" if path.exists() else "no such directory", fix=FIX)
        if path.resolve() in seen:
            raise ConfigError(f"{path} is given twice; give each directory once")
        seen.add(path.resolve())
        try:
            grid, jobs = load_grid(path)
        except (ValueError, KeyError) as error:  # broken JSON, a grid.json without jobs
            raise DataError(
                path, f"unreadable grid.json or results.json ({one_line(error)})", fix=FIX
            ) from None
        sources.append(Source(f"d{i}", path, grid.get("provenance") or {}, jobs))
    return sources


def job_dataset(job: Job, provenance: dict[str, Any]) -> tuple[str, str]:
    """``(name, hash)`` of the data a job was scored on: its ``dataset`` block, else the provenance."""
    block, prov = job.results.get("dataset") or {}, job.results.get("provenance") or {}
    name = block.get("name") or prov.get("dataset") or provenance.get("dataset") or "unknown"
    return str(name), str(
        block.get("hash") or prov.get("dataset_hash") or provenance.get("dataset_hash") or ""
    )


def number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def rows_of(sources: list[Source]) -> list[Entry]:
    """Every system of every ok job, in directory order, then job order."""
    entries = []
    for source in sources:
        for job in (j for j in source.jobs if j.status == "ok"):
            dataset = job_dataset(job, source.provenance)
            for name, system in job.results.get("systems", {}).items():
                mean = system.get("mean") or {}
                entries.append(
                    Entry(source, job, name, dataset, {m: number(mean.get(m)) for m in REPORT_METRICS})
                )
    return entries


def name_columns(entries: list[Entry]) -> tuple[list[str], list[str]]:
    """Set each row's dataset column: its name, or ``name@hash8`` when the name has several hashes.

    Returns:
        ``(the columns in order of appearance, one warning per name with several hashes)``.
    """
    hashes: dict[str, list[str]] = {}
    for entry in entries:
        seen = hashes.setdefault(entry.dataset[0], [])
        if entry.dataset[1] not in seen:
            seen.append(entry.dataset[1])
    names, warnings = {}, []
    for name, seen in hashes.items():
        short = {h: h[:8] or "?" for h in seen}
        if len(set(short.values())) < len(seen):  # two hashes share their first 8 characters
            short = {h: h or "?" for h in seen}
        names.update({(name, h): name if len(seen) == 1 else f"{name}@{short[h]}" for h in seen})
        if len(seen) > 1:
            warnings.append(
                f"dataset {name!r} comes with {len(seen)} different hashes, so it is different data "
                f"(e.g. the demo at two profile sizes): separate columns "
                + ", ".join(f"{name}@{short[h]}" for h in seen)
            )
    for entry in entries:
        entry.column = names[entry.dataset]
    return list(dict.fromkeys(names.values())), warnings


def label_rows(entries: list[Entry]) -> None:
    """Set each row's label: ``{study label}: {system}``, and where it is from when one dataset
    holds the system more than once (``(d2)``, or ``(d2/job)`` for two jobs of one directory)."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        groups.setdefault((entry.column, entry.system), []).append(entry)
    for group in groups.values():
        ids = [e.source.id for e in group]
        for entry in group:
            study_label = entry.job.study.get("label")
            label = f"{study_label}: {entry.system}" if study_label else entry.system
            if len(group) > 1:
                where = (
                    entry.source.id
                    if ids.count(entry.source.id) == 1
                    else f"{entry.source.id}/{entry.job.id}"
                )
                label += f" ({where})"
            entry.label = label.replace("|", "/")


@dataclass
class Ranking:
    """The leaderboard of a comparison and what it leaves out."""

    board: list[Standing]
    alone: list[tuple[str, str]]  # (system, its one column)
    repeated: list[str]  # systems with several rows in one column
    unscored: list[str]  # systems without a key-metric value


def rank_rows(entries: list[Entry], columns: list[str]) -> Ranking:
    """The leaderboard of the rows; each row it uses gets its rank and Borda points.

    The first row given (directory order, then job order) with a key-metric value stands for a
    system in a column.
    """
    used: dict[tuple[str, str], Entry] = {}
    for entry in entries:
        if not math.isnan(entry.means[KEY_METRIC]):
            used.setdefault((entry.system, entry.column), entry)
    scores: dict[str, dict[str, float]] = {}
    for (system, column), entry in used.items():
        scores.setdefault(system, {})[column] = entry.means[KEY_METRIC]
    board, alone = leaderboard(scores, columns)
    for standing in board:
        for column, rank in standing.ranks.items():
            used[(standing.system, column)].rank = rank
            used[(standing.system, column)].points = standing.points[column]
    return Ranking(
        board,
        [(s, next(iter(scores[s]))) for s in alone],
        sorted({e.system for e in entries if used.get((e.system, e.column), e) is not e}),
        sorted({e.system for e in entries} - set(scores)),
    )


def profile_of(source: Source) -> str:
    """The profile a directory ran at: its provenance, else ``profile_name`` of its ``config.yaml``."""
    if source.provenance.get("profile"):
        return str(source.provenance["profile"])
    config = source.path / "config.yaml"
    try:
        value = (yaml.safe_load(config.read_text()) or {}).get("profile_name") if config.exists() else None
    except (yaml.YAMLError, AttributeError):
        value = None
    return str(value) if value else "–"


def provenance_table(sources: list[Source], entries: list[Entry]) -> str:
    lines = [
        "| id | directory | code version | dataset | dataset hash | model | profile | date | jobs |",
        "|---|---|---|---|---|---|---|---|---:|",
    ]
    for source in sources:
        prov = source.provenance
        data = list(dict.fromkeys(e.dataset for e in entries if e.source is source))
        if not data and prov.get("dataset"):
            data = [(str(prov["dataset"]), str(prov.get("dataset_hash") or ""))]
        ok = sum(j.status == "ok" for j in source.jobs)
        cells = [
            source.id,
            f"`{source.path}`",
            str(prov.get("code_version", "–")),
            ", ".join(n for n, _ in data) or "–",
            ", ".join(h[:8] or "–" for _, h in data) or "–",
            str(prov.get("model", "–")),
            profile_of(source),
            str(prov.get("date", "–")),
            f"{len(source.jobs)} ({ok} ok)",
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def leaderboard_block(ranking: Ranking, columns: list[str]) -> list[str]:
    """The leaderboard across dataset columns, with what it leaves out and why."""
    key = METRIC_TITLES[KEY_METRIC]
    if len(columns) < 2:
        return [f"One dataset column ({', '.join(columns) or 'none'}): no leaderboard across datasets.", ""]
    out = [
        "Systems scored on two or more dataset columns, matched by system name (without the study label), "
        f"in the manner of the MTEB leaderboard: {key} per dataset; the rank within each dataset among "
        "these systems (1 = best, ties averaged), averaged over the datasets a system is scored on; the "
        "Borda count: per dataset, the number of these systems it beats (a tie counts half), summed over "
        "datasets. Sorted by mean rank.",
        "",
    ]
    if ranking.repeated:
        out += [
            f"Several rows in one dataset for {', '.join(f'`{s}`' for s in ranking.repeated)}: the "
            "leaderboard uses the first given (directory order, then job order).",
            "",
        ]
    out += [
        "| system | " + " | ".join(f"{key} {c}" for c in columns) + " | mean rank | Borda |",
        "|---|" + "---:|" * (len(columns) + 2),
    ]
    for s in ranking.board:
        cells = [fmt(s.scores.get(c)) for c in columns]
        out.append(f"| {s.system} | " + " | ".join(cells) + f" | {s.mean_rank:.2f} | {s.borda:g} |")
    out.append("")
    if ranking.alone:
        listed = ", ".join(f"`{s}` ({c})" for s, c in ranking.alone)
        out += [f"Scored on one dataset column only, so not ranked: {listed}.", ""]
    if ranking.unscored:
        listed = ", ".join(f"`{s}`" for s in ranking.unscored)
        out += [f"Without a {key} value, so not ranked: {listed}.", ""]
    return out


def not_counted_block(sources: list[Source]) -> list[str]:
    """The jobs that are not ok and the systems an ok job skipped, with their reasons."""
    jobs = [(s, j) for s in sources for j in s.jobs if j.status != "ok"]
    systems = [
        (s, j, item)
        for s in sources
        for j in s.jobs
        if j.status == "ok"
        for item in j.results.get("skipped", [])
    ]
    out = []
    if jobs:
        out += ["## Failed and skipped jobs", "", "Not counted in any table.", ""]
        out += ["| dir | job | experiment | status | reason |", "|---|---|---|---|---|"]
        out += [
            f"| {s.id} | {j.id} | {j.experiment} | {j.status} | {j.reason.replace('|', '/')} |"
            for s, j in jobs
        ]
        out.append("")
    if systems:
        out += ["## Skipped systems", "", "| dir | job | system | reason |", "|---|---|---|---|"]
        for s, j, item in systems:
            reason = str(item.get("reason", "")).replace("|", "/")
            out.append(f"| {s.id} | {j.id} | `{item.get('system', '?')}` | {reason} |")
        out.append("")
    return out


CSV_FIELDS = ("dataset", "dataset_name", "dataset_hash", "dir", "directory", "job", "experiment", "system")


def csv_text(entries: list[Entry]) -> str:
    """One line per row of the dataset tables, with its leaderboard rank and Borda points if it has them."""
    buffer = io.StringIO()
    fields = [*CSV_FIELDS, "label", *REPORT_METRICS, "rank", "borda_points"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        where = (e.column, *e.dataset, e.source.id, e.source.path, e.job.id, e.job.experiment, e.system)
        means = {m: "" if math.isnan(v) else v for m, v in e.means.items()}
        extra = {
            "rank": "" if e.rank is None else e.rank,
            "borda_points": "" if e.points is None else e.points,
        }
        writer.writerow({**dict(zip(CSV_FIELDS, where, strict=True)), "label": e.label, **means, **extra})
    return buffer.getvalue()


def compare(directories: Sequence[str | Path], out: str | Path) -> tuple[Path, list[str]]:
    """Write ``COMPARE.md`` and ``compare.csv`` of ``directories`` into the new directory ``out``.

    Args:
        directories: run directories (``results.json``) and grid directories (``grid.json``).
        out: where to write; it must not exist, or be an empty directory.

    Returns:
        ``(path of COMPARE.md, warnings)``; the warnings are also lines of ``COMPARE.md``.

    Raises:
        DataError: a directory is missing or holds neither ``grid.json`` nor ``results.json``.
        ConfigError: a directory is given twice, or ``out`` exists and is not empty.

    Example:
        >>> compare(["outputs/grid/2025-01-01_10-00-00", "outputs/eval/x"], "cmp")  # doctest: +SKIP
        (PosixPath('cmp/COMPARE.md'), [])
    """
    sources = load_sources(directories)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(
            f"{out} already exists and is not empty; give a new output directory (nothing is overwritten)"
        )
    entries = rows_of(sources)
    columns, warnings = name_columns(entries)
    label_rows(entries)
    ranking = rank_rows(entries, columns)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / CSV, csv_text(entries))
    return atomic_write_text(out / MARKDOWN, markdown(sources, entries, columns, ranking, warnings)), warnings


def markdown(
    sources: list[Source], entries: list[Entry], columns: list[str], ranking: Ranking, warnings: list[str]
) -> str:
    """The text of ``COMPARE.md``."""
    text = ["# teamform-bench comparison", ""]
    text += [f"> **Warning:** {w}." for w in warnings] + ([""] if warnings else [])
    text += [
        f"{len(sources)} directories, {len(columns)} dataset columns, from their stored results "
        "(nothing is recomputed). Only jobs with status ok count. Bold: best in column.",
        "",
        provenance_table(sources, entries),
        "",
    ]
    if any(e.dataset[0] == "onet" for e in entries):
        text += [f"Data (onet): {ATTRIBUTION}.", ""]
    for column in columns:
        rows = [Row(e.label, e.means) for e in entries if e.column == column]
        text += [f"## Dataset `{column}`", "", markdown_table(rows, REPORT_METRICS, KEY_METRIC, False), ""]
    if not columns:
        text += ["No scored system in these directories.", ""]
    text += ["## Leaderboard across datasets", "", *leaderboard_block(ranking, columns)]
    text += not_counted_block(sources)
    text += [
        f"The numbers of the dataset tables, with each row's leaderboard rank and Borda points: `{CSV}`.",
        "",
    ]
    return "\n".join(text)
