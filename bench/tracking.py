"""Experiment tracking: W&B (offline by default), CSV, or nothing (``logger=...``).

A tracker receives ids and numbers only: metric values, system names, config values (secrets
removed), and image files the harness rendered. Employee text never reaches it.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from bench.io import atomic_write_text

log = logging.getLogger(__name__)


class NullTracker:
    """Tracks nothing (``logger=none``)."""

    name = "none"

    def start(self, run_dir: Path, config: dict[str, Any], group: str | None = None, job_type: str = "eval", name: str | None = None) -> None:
        self.run_dir = Path(run_dir)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        pass

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass

    def log_images(self, images: dict[str, Path]) -> None:
        pass

    def finish(self) -> None:
        pass


class CsvTracker(NullTracker):
    """Appends metrics to ``metrics.csv`` in the run directory (``logger=csv``)."""

    name = "csv"

    def start(self, run_dir, config, group=None, job_type="eval", name=None) -> None:  # noqa: ANN001
        super().start(run_dir, config, group, job_type, name)
        self.path = self.run_dir / "metrics.csv"

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.writer(handle)
            if new:
                writer.writerow(["step", "key", "value"])
            for key, value in metrics.items():
                writer.writerow([step if step is not None else "", key, value])

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        atomic_write_text(self.run_dir / f"{key.replace('/', '_')}.csv", buffer.getvalue())


class WandbTracker(NullTracker):
    """One W&B run per job, grouped by grid, offline unless ``mode=online``."""

    name = "wandb"

    def __init__(self, project: str = "teamform-bench", mode: str = "offline", dir: str | None = None, entity: str | None = None) -> None:  # noqa: A002
        self.project, self.mode, self.dir, self.entity = project, mode, dir, entity
        self.run = None

    def start(self, run_dir, config, group=None, job_type="eval", name=None) -> None:  # noqa: ANN001
        import wandb

        super().start(run_dir, config, group, job_type, name)
        self.run = wandb.init(
            project=self.project,
            entity=self.entity,
            mode=self.mode,
            dir=str(self.run_dir),
            group=group,
            job_type=job_type,
            name=name,
            config=config,
            reinit="create_new",
            settings=wandb.Settings(silent=True, console="off", disable_git=True, save_code=False, x_disable_stats=True),
        )

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self.run is not None:
            self.run.log(metrics, step=step)

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        import wandb

        if self.run is not None:
            self.run.log({key: wandb.Table(columns=columns, data=rows)})

    def log_images(self, images: dict[str, Path]) -> None:
        import wandb

        if self.run is not None and images:
            self.run.log({key: wandb.Image(str(path)) for key, path in images.items()})

    def finish(self) -> None:
        if self.run is not None:
            run_dir = Path(self.run.dir).parent
            self.run.finish()
            self.run = None
            if self.mode == "offline":
                log.info("W&B offline run saved; upload with: wandb sync %s", run_dir)
