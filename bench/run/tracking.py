"""Experiment tracking: W&B (offline by default), CSV, or nothing (``logger=...``).

A tracker receives ids and numbers only: metric values, system names, config values (secrets
removed), and image files the harness rendered. Employee text never reaches it.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any, Protocol

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from bench.core.io import atomic_write_text
from bench.core.redact import plain_config

log = logging.getLogger(__name__)


class Tracker(Protocol):
    """What the harness logs to: ids and numbers only (``logger=wandb|csv|none``)."""

    name: str

    def start(
        self,
        run_dir: Path,
        config: dict[str, Any],
        group: str | None = None,
        job_type: str = "eval",
        name: str | None = None,
    ) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None: ...

    def log_images(self, images: dict[str, Path]) -> None: ...

    def finish(self) -> None: ...


def grid_group(cfg: DictConfig, out: Path) -> str | None:
    """The grid a job belongs to (its sweep directory's name), or ``None`` outside a multirun."""
    from hydra.core.hydra_config import HydraConfig

    try:
        hc = HydraConfig.get()
    except ValueError:
        return out.parent.name if OmegaConf.select(cfg, "hydra.mode", default=None) else None
    return Path(hc.sweep.dir).name if str(hc.mode) == "RunMode.MULTIRUN" else None


def start_tracker(cfg: DictConfig, out: Path, job_type: str) -> Tracker:
    """The ``logger=`` tracker, started for the run directory ``out`` (secrets removed from its config)."""
    tracker = instantiate(cfg.logger)
    tracker.start(
        out, plain_config(cfg), group=grid_group(cfg, out), job_type=job_type, name=f"{job_type}-{out.name}"
    )
    return tracker


def log_results(tracker: Tracker, results: dict[str, Any]) -> None:
    """``eval/<system>/<metric>`` scalars and a systems x metrics table (numbers only)."""
    flat = {f"eval/{s}/{m}": v for s, r in results["systems"].items() for m, v in r["mean"].items()}
    tracker.log_metrics(flat)
    metrics = sorted({m for r in results["systems"].values() for m in r["mean"]})
    rows = [[s, *[r["mean"].get(m) for m in metrics]] for s, r in results["systems"].items()]
    tracker.log_table("eval/systems", ["system", *metrics], rows)


class NullTracker:
    """Tracks nothing (``logger=none``)."""

    name = "none"

    def start(
        self,
        run_dir: Path,
        config: dict[str, Any],
        group: str | None = None,
        job_type: str = "eval",
        name: str | None = None,
    ) -> None:
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

    def __init__(
        self,
        project: str = "teamform-bench",
        mode: str = "offline",
        dir: str | None = None,
        entity: str | None = None,
    ) -> None:  # noqa: A002
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
            settings=wandb.Settings(
                silent=True, console="off", disable_git=True, save_code=False, x_disable_stats=True
            ),
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
