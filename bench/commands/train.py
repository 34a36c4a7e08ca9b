"""``teamform train``: train (or reuse, or resume) one adapter set with the configured settings.

Reads the synthetic-data artifact of ``train.synth_dir``, or the one ``teamform synth`` makes
for this config (``data``, ``llm``, ``synth``), trains with ``train=...`` on the ``model=`` preset
and prints the adapter set's directory as the last line. Running the same command after an
interruption resumes from the last checkpoint; after a finished run it reuses the set.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from omegaconf import DictConfig

from bench.cli import hydra_command
from bench.data import load_dataset
from bench.errors import ConfigError
from bench.io import atomic_write_text, write_json
from bench.redact import plain_config
from bench.runstore import run_dir


def synth_artifact_dir(cfg: DictConfig, dataset) -> Path:  # noqa: ANN001 - a bench.dataset.Dataset
    """``train.synth_dir``, else the artifact ``data_synth.pipeline.ensure_artifact`` makes or finds."""
    if cfg.train.get("synth_dir"):
        return Path(cfg.train.synth_dir)
    try:
        from data_synth.pipeline import ensure_artifact
    except ImportError as error:
        raise ConfigError(
            f"no synthetic data: set train.synth_dir=DIR (a `teamform synth` output); generating it here needs "
            f"data_synth.pipeline.ensure_artifact, which failed to import ({error})"
        ) from None
    return Path(ensure_artifact(cfg, dataset=dataset))


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """Train the adapter set of ``cfg``.

    Returns:
        ``(metadata, {"adapters": AdapterSet, "dir": its directory})``.
    """
    from hydra.utils import instantiate

    from bench.job import check_synthetic_leakage
    from bench.training import lightning_logger, train_adapter_set
    from data_synth.artifact import load_artifact

    dataset = load_dataset(cfg.data)
    settings = instantiate(cfg.train, _convert_="all")
    artifact = load_artifact(synth_artifact_dir(cfg, dataset))
    check_synthetic_leakage(cfg, dataset, artifact)  # job.allow_leakage=true skips it
    tracker = instantiate(cfg.logger)
    out = run_dir()

    def make_encoder():  # noqa: ANN202 - a fresh base encoder per adapter
        return instantiate(cfg.model, _convert_="all")

    adapters = train_adapter_set(
        dataset, artifact, make_encoder, settings, cfg.paths.cache_dir,
        logger_factory=lambda name, save_dir: lightning_logger(tracker, out, f"train-{name}", group=save_dir.parent.name),
    )
    meta = adapters.metadata
    print(f"adapter set {adapters.dir.name}: mode={adapters.mode} {'reused' if adapters.reused else 'trained'}")
    for name, info in meta["adapters"].items():
        dev = info["dev_metrics"][-1] if info.get("dev_metrics") else {}
        shown = " ".join(f"dev/{k}={v:.4f}" for k, v in dev.items() if k != "epoch")
        print(f"  {name:<14} steps={info['steps']:<6} pairs={sum(v for k, v in info['pairs'].items() if k.endswith('_pairs'))} {shown}")
    atomic_write_text(out / "config.yaml", yaml.safe_dump(plain_config(cfg), sort_keys=False))
    write_json(out / "adapters.json", {"dir": str(adapters.dir), "key": adapters.dir.name})
    print(adapters.dir)
    return meta, {"adapters": adapters, "dir": adapters.dir}


def main(argv: list[str]) -> None:
    hydra_command("train", run, argv)
