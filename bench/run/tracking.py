"""Experiment tracking: W&B (offline by default), CSV, or nothing (``logger=...``).

A tracker receives ids and numbers only: metric values, system names, config values (secrets
removed), and image files the harness rendered. Employee text never reaches it.

Runs are laid out for comparison: one run per evaluated encoder of a job, whose metric keys are
the same in every run, ``{view}/{metric}`` (``condorcet/ndcg@5``, ``concat/ap``, ``role/hit@5``),
set in the summary, and whose config names what varies (:func:`run_config`): experiment, encoder,
adapter mode, mix, negatives, dropped aspects, LoRA rank/alpha, learning rate, seed, dataset and
hash, code version, LLM backend, and ``inputs`` (the synthetic-data and adapter-set artifacts it
read, by name and digest). Group = the grid, job type = the job kind. So a W&B runs table of a
grid sorts by ``condorcet/ndcg@5`` and groups by ``mix``.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any, Protocol

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from bench.core.io import atomic_write_text, write_json
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

    def log_summary(self, metrics: dict[str, float]) -> None: ...

    def log_file(self, path: Path) -> None: ...

    def record_lineage(self, inputs: list[dict[str, str]], outputs: list[dict[str, str]] = ()) -> None: ...

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


def without_hydra(cfg: DictConfig) -> DictConfig:
    """``cfg`` without its ``hydra`` node (which resolves only inside a running job)."""
    return OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])


def encoders_of(systems: dict[str, Any]) -> list[str]:
    """The encoder parts of the system names, in order (``minilm``, ``minilm+lora-global-full``)."""
    return list(dict.fromkeys(name.split("/", 1)[0] for name in systems))


def run_config(
    cfg: DictConfig, results: dict[str, Any], encoder: str, experiment: str, job_type: str
) -> dict[str, Any]:
    """What distinguishes one encoder's run from the others: the columns of a W&B runs table."""
    prov = results.get("provenance", {})
    trained = "+" in encoder
    train = cfg.train
    negatives = OmegaConf.select(cfg, "train.negatives", default=None)
    schedule = str(negatives.schedule) if trained and negatives is not None and negatives.enabled else "none"
    return {
        "experiment": experiment or job_type,
        "kind": job_type,
        "encoder": encoder,
        "model": str(cfg.model.name),
        "adapter_mode": str(train.adapter_mode) if trained else None,
        "mix": str(train.mix) if trained else None,
        "negatives": schedule,
        "drop_aspects": list(train.drop_aspects) if trained else [],
        "lora_r": int(train.lora.r) if trained else None,
        "lora_alpha": int(train.lora.alpha) if trained else None,
        "lr": float(OmegaConf.select(cfg, "train.optimizer.lr", default=float("nan"))) if trained else None,
        "seed": int(cfg.seed),
        "dataset": prov.get("dataset"),
        "dataset_hash": prov.get("dataset_hash"),
        "code_version": prov.get("code_version"),
        "llm_backend": prov.get("llm_backend"),
        "profile": OmegaConf.select(cfg, "profile_name", default=None),
        "inputs": results.get("inputs", {}).get(encoder, []),
    }


def encoder_metrics(results: dict[str, Any], encoder: str) -> dict[str, float]:
    """``{view}/{metric}`` means of one encoder's systems: the same keys in every run."""
    return {
        f"{name.split('/', 1)[1]}/{m}": v
        for name, r in results["systems"].items()
        if name.split("/", 1)[0] == encoder
        for m, v in r["mean"].items()
    }


def log_results(tracker: Tracker, results: dict[str, Any], encoder: str | None = None) -> None:
    """``{view}/{metric}`` scalars of ``encoder`` (all systems when ``None``, keyed ``{system}/{metric}``),
    a systems x metrics table and a per-task table (numbers and ids only)."""
    systems = {
        name: r
        for name, r in results["systems"].items()
        if encoder is None or name.split("/", 1)[0] == encoder
    }
    if encoder is None:
        flat = {f"{s}/{m}": v for s, r in systems.items() for m, v in r["mean"].items()}
    else:
        flat = encoder_metrics(results, encoder)
    tracker.log_summary(flat)
    metrics = sorted({m for r in systems.values() for m in r["mean"]})
    rows = [[s, *[r["mean"].get(m) for m in metrics]] for s, r in systems.items()]
    tracker.log_table("systems", ["system", *metrics], rows)
    per_task = [
        [s, t, *[values.get(m) for m in metrics]]
        for s, r in systems.items()
        for t, values in r["per_task"].items()
    ]
    tracker.log_table("per_task", ["system", "task", *metrics], per_task)


def track_encoders(
    cfg: DictConfig, out: Path, job_type: str, results: dict[str, Any], experiment: str
) -> list[str]:
    """The ``track`` step: one run of the ``logger=`` tracker per evaluated encoder; returns their names.

    Each run's files go under ``out/tracking/<encoder>/`` (so under the grid's directory in a grid).
    """
    names = []
    for encoder in encoders_of(results["systems"]):
        tracker = instantiate(cfg.logger)
        name = f"{experiment or job_type}:{encoder}"
        tracker.start(
            out / "tracking" / encoder.replace("/", "_"),
            {
                **run_config(cfg, results, encoder, experiment, job_type),
                "config": plain_config(without_hydra(cfg)),
            },
            group=grid_group(cfg, out),
            job_type=job_type,
            name=name,
        )
        try:
            log_results(tracker, results, encoder)
            tracker.record_lineage(results.get("inputs", {}).get(encoder, []))
        finally:
            tracker.finish()
        names.append(name)
    return names


LINEAGE = "lineage.json"
UPLOADABLE = ("adapter-set",)  # synthetic data is never uploaded, only referenced: it can quote employees


def wandb_artifact(ref: dict[str, str], upload: bool = False) -> Any:
    """A W&B artifact for ``ref`` (``type``, ``name``, ``digest``, ``path``) with its content key.

    By default a reference (a ``file://`` URI, nothing uploaded); ``upload`` adds the files of an
    adapter set (``logger.upload_artifacts=true``), never of synthetic data.
    """
    import wandb  # deferred: only W&B tracking needs it

    artifact = wandb.Artifact(ref["name"], type=ref["type"], metadata={"digest": ref["digest"]})
    path = Path(ref["path"]).resolve()  # paths.cache_dir is relative by default (.cache): a URI is absolute
    if upload and ref["type"] in UPLOADABLE and path.is_dir():
        artifact.add_dir(str(path))
    else:
        artifact.add_reference(path.as_uri(), checksum=False)
    return artifact


def write_lineage(
    run: Any,
    project: str,
    entity: str | None,
    inputs: list[dict[str, str]],
    outputs: list[dict[str, str]],
) -> Path:
    """``lineage.json`` in one offline W&B run's folder: its id, project, the artifacts it read and wrote."""
    return write_json(
        Path(run.dir).parent / LINEAGE,
        {
            "run_id": run.id,
            "project": project,
            "entity": entity,
            "name": run.name,
            "offline_dir": str(Path(run.dir).parent),
            "inputs": inputs,
            "outputs": outputs,
        },
    )


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

    def log_summary(self, metrics: dict[str, float]) -> None:
        pass

    def log_file(self, path: Path) -> None:
        pass

    def record_lineage(self, inputs: list[dict[str, str]], outputs: list[dict[str, str]] = ()) -> None:
        pass

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass

    def log_images(self, images: dict[str, Path]) -> None:
        pass

    def finish(self) -> None:
        pass


class CsvTracker(NullTracker):
    """The same layout as W&B in files (``logger=csv``): ``config.json`` (the run's columns),
    ``summary.csv`` (``key,value``: ``{view}/{metric}``), ``metrics.csv`` (``step,key,value``) and
    one CSV per table, in the run's directory."""

    name = "csv"

    def start(self, run_dir, config, group=None, job_type="eval", name=None) -> None:  # noqa: ANN001
        super().start(run_dir, config, group, job_type, name)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.run_dir / "metrics.csv"
        columns = {k: v for k, v in config.items() if k != "config"}
        write_json(
            self.run_dir / "config.json", {**columns, "group": group, "job_type": job_type, "name": name}
        )

    def log_summary(self, metrics: dict[str, float]) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["key", "value"])
        writer.writerows(sorted(metrics.items()))
        atomic_write_text(self.run_dir / "summary.csv", buffer.getvalue())

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
        upload_artifacts: bool = False,
    ) -> None:  # noqa: A002
        self.project, self.mode, self.dir, self.entity = project, mode, dir, entity
        self.upload_artifacts = bool(upload_artifacts)
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

    def log_summary(self, metrics: dict[str, float]) -> None:
        """Set ``metrics`` in the run's summary (the columns of the runs table), logged once."""
        if self.run is not None:
            self.run.log(metrics)
            self.run.summary.update(metrics)

    def log_file(self, path: Path) -> None:
        """Save ``path`` with the run (REPORT.md of the report run)."""
        if self.run is not None:
            self.run.save(str(path), base_path=str(Path(path).parent), policy="now")

    def log_table(self, key: str, columns: list[str], rows: list[list[Any]]) -> None:
        import wandb

        if self.run is not None:
            self.run.log({key: wandb.Table(columns=columns, data=rows)})

    def log_images(self, images: dict[str, Path]) -> None:
        import wandb

        if self.run is not None and images:
            self.run.log({key: wandb.Image(str(path)) for key, path in images.items()})

    def record_lineage(self, inputs: list[dict[str, str]], outputs: list[dict[str, str]] = ()) -> None:
        """Write ``lineage.json`` beside the run: what ``teamform sync`` declares once online
        (offline, wandb cannot record an artifact's use). References only: names, digests, paths."""
        if self.run is not None:
            write_lineage(self.run, self.project, self.entity, inputs, list(outputs))

    def finish(self) -> None:
        if self.run is not None:
            run_dir = Path(self.run.dir).parent
            self.run.finish()
            self.run = None
            if self.mode == "offline":
                log.info("W&B offline run saved; upload with: wandb sync %s", run_dir)


def track_report(cfg: DictConfig, grid_dir: Path) -> None:
    """One grid-level run (job type ``report``): the report's tables as tables, its plots as images,
    and ``REPORT.md`` as a file. Numbers and system names only (the report shows no employee text
    unless ``report.show_examples`` was asked for; then REPORT.md is not attached)."""
    tracker = instantiate(cfg.logger)
    own = OmegaConf.masked_copy(
        cfg, [k for k in cfg if k != "hydra"]
    )  # the sweep's hydra node resolves only in jobs
    tracker.start(
        grid_dir / "tracking" / "report",
        {"kind": "report", "grid": grid_dir.name, "config": plain_config(own)},
        group=grid_dir.name,
        job_type="report",
        name=f"report:{grid_dir.name}",
    )
    try:
        table = grid_dir / "results.csv"
        if table.exists():
            with table.open(newline="") as handle:
                rows = list(csv.reader(handle))
            header, body = rows[0], rows[1:]
            for section in dict.fromkeys(r[0] for r in body):
                tracker.log_table(f"report/{section}", header, [r for r in body if r[0] == section])
        tracker.log_images({f"plots/{p.stem}": p for p in sorted((grid_dir / "plots").glob("*.png"))})
        if not OmegaConf.select(cfg, "report.show_examples", default=False):
            tracker.log_file(grid_dir / "REPORT.md")
    finally:
        tracker.finish()
