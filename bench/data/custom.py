"""``data=custom``: a company's own data in the custom format (``docs/design.md`` section 4).

A directory with::

    employees.jsonl   {"id": "e17", "aspects": {"role": "...", "behavior": "...", ...}} per line,
                      optionally with "capacity": 2 (most tasks in ``teamform team``; not an aspect)
      or employees.csv  an ``id`` column, one column per aspect (quoted fields may hold newlines)
                      and an optional reserved ``capacity`` column (empty cell: no capacity)
    tasks.jsonl       {"id": "t3", "project": "...", "task": "..."} per line: the evaluation tasks
    labels.csv        task_id,employee_id,label (0/1 or a graded integer; sparse)
      or qrels.txt      TREC qrels: ``task_id 0 employee_id grade`` per line
    train_tasks.jsonl optional seed tasks for synthesis (same fields as tasks.jsonl)
    context.md        optional paragraph about the enterprise

Aspect names come from the data (JSON keys, CSV columns) in file order. An employee may lack an
aspect or have it empty. Every defect raises :class:`bench.core.errors.DataError` with the file, the
line and the fix; nothing is dropped silently (blank lines are counted in ``Dataset.notes``).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.dataset import Dataset, Task
from bench.core.errors import DataError
from bench.data.labels import read_labels_csv, read_qrels
from bench.data.readers import read_text
from bench.data.records import read_employees_csv, read_employees_jsonl, read_tasks

EMPLOYEE_FILES = ("employees.jsonl", "employees.csv")
LABEL_FILES = ("labels.csv", "qrels.txt")
TASKS, TRAIN_TASKS, CONTEXT = "tasks.jsonl", "train_tasks.jsonl", "context.md"
FORMAT_FILES = (*EMPLOYEE_FILES, TASKS, *LABEL_FILES, TRAIN_TASKS, CONTEXT)
EXPECTED = (
    "employees.jsonl (or employees.csv), tasks.jsonl and labels.csv (or qrels.txt), "
    "optionally train_tasks.jsonl and context.md"
)


def load_custom(root: str | Path, name: str | None = None) -> Dataset:
    """Read a dataset in the custom format from directory ``root``.

    Args:
        root: the directory (relative paths are relative to the working directory).
        name: the dataset's name in reports, W&B and ``teamform compare`` (``data.name``; default:
            the directory's name). Not part of the hash, which covers the content only.

    Returns:
        The dataset, named ``name``; ``notes`` counts skipped blank lines, ignored files,
        employees without text and evaluation tasks without labels.

    Raises:
        DataError: the first defect found, naming the file, the line and the fix.

    Example:
        >>> ds = load_custom("my_company/")  # doctest: +SKIP
        >>> ds.stats()["employees"]  # doctest: +SKIP
        812
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        problem = "is not a directory" if root.exists() else "no such directory"
        raise DataError(root, problem, fix=f"set data.root to a directory holding {EXPECTED}")
    notes: list[str] = []
    employee_path = _one_of(root, EMPLOYEE_FILES)
    if employee_path.suffix == ".csv":
        employees, aspects, employee_lines = read_employees_csv(employee_path, notes)
    else:
        employees, aspects, employee_lines = read_employees_jsonl(employee_path, notes)
    if not (root / TASKS).exists():
        raise DataError(root / TASKS, "missing", fix=f"the directory must hold {EXPECTED}")
    tasks, task_lines = read_tasks(root / TASKS, notes)
    train_tasks: list[Task] = []
    if (root / TRAIN_TASKS).exists():
        train_tasks, _ = read_tasks(root / TRAIN_TASKS, notes, eval_lines=task_lines)
    label_path = _one_of(root, LABEL_FILES)
    read_labels = read_labels_csv if label_path.suffix == ".csv" else read_qrels
    train_ids = {t.id for t in train_tasks}
    qrels = read_labels(label_path, task_lines, employee_lines, train_ids, notes)
    context = ""
    if (root / CONTEXT).exists():
        context = read_text(
            root / CONTEXT, "write a paragraph about the enterprise or delete the file"
        ).strip()
    ignored = sorted(
        p.name for p in root.iterdir() if p.name not in FORMAT_FILES and not p.name.startswith(".")
    )
    if ignored:
        notes.append(f"ignored file(s) that are not part of the custom format: {', '.join(ignored)}")
    unlabelled = sum(1 for t in tasks if not qrels.get(t.id))
    if unlabelled:
        notes.append(f"{label_path.name}: {unlabelled} of {len(tasks)} evaluation task(s) have no labels")
    return Dataset(
        name=name or Path(root).resolve().name or "custom",
        employees=employees,
        tasks=tasks,
        qrels=qrels,
        train_tasks=train_tasks,
        context=context,
        aspects=aspects,
        notes=notes,
    )


def _one_of(root: Path, names: tuple[str, str]) -> Path:
    """The one file of ``names`` present in ``root``; missing or both present is an error."""
    present = [root / n for n in names if (root / n).exists()]
    if not present:
        raise DataError(
            root / names[0], f"missing (and no {names[1]} either)", fix=f"the directory must hold {EXPECTED}"
        )
    if len(present) > 1:
        raise DataError(
            root, f"holds both {names[0]} and {names[1]}, which is ambiguous", fix="keep only one of them"
        )
    return present[0]
