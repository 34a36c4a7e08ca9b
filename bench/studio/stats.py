"""``teamform label stats DIR``: who judged what, how much annotators agree, and how the synthetic
labeller does against them.

Everything is replayed from ``annotations.jsonl``: an annotator's label for a pair is their
latest answer not undone; the human label of a pair is the majority across annotators (ties go
to the lower label), as in ``labels.csv``. Agreement is Cohen's kappa (Cohen 1960, eq. 1:
``kappa = (p_o - p_e) / (1 - p_e)``) between every two annotators on the pairs both judged. The
synthetic labeller is scored on the human-judged pairs, relevant meaning a grade above 0. The
report holds ids and numbers only.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

from bench.core.errors import DataError
from bench.data.custom import load_custom
from bench.studio.outputs import EVENTS_NAME, majority, read_events
from bench.studio.services import SyntheticLabeller

Pair = tuple[str, str]


def replay(events: list[dict]) -> tuple[dict[Pair, dict[str, int]], dict[Pair, str]]:
    """``(pair -> annotator -> label, pair -> source)`` from the event log, undone answers removed."""
    undone = {e["undoes"] for e in events if e["kind"] == "undo"}
    labels: dict[Pair, dict[str, int]] = {}
    sources: dict[Pair, str] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        if event["kind"] != "answer" or event["id"] in undone:
            continue
        pair = (event["task_id"], event["employee_id"])
        labels.setdefault(pair, {})[event["annotator"]] = int(event["label"])
        sources[pair] = event["source"]
    return labels, sources


def cohen_kappa(a: list[int], b: list[int]) -> float | None:
    """Cohen's kappa of two label lists; ``None`` when chance agreement is 1 (one class for both).

    Example:
        >>> cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0])  # p_o = 3/4, p_e = 1/2*1/4 + 1/2*3/4 = 1/2
        0.5
    """
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    count_a, count_b = Counter(a), Counter(b)
    expected = sum(count_a[k] * count_b[k] for k in count_a) / (n * n)
    return None if expected == 1 else (observed - expected) / (1 - expected)


def _binary_scores(truth: list[int], predicted: list[int]) -> dict[str, float | int]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    tn = len(truth) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(truth),
        "accuracy": (tp + tn) / len(truth),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def label_stats(directory: str | Path, synthetic_labeller: SyntheticLabeller | None = None) -> dict[str, Any]:
    """The statistics of a label studio output directory.

    Args:
        directory: a ``teamform label serve`` output directory (annotations.jsonl and the dataset).
        synthetic_labeller: the configured LLM labelling prompt; ``None`` skips that comparison.

    Returns:
        ``{"directory", "pairs", "annotators": {name: {"answers", "skips", "undos", "labels"}},
        "agreement": [{"annotators", "shared", "agreement", "kappa"}], "by_source": {source:
        {label: n}}, "synthetic": None | {"n", "accuracy", "precision", "recall", "f1", ...}}``.

    Raises:
        DataError: the directory has no annotations.jsonl.
    """
    root = Path(directory)
    if not (root / EVENTS_NAME).exists():
        raise DataError(
            root / EVENTS_NAME, "missing", fix="give the output directory of `teamform label serve`"
        )
    events = read_events(root / EVENTS_NAME)
    labels, sources = replay(events)
    annotators: dict[str, dict[str, Any]] = {}
    for event in events:
        row = annotators.setdefault(event["annotator"], {"answers": 0, "skips": 0, "undos": 0, "labels": {}})
        row[{"answer": "answers", "skip": "skips", "undo": "undos"}[event["kind"]]] += 1
    for by_annotator in labels.values():
        for name, label in by_annotator.items():
            counts = annotators[name]["labels"]
            counts[str(label)] = counts.get(str(label), 0) + 1
    human = {pair: majority(by.values()) for pair, by in labels.items()}
    by_source: dict[str, dict[str, int]] = {}
    for pair, label in human.items():
        row = by_source.setdefault(sources[pair], {})
        row[str(label)] = row.get(str(label), 0) + 1
    return {
        "directory": str(root),
        "pairs": len(human),
        "annotators": dict(sorted(annotators.items())),
        "agreement": _agreement(labels, sorted(annotators)),
        "by_source": dict(sorted(by_source.items())),
        "synthetic": _synthetic(root, human, synthetic_labeller) if synthetic_labeller and human else None,
    }


def _agreement(labels: dict[Pair, dict[str, int]], names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for x, y in combinations(names, 2):
        shared = [(by[x], by[y]) for by in labels.values() if x in by and y in by]
        a, b = [s[0] for s in shared], [s[1] for s in shared]
        rows.append(
            {
                "annotators": [x, y],
                "shared": len(shared),
                "agreement": sum(p == q for p, q in shared) / len(shared) if shared else None,
                "kappa": cohen_kappa(a, b) if shared else None,
            }
        )
    return rows


def _synthetic(root: Path, human: dict[Pair, int], labeller: SyntheticLabeller) -> dict[str, Any]:
    dataset = load_custom(root)
    tasks, employees = dataset.task_by_id, {e.id: e for e in dataset.employees}
    pairs = sorted(human)
    predicted = labeller([(tasks[t], employees[e]) for t, e in pairs])
    if len(predicted) != len(pairs):
        raise ValueError(f"the synthetic labeller returned {len(predicted)} labels for {len(pairs)} pairs")
    return _binary_scores([int(human[p] > 0) for p in pairs], [int(int(g) > 0) for g in predicted])


def render_stats(stats: dict[str, Any]) -> str:
    """The statistics as text for the terminal (ids and numbers only)."""
    lines = [f"judged pairs: {stats['pairs']}", "", "annotator  answers  skips  undos  labels"]
    for name, row in stats["annotators"].items():
        labels = ", ".join(f"{k}: {v}" for k, v in sorted(row["labels"].items())) or "-"
        lines.append(f"{name:<10} {row['answers']:>7} {row['skips']:>6} {row['undos']:>6}  {labels}")
    if stats["agreement"]:
        lines += ["", "agreement on shared pairs (Cohen's kappa)"]
        for row in stats["agreement"]:
            kappa = "n/a" if row["kappa"] is None else f"{row['kappa']:.3f}"
            agree = "n/a" if row["agreement"] is None else f"{row['agreement']:.1%}"
            lines.append(
                f"  {' vs '.join(row['annotators'])}: {row['shared']} shared, {agree} agree, kappa {kappa}"
            )
    if stats["by_source"]:
        lines += ["", "labels by source (majority)"]
        for source, row in stats["by_source"].items():
            lines.append(f"  {source}: " + ", ".join(f"{k}: {v}" for k, v in sorted(row.items())))
    synthetic = stats.get("synthetic")
    if synthetic:
        lines += [
            "",
            f"synthetic labeller vs humans ({synthetic['n']} pairs, relevant = label > 0)",
            "  " + "  ".join(f"{k} {synthetic[k]:.3f}" for k in ("accuracy", "precision", "recall", "f1")),
        ]
    return "\n".join(lines) + "\n"
