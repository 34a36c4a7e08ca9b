"""``teamform data validate|stats|export``: check, describe and export a dataset."""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.errors import ConfigError
from bench.core.io import write_json
from bench.core.runstore import run_dir
from bench.data import load_dataset
from bench.data.export import export_custom
from bench.data.leakage import leakage_report

ACTIONS = ("validate", "stats", "export")
# Leakage findings printed by `validate`; all of them go to leakage.json in the run directory.
LEAKAGE_LINES = 20


def print_stats(stats: dict) -> None:
    width = max(len(k) for k in stats)
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        print(f"{key:<{width}}  {value}")


def run(cfg: DictConfig, action: str) -> tuple[dict, dict]:
    """Load ``cfg.data`` and validate, describe or export it.

    Returns:
        ``(stats, {"dataset": dataset, "dir": output directory})``.
    """
    dataset = load_dataset(cfg.data)
    stats = dataset.stats()
    if action == "export":
        if not cfg.out:
            raise ConfigError(
                "`teamform data export` needs out=DIR: the directory to write the custom format to"
            )
        out = export_custom(dataset, Path(cfg.out))
        print_stats(stats)
        print(out)
        return stats, {"dataset": dataset, "dir": out}
    leakage = leakage_report(dataset)
    stats["leakage"] = leakage.counts()
    out = run_dir()
    for note in dataset.notes:
        print(f"note: {note}")
    print_stats(stats)
    if action == "validate":
        for line in leakage.lines(limit=LEAKAGE_LINES):
            print(f"leakage: {line}")
        print("valid" if not leakage.total else f"valid, with {leakage.total} leakage finding(s)")
    write_json(out / "stats.json", stats)
    write_json(out / "leakage.json", leakage.to_json())  # ids only, never text
    print(out)
    return stats, {"dataset": dataset, "dir": out}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ACTIONS:
        print(f"usage: teamform data {{{'|'.join(ACTIONS)}}} [overrides]", file=sys.stderr)
        sys.exit(2)
    action = argv[0]
    hydra_command("data", lambda cfg: run(cfg, action), argv[1:])
