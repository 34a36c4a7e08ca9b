"""A tiny enterprise and a synthetic-data artifact in the ``docs/synthetic-data.md`` format.

Four trades; three employees each. Synthetic task ``s{n}`` belongs to one trade: its label-1
employees are that trade's, its label-0 employees another trade's, its curriculum an ideal
profile of the trade, and its four hard negatives profiles of other trades (level 1 = least
similar ... 4 = most similar, by construction of the text overlap).
"""

from __future__ import annotations

from pathlib import Path

from bench.core.dataset import Dataset, Employee, Task
from bench.core.io import write_json, write_jsonl
from data_synth.artifact import SynthArtifact, load_artifact

ASPECTS = ["role", "abilities", "experience"]
TRADES = {
    "kiln": (
        "kiln operator",
        "firing ceramic tiles, kiln temperature curves",
        "ten years running tunnel kilns",
    ),
    "glaze": ("glaze technician", "mixing glazes, colour matching", "glaze lab work for tile lines"),
    "saw": ("panel saw operator", "cutting wood panels, blade maintenance", "sawmill shifts on MDF lines"),
    "sales": (
        "sales manager",
        "negotiating retail contracts, forecasting",
        "selling bathroom fixtures to retailers",
    ),
}
TASKS = {
    "kiln": ["Tune the firing curve of kiln 3", "Reduce cracks after firing"],
    "glaze": ["Match the new glaze colour", "Fix pinholes in the glaze"],
    "saw": ["Replace the saw blades on line 2", "Cut MDF panels to size"],
    "sales": ["Negotiate the retail contract", "Forecast fixture sales"],
}


def tiny_dataset() -> Dataset:
    employees = []
    for trade, (role, abilities, experience) in TRADES.items():
        for k in range(3):
            aspects = {"role": f"{role} {k}", "abilities": abilities, "experience": f"{experience}, site {k}"}
            if trade == "sales" and k == 2:
                del aspects["experience"]  # an employee without one aspect
            employees.append(Employee(f"{trade}{k}", aspects))
    tasks = [Task("t1", "Kiln line", "Stop the kiln cracks"), Task("t2", "Retail", "Close the contract")]
    qrels = {"t1": {"kiln0": 1, "sales0": 0}, "t2": {"sales1": 1, "saw0": 0}}
    return Dataset("tiny", employees, tasks, qrels, aspects=list(ASPECTS))


def write_artifact(root: Path, with_negatives: bool = True) -> SynthArtifact:
    """Write the artifact of :func:`tiny_dataset` to ``root`` and load it."""
    trades = list(TRADES)
    tasks, curriculums, labels, negatives = [], [], [], []
    n = 0
    for i, trade in enumerate(trades):
        for text in TASKS[trade]:
            n += 1
            task_id = f"s{n}"
            tasks.append({"id": task_id, "project": f"{trade} project", "task": text})
            role, abilities, experience = TRADES[trade]
            curriculums.append(
                {
                    "task_id": task_id,
                    "aspects": {"role": f"ideal {role}", "abilities": abilities, "experience": experience},
                }
            )
            other = trades[(i + 1) % len(trades)]
            for k in range(2):
                labels.append(
                    {
                        "task_id": task_id,
                        "employee_id": f"{trade}{k}",
                        "label": 1,
                        "source": "top20",
                        "prompt": "base",
                    }
                )
            labels.append(
                {
                    "task_id": task_id,
                    "employee_id": f"{other}0",
                    "label": 0,
                    "source": "uniform",
                    "prompt": "base",
                }
            )
            if with_negatives:
                for level in range(1, 5):
                    far = trades[(i + level) % len(trades)] if level < 4 else trade
                    r, a, e = TRADES[far]
                    negatives.append(
                        {
                            "task_id": task_id,
                            "level": level,
                            "aspects": {
                                "role": f"junior {r} (level {level})",
                                "abilities": a,
                                "experience": f"little {e}",
                            },
                        }
                    )
    write_jsonl(root / "tasks.jsonl", tasks)
    write_jsonl(root / "curriculums.jsonl", curriculums)
    write_jsonl(root / "labels.jsonl", labels)
    write_jsonl(root / "negatives.jsonl", negatives)
    write_json(
        root / "manifest.json",
        {
            "backend": "fixture",
            "model": "none",
            "dataset_hash": tiny_dataset().hash,
            "prompt_versions": {},
            "stages": {},
            "tokens": 0,
            "cost_usd": 0.0,
            "complete": True,
            "created": "2025-01-01T00:00:00",
        },
    )
    return load_artifact(root)
