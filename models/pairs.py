"""Training pairs from a synthetic-data artifact and a dataset (``docs/synthetic-data.md``).

``train.mix`` chooses the positives: ``labels`` (task, real employee with label 1), ``curriculums``
(task, its synthetic ideal profile) or ``full`` (both; paper section 5, "full data"). The document
side depends on the adapter being trained (thesis section 5.2): a global adapter reads the
concatenation of the kept aspects, labelled ``"role: ..."`` exactly as the concat view of the
evaluation (:meth:`bench.core.dataset.Dataset.concat_texts`); a specialised adapter reads one aspect's
raw text, as that aspect's view. ``train.drop_aspects`` removes aspects from the text (thesis
Table 5.4). Label-0 pairs become explicit negatives of their task, and the artifact's hard
negatives are kept per task and level for the schedule of :mod:`models.negatives`.

A fraction of the labelled synthetic tasks is held out as a development split (its labels are
the qrels); nothing of those tasks is trained on.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.core.dataset import Dataset, Employee
from bench.core.errors import ConfigError, DataError, unknown_choice
from data_synth.artifact import SynthArtifact

MIXES = ("labels", "curriculums", "full", "none")  # none: no synthetic positives (only train.base_tasks)


@dataclass(frozen=True)
class DocumentView:
    """How an employee-like profile (aspect name -> text) becomes one document.

    Attributes:
        aspects: the kept aspects, in the dataset's order.
        aspect: ``None`` for the concatenation (global adapter), else the one aspect (specialised).
    """

    aspects: tuple[str, ...]
    aspect: str | None = None

    def text(self, profile: Mapping[str, str]) -> str:
        """The document text of ``profile`` ("" when it has none of the view's aspects)."""
        if self.aspect is not None:
            text = profile.get(self.aspect) or ""
            return text if text.strip() else ""
        return Employee("", profile).text(self.aspects)


def document_view(
    dataset_aspects: Sequence[str], aspect: str | None = None, drop_aspects: Sequence[str] = ()
) -> DocumentView:
    """Check ``drop_aspects`` / ``aspect`` against the dataset's aspects and build the view.

    Raises:
        bench.core.errors.ConfigError: an unknown aspect, or a specialised aspect that is dropped.
    """
    for name in drop_aspects:
        if name not in dataset_aspects:
            raise unknown_choice("aspect in train.drop_aspects", name, dataset_aspects)
    kept = tuple(a for a in dataset_aspects if a not in set(drop_aspects))
    if not kept:
        raise ConfigError("train.drop_aspects removes every aspect; keep at least one")
    if aspect is not None:
        if aspect not in dataset_aspects:
            raise unknown_choice("aspect", aspect, dataset_aspects)
        if aspect not in kept:
            raise ConfigError(
                f"aspect {aspect!r} is in train.drop_aspects; a specialised adapter cannot train on it"
            )
    return DocumentView(kept, aspect)


@dataclass(frozen=True)
class TrainingPair:
    """One positive pair. ``doc_key`` names the document (``e:<employee>`` or ``c:<task>``)."""

    task_id: str
    query: str
    positive: str
    doc_key: str
    source: str  # "label" | "curriculum" | "base" (a judged pair of a dev task)


@dataclass
class PairSet:
    """Everything the data module samples from.

    Attributes:
        pairs: the positives, in a stable order.
        hard_negatives: ``task_id -> level -> text`` of the artifact's hard negatives.
        label_negatives: ``task_id -> [(doc_key, text), ...]`` from label-0 pairs.
        dev_tasks: held-out synthetic task ids; ``dev_qrels`` their labels.
        counts: numbers for the log (pairs per source, skipped rows); no text.
    """

    pairs: list[TrainingPair]
    hard_negatives: dict[str, dict[int, str]] = field(default_factory=dict)
    label_negatives: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    dev_tasks: list[str] = field(default_factory=list)
    dev_qrels: dict[str, dict[str, int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def levels(self) -> list[int]:
        """Hard-negative levels present anywhere, easiest first."""
        return sorted({lv for by_level in self.hard_negatives.values() for lv in by_level})

    def doc_keys(self) -> list[str]:
        """Every document key, positives and negatives, in a stable order (for integer keys)."""
        keys = {p.doc_key for p in self.pairs}
        keys |= {k for rows in self.label_negatives.values() for k, _ in rows}
        keys |= {f"h:{t}:{lv}" for t, by_level in self.hard_negatives.items() for lv in by_level}
        return sorted(keys)


def split_dev(artifact: SynthArtifact, fraction: float, seed: int) -> list[str]:
    """Held-out synthetic task ids: ``round(fraction * n)`` of the ``n`` tasks with a label-1 pair.

    Chosen by a seeded shuffle of the sorted ids, so the split depends on the seed and the
    artifact only. At least one task is kept for training.
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"train.dev_fraction must be in [0, 1), got {fraction}")
    labelled = sorted({r["task_id"] for r in artifact.labels if int(r["label"]) == 1})
    n = min(round(fraction * len(labelled)), max(0, len(labelled) - 1))
    random.Random(seed).shuffle(labelled)
    return sorted(labelled[:n])


def build_pairs(
    artifact: SynthArtifact,
    dataset: Dataset,
    view: DocumentView,
    mix: str = "full",
    label_negatives: bool = True,
    dev_fraction: float = 0.1,
    seed: int = 0,
    base_tasks: Sequence[str] = (),
) -> PairSet:
    """Turn an artifact into training pairs for one document view.

    Args:
        artifact: the loaded synthetic data.
        dataset: the dataset the artifact was made for (employee texts).
        view: the document view (:func:`document_view`).
        mix: ``labels`` | ``curriculums`` | ``full`` | ``none`` (no synthetic positives: only
            ``base_tasks``).
        label_negatives: keep label-0 pairs as explicit negatives.
        dev_fraction: share of the labelled synthetic tasks held out for development.
        seed: seed of the development split.
        base_tasks: tasks of ``dataset`` whose judged relevant pairs (grade > 0) are added as
            positives (source ``base``): the non-synthetic base set of the influence study
            (Springer et al. (2025), section 3), the dev tasks of ``eval.dev_split``.

    Returns:
        The :class:`PairSet`. Pairs whose document would be empty in this view (an employee
        without the aspect) are skipped and counted.
    """
    if mix not in MIXES:
        raise unknown_choice("train.mix", mix, MIXES)
    tasks = artifact.task_by_id
    employees = {e.id: e for e in dataset.employees}
    labels_file = artifact.path / "labels.jsonl"
    for number, row in enumerate(artifact.labels, start=1):
        if row["task_id"] not in tasks:
            raise DataError(
                labels_file,
                f"task_id {row['task_id']!r} is not in tasks.jsonl",
                number,
                "regenerate the artifact with `teamform synth`",
            )
        if row["employee_id"] not in employees:
            raise DataError(
                labels_file,
                f"employee_id {row['employee_id']!r} is not an employee of dataset {dataset.name!r}",
                number,
                "use the artifact made for this dataset (train.synth_dir)",
            )
    dev = split_dev(artifact, dev_fraction, seed)
    held_out = set(dev)
    out = PairSet(
        pairs=[],
        dev_tasks=dev,
        counts={"label_pairs": 0, "curriculum_pairs": 0, "base_pairs": 0, "skipped_empty": 0},
    )
    real_tasks = dataset.task_by_id
    for task_id in base_tasks:
        if task_id not in real_tasks:
            raise ConfigError(f"train.base_tasks names {task_id!r}, not a task of dataset {dataset.name!r}")
        for employee_id, grade in sorted(dataset.qrels.get(task_id, {}).items()):
            if grade <= 0 or employee_id not in employees:
                continue
            text = view.text(employees[employee_id].aspects)
            if not text:
                out.counts["skipped_empty"] += 1
                continue
            out.pairs.append(
                TrainingPair(task_id, real_tasks[task_id].query, text, f"e:{employee_id}", "base")
            )
            out.counts["base_pairs"] += 1
    for row in artifact.labels:
        if row["task_id"] in held_out:
            out.dev_qrels.setdefault(row["task_id"], {})[row["employee_id"]] = int(row["label"])
    for row in artifact.labels:
        task_id, label = row["task_id"], int(row["label"])
        if (
            task_id in held_out
            or mix == "none"
            or (label == 1 and mix == "curriculums")
            or (label == 0 and not label_negatives)
        ):
            continue
        text = view.text(employees[row["employee_id"]].aspects)
        if not text:
            out.counts["skipped_empty"] += 1
            continue
        doc_key = f"e:{row['employee_id']}"
        if label == 1:
            out.pairs.append(TrainingPair(task_id, tasks[task_id].query, text, doc_key, "label"))
            out.counts["label_pairs"] += 1
        else:
            out.label_negatives.setdefault(task_id, []).append((doc_key, text))
    if mix in ("curriculums", "full"):
        for task_id in sorted(artifact.curriculums):
            if task_id in held_out or task_id not in tasks:
                continue
            text = view.text(artifact.curriculums[task_id])
            if not text:
                out.counts["skipped_empty"] += 1
                continue
            out.pairs.append(TrainingPair(task_id, tasks[task_id].query, text, f"c:{task_id}", "curriculum"))
            out.counts["curriculum_pairs"] += 1
    for task_id, rows in artifact.negatives.items():
        if task_id in held_out:
            continue
        for row in rows:
            text = view.text(row["aspects"])
            if text:
                out.hard_negatives.setdefault(task_id, {})[int(row["level"])] = text
    out.counts["label_negatives"] = sum(len(v) for v in out.label_negatives.values())
    out.counts["hard_negatives"] = sum(len(v) for v in out.hard_negatives.values())
    out.counts["dev_tasks"] = len(dev)
    if not out.pairs:
        raise DataError(
            artifact.path,
            f"no training pairs for train.mix={mix} and this aspect selection",
            fix="check the artifact has labels / curriculums, or change train.mix",
        )
    return out
