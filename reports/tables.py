"""Markdown tables in the layout of the paper's tables: best value per column in bold,
relative change against the best baseline, significance marks with a legend."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from reports.study import METRIC_TITLES

# Significance marks against the reference row (Holm-corrected across the rows of a table).
MARK_T = "†"  # paired two-sided t-test, p < 0.05 after Holm
MARK_R = "‡"  # paired randomisation test, p < 0.05 after Holm
LEGEND = (
    f"Bold: best in column. {MARK_T}: differs from the reference row by a paired two-sided t-test "
    f"over tasks, {MARK_R}: by a paired randomisation test, each p < 0.05 after Holm correction "
    "across the rows of the table. "
    "Δ: relative change of the key metric against the reference row (declared before the grid ran). "
    "95% CI: bootstrap interval of the key metric's mean over tasks."
)


@dataclass
class Row:
    """One line of a table: a label, mean values per metric, and optional extras."""

    label: str
    means: dict[str, float]
    marks: dict[str, str] = field(default_factory=dict)
    ci: tuple[float, float] | None = None
    delta: float | None = None
    is_reference: bool = False
    stds: dict[str, float] = field(default_factory=dict)  # std over seeds, shown as "± s"


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def markdown_table(
    rows: Sequence[Row], metrics: Sequence[str], key_metric: str, with_delta: bool = True
) -> str:
    """Render rows as a GitHub markdown table.

    Example:
        >>> rows = [Row("a", {"ap": 0.5}), Row("b", {"ap": 0.25})]
        >>> print(markdown_table(rows, ["ap"], "ap", with_delta=False))
        | system | AP |
        |---|---:|
        | a | **0.500** |
        | b | 0.250 |
    """
    best = {}
    for m in metrics:
        values = [r.means.get(m) for r in rows if r.means.get(m) is not None and not math.isnan(r.means[m])]
        best[m] = max(values) if values else None
    has_ci = any(r.ci for r in rows)
    header = ["system", *(METRIC_TITLES.get(m, m) for m in metrics)]
    if with_delta:
        header.append(f"Δ {METRIC_TITLES.get(key_metric, key_metric)}")
    if has_ci:
        header.append(f"{METRIC_TITLES.get(key_metric, key_metric)} 95% CI")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row in rows:
        cells = [row.label + (" (ref.)" if row.is_reference else "")]
        for m in metrics:
            value = row.means.get(m)
            text = fmt(value)
            if (
                value is not None
                and best[m] is not None
                and not math.isnan(value)
                and abs(value - best[m]) < 5e-13
            ):
                text = f"**{text}**"
            if m in row.stds:
                text += f" ± {fmt(row.stds[m])}"
            cells.append(text + row.marks.get(m, ""))
        if with_delta:
            cells.append("–" if row.delta is None else f"{row.delta:+.1%}")
        if has_ci:
            cells.append(f"[{fmt(row.ci[0])}, {fmt(row.ci[1])}]" if row.ci else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
