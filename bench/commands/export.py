"""``teamform export TARGET out=DIR``: ship a model out of the harness for sentence-transformers.

``TARGET`` is an adapter-set directory (``{cache}/adapters/KEY``, what ``teamform train``
prints), a finished grid directory (its best system by ``team.criterion``, as ``teamform team
team.from_grid=GRID`` picks it), or a system name (``minilm+lora-global-full/condorcet``, its
adapter set found in the cache). ``DIR`` then loads offline with
``sentence_transformers.SentenceTransformer(DIR)``: LoRA merged, the harness's pooling and
normalisation, the query instruction as the ``query`` prompt, and a model card (ids and numbers
only). A specialised set exports one folder per aspect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.errors import ConfigError
from bench.metrics.significance import bootstrap_ci
from bench.run.adapters import AdapterSet
from bench.run.scorers import make_encoder, tag_of_parts
from bench.run.team import TeamSystem, best_of_grid, parse_system
from models.export import export_adapter_set, export_encoder


def target_system(cfg: DictConfig, target: str) -> tuple[TeamSystem, Path | None]:
    """The system to export, and the grid it was chosen on (for the card's metrics)."""
    path = Path(target)
    if (path / "metadata.json").exists():
        adapters = AdapterSet.load(path)
        tag = tag_of_parts(adapters.metadata.get("train", {}))
        return TeamSystem(f"{cfg.model.name}+{tag}", "concat", adapters), None
    if (path / "results.jsonl").exists():
        return best_of_grid(cfg, path), path
    if path.exists():
        raise ConfigError(f"{target} is neither an adapter set (metadata.json) nor a grid (results.jsonl)")
    return parse_system(cfg, target), None


def grid_metrics(grid: Path, system: str) -> dict[str, Any]:
    """Mean and 95% bootstrap interval of each metric of ``system`` in the grid (first job that has it)."""
    for job_dir in sorted(p for p in grid.iterdir() if (p / "results.json").exists()):
        found = json.loads((job_dir / "results.json").read_text()).get("systems", {}).get(system)
        if found:
            metrics = {}
            for metric, value in found["mean"].items():
                values = [v[metric] for v in found.get("per_task", {}).values() if metric in v]
                low, high = bootstrap_ci(values, seed=0)
                metrics[metric] = {"mean": value, "ci": [low, high]}
            return {system: metrics}
    return {}


def run(cfg: DictConfig, target: str) -> tuple[dict, dict]:
    """Export ``target`` to ``out``; returns ``({"folders": [...]}, {"dir": out})``."""
    if not cfg.out:
        raise ConfigError(
            "teamform export needs out=DIR: the folder to write the sentence-transformers model to"
        )
    system, grid = target_system(cfg, target)
    info: dict[str, Any] = {"metrics": grid_metrics(grid, system.name), "confidence": 0.95} if grid else {}
    out = Path(cfg.out)
    if system.adapters is None:
        folders = [export_encoder(make_encoder(cfg.model), None, out, info)]
    else:
        folders = export_adapter_set(system.adapters.dir, lambda: make_encoder(cfg.model), out, info)
    for folder in folders:
        print(f"exported {folder}")
    print(out)
    return {"folders": [str(f) for f in folders]}, {"dir": out}


def main(argv: list[str]) -> None:
    if not argv or "=" in argv[0] or argv[0].startswith("-"):
        print(
            "usage: teamform export ADAPTER_SET_DIR | GRID_DIR | SYSTEM out=DIR [overrides]", file=sys.stderr
        )
        sys.exit(2)
    target = argv[0]
    hydra_command("export", lambda cfg: run(cfg, target), argv[1:])
