"""Train one adapter set: a global adapter, or one specialised adapter per aspect (thesis 5.2).

:func:`train_adapter_set` is what ``teamform train`` and the grid call. It computes the set's
content key (:mod:`bench.run.adapters`), returns a finished set with that key without training,
and otherwise trains each missing adapter with Lightning, resuming from the last checkpoint
(``work/<adapter>/last.ckpt``, written every ``train.checkpoint_every_n_steps`` optimizer steps)
when a previous run was interrupted. Seeded: the same key gives the same weights on one machine.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from bench.core.dataset import Dataset
from bench.core.errors import TeamformError
from bench.core.io import cache_lock, write_json
from bench.core.runstore import code_version
from bench.run.adapters import GLOBAL, AdapterSet, adapter_dirname, adapter_key, artifact_hash
from bench.run.dev_eval import make_dev_eval
from bench.run.tracking import wandb_artifact, write_lineage
from bench.run.train_settings import TrainSettings
from data_synth.artifact import SynthArtifact

log = logging.getLogger(__name__)

LoggerFactory = Callable[[str, Path], Any]


def lightning_logger(
    tracker: Any, save_dir: Path, name: str, group: str | None = None, config: dict[str, Any] | None = None
) -> Any:
    """The Lightning logger matching a ``logger=`` tracker: W&B (a run of job type ``train`` in
    ``group``, with ``config``), CSV, or none (``False``)."""
    kind = getattr(tracker, "name", "none")
    if kind == "wandb":
        import wandb  # deferred: only W&B-logged training needs it
        from lightning.pytorch.loggers import WandbLogger

        logger = WandbLogger(
            project=tracker.project,
            entity=tracker.entity,
            mode=tracker.mode,
            save_dir=str(save_dir),
            name=name,
            group=group,
            job_type="train",
            log_model=False,
            config=config or {},
            settings=wandb.Settings(silent=True, console="off", disable_git=True, x_disable_stats=True),
        )
        logger.upload_artifacts = bool(
            getattr(tracker, "upload_artifacts", False)
        )  # read by the lineage step
        return logger
    if kind == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=str(save_dir), name=name, version="")
    return False


def adapter_names(dataset: Dataset, settings: TrainSettings) -> list[str]:
    """``[global]``, or the aspects that get a specialised adapter (chosen minus dropped)."""
    if settings.adapter_mode == GLOBAL:
        return [GLOBAL]
    chosen = list(settings.aspects) if settings.aspects is not None else list(dataset.aspects)
    return [a for a in chosen if a not in set(settings.drop_aspects)]


def train_adapter_set(
    dataset: Dataset,
    artifact: SynthArtifact,
    make_encoder: Callable[[], Any],
    settings: TrainSettings,
    cache_dir: str | Path,
    logger_factory: LoggerFactory | None = None,
    callbacks: Sequence[Any] = (),
) -> AdapterSet:
    """Train (or reuse, or resume) the adapter set of ``settings`` on ``artifact``.

    Args:
        dataset: the dataset (employees; its hash is part of the key).
        artifact: the synthetic data.
        make_encoder: builds a fresh base :class:`models.encoder.Encoder` (one per adapter).
        settings: the ``train=`` settings.
        cache_dir: ``paths.cache_dir``; the set goes to ``{cache_dir}/adapters/{key}``.
        logger_factory: ``(adapter name, save dir) -> Lightning logger | False``.
        callbacks: extra Lightning callbacks (tests inject failures with them).

    Returns:
        The finished :class:`bench.run.adapters.AdapterSet`.
    """
    probe = make_encoder()
    cuda = _on_cuda(settings)
    precision = settings.resolved_precision(cuda)
    synth_hash = artifact_hash(artifact.path)
    numerics = {"precision": precision}
    if settings.resolved_dropout_masks(cuda) != "torch":  # only when set: older adapter keys stay valid
        numerics["dropout_masks"] = settings.resolved_dropout_masks(cuda)
    key = adapter_key(settings.key_parts(), dataset.hash, synth_hash, probe.fingerprint, numerics)
    root = Path(cache_dir) / "adapters" / key
    if (root / "metadata.json").exists():
        return _reused(root)
    with _fill_lock(root):
        if (root / "metadata.json").exists():  # trained by another job while this one waited
            log.info("adapter set %s was trained by another job meanwhile: reused", key)
            return _reused(root)
        return _train_set(
            root,
            key,
            dataset,
            artifact,
            make_encoder,
            settings,
            precision,
            synth_hash,
            probe,
            logger_factory,
            callbacks,
        )


def _on_cuda(settings: TrainSettings) -> bool:
    return torch.cuda.is_available() and settings.accelerator in ("auto", "gpu", "cuda")


def _reused(root: Path) -> AdapterSet:
    found = AdapterSet.load(root)
    found.reused = True
    return found


def _fill_lock(root: Path) -> Any:
    """:func:`bench.core.io.cache_lock` on the set, in a single-process run (two grid jobs at
    once); not under DDP, whose ranks train the set together (the launched ranks set ``LOCAL_RANK``)."""
    import torch.distributed as dist

    distributed = "LOCAL_RANK" in os.environ or (dist.is_available() and dist.is_initialized())
    return contextlib.nullcontext() if distributed else cache_lock(root)


def _train_set(
    root: Path,
    key: str,
    dataset: Dataset,
    artifact: SynthArtifact,
    make_encoder: Callable[[], Any],
    settings: TrainSettings,
    precision: str,
    synth_hash: str,
    probe: Any,
    logger_factory: LoggerFactory | None,
    callbacks: Sequence[Any],
) -> AdapterSet:
    """Train every adapter of the set into ``root`` and write its ``metadata.json`` last."""
    log.info("training adapter set %s", key)
    started = time.time()
    results = {}
    for name in adapter_names(dataset, settings):
        aspect = None if name == GLOBAL else name
        results[name] = train_adapter(
            root,
            name,
            aspect,
            dataset,
            artifact,
            make_encoder,
            settings,
            precision,
            logger_factory,
            callbacks,
        )
    meta = {
        "key": key,
        "mode": settings.adapter_mode,
        "complete": True,
        "adapters": {n: {"dir": adapter_dirname(n), **r} for n, r in results.items()},
        "aspects": [a for a in dataset.aspects if a not in set(settings.drop_aspects)],
        "drop_aspects": list(settings.drop_aspects),
        "config_hash": key,
        "train": settings.key_parts(),
        "precision": precision,
        "dropout_masks": settings.resolved_dropout_masks(_on_cuda(settings)),
        "dataset": {"name": dataset.name, "hash": dataset.hash},
        "synth": {"hash": synth_hash, "dir": str(artifact.path)},
        "model": {"fingerprint": probe.fingerprint, **probe.settings()},
        "code_version": code_version(),
        "seconds": round(time.time() - started, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if _is_global_zero():
        write_json(root / "metadata.json", meta)
        shutil.rmtree(root / "work", ignore_errors=True)
    _barrier()
    return AdapterSet.load(root)


def train_adapter(
    root: Path,
    name: str,
    aspect: str | None,
    dataset: Dataset,
    artifact: SynthArtifact,
    make_encoder: Callable[[], Any],
    settings: TrainSettings,
    precision: str,
    logger_factory: LoggerFactory | None,
    callbacks: Sequence[Any],
) -> dict[str, Any]:
    """Train one adapter into ``root/<dirname>`` (resuming from ``root/work``); returns its result."""
    # deferred: Lightning (and the modules built on it) take seconds to import; only training needs them
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint

    from models.datamodule import PairDataModule
    from models.dropout import use_fast_dropout
    from models.lit_module import DualEncoderModule
    from models.lora import apply_lora, enable_gradient_checkpointing

    out = root / adapter_dirname(name)
    if (out / "result.json").exists():
        return json.loads((out / "result.json").read_text())
    if settings.num_threads:
        torch.set_num_threads(int(settings.num_threads))
    L.seed_everything(settings.seed, workers=True, verbose=False)
    encoder = make_encoder()
    settings.apply_lengths(encoder)
    encoder.model = apply_lora(encoder.model, settings.lora)
    if settings.resolved_dropout_masks(_on_cuda(settings)) == "fast":
        use_fast_dropout(encoder.model)
    if settings.gradient_checkpointing:
        enable_gradient_checkpointing(encoder.model)
    data = PairDataModule(
        artifact,
        dataset,
        encoder.tokenize,
        mix=settings.mix,
        aspect=aspect,
        drop_aspects=settings.drop_aspects,
        label_negatives=settings.label_negatives,
        max_label_negatives=settings.max_label_negatives,
        schedule=settings.negatives.effective_schedule,
        level=settings.negatives.level,
        batch_size=settings.batch_size,
        accumulate=settings.accumulate_grad_batches,
        epochs=settings.epochs,
        max_steps=settings.max_steps,
        dev_fraction=settings.dev_fraction,
        seed=settings.seed,
        base_tasks=settings.base_tasks,
    )
    work = root / "work" / adapter_dirname(name)
    checkpoint = ModelCheckpoint(
        dirpath=str(work),
        filename="step-{step}",
        every_n_train_steps=settings.checkpoint_every_n_steps,
        save_last=True,
        save_top_k=0,
        save_on_train_epoch_end=False,
    )
    trainer = L.Trainer(
        max_epochs=settings.epochs if settings.max_steps <= 0 else -1,
        max_steps=settings.max_steps,
        accelerator=settings.accelerator,
        devices=settings.devices,
        strategy=settings.strategy,
        precision=precision,
        accumulate_grad_batches=settings.accumulate_grad_batches,
        callbacks=[checkpoint, *callbacks],
        logger=logger_factory(name, root / "logs") if logger_factory else False,
        use_distributed_sampler=False,
        deterministic=True if settings.accelerator == "cpu" or not torch.cuda.is_available() else "warn",
        log_every_n_steps=1,
        num_sanity_val_steps=0,
        enable_model_summary=False,
        limit_val_batches=0,
        enable_progress_bar=sys.stderr.isatty(),
        default_root_dir=str(work),
    )
    dev_eval = make_dev_eval(dataset, artifact, data.pairs.dev_qrels, data.view, settings.dev_metrics)
    module = DualEncoderModule(
        encoder,
        settings.optimizer,
        settings.scheduler,
        settings.temperature,
        dev_eval,
        total_steps=data.total_steps(trainer.world_size),
    )
    last = work / "last.ckpt"
    started, resumed = time.time(), last.exists()
    if resumed:
        log.info("resuming adapter %s from %s", name, last)
    trainer.fit(module, datamodule=data, ckpt_path=str(last) if resumed else None)
    if trainer.interrupted:
        raise TeamformError(
            f"training of adapter {name!r} was interrupted at step {trainer.global_step}; "
            "run the same command again to resume"
        )
    result = {
        "aspect": aspect,
        "steps": int(trainer.global_step),
        "epochs": int(trainer.current_epoch),
        "pairs": dict(data.pairs.counts),
        "dev_metrics": module.dev_metrics,
        "loss_curve": module.loss_curve,
        "seconds_last_session": round(time.time() - started, 1),
        "resumed": resumed,
    }
    if trainer.is_global_zero:
        tmp = root / f".{adapter_dirname(name)}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        encoder.model.save_pretrained(
            str(tmp), safe_serialization=True
        )  # adapter_model.safetensors + adapter_config.json
        write_json(tmp / "result.json", result)
        os.replace(tmp, out)
        _record_train_lineage(trainer, artifact, root)
    _finish_logger(trainer)
    trainer.strategy.barrier()
    return result


def _record_train_lineage(trainer: Any, artifact: SynthArtifact, root: Path) -> None:
    """The W&B train run logs its adapter set as an artifact (offline too: ``wandb sync`` uploads it)
    holding its content key; ``lineage.json`` beside it records the synthetic data it read, whose
    use ``teamform sync`` declares once online (offline, wandb cannot record a use)."""
    for logger in trainer.loggers:
        experiment = getattr(logger, "_experiment", None)
        if type(logger).__name__ != "WandbLogger" or experiment is None:
            continue
        synth = {
            "type": "synthetic-data",
            "name": f"synth-{artifact.path.name}",
            "digest": artifact_hash(artifact.path),
            "path": str(Path(artifact.path).resolve()),
        }
        adapters = {
            "type": "adapter-set",
            "name": f"adapters-{root.name}",
            "digest": root.name,
            "path": str(Path(root).resolve()),
        }
        try:
            experiment.log_artifact(wandb_artifact(adapters, getattr(logger, "upload_artifacts", False)))
            adapters["logged"] = True
        except Exception as error:  # noqa: BLE001 - tracking must not sink a trained adapter; sync declares it
            log.warning("the adapter set's artifact was not logged (teamform sync declares it): %s", error)
        write_lineage(experiment, logger._project, logger._wandb_init.get("entity"), [synth], [adapters])


def _finish_logger(trainer: Any) -> None:
    for logger in trainer.loggers:
        experiment = getattr(logger, "_experiment", None)
        if experiment is not None and hasattr(experiment, "finish"):
            experiment.finish()


def _is_global_zero() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
