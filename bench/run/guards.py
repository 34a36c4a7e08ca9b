"""Guards: what must hold before a job trains or scores anything (no training data that copies
evaluation tasks). Each raises a one-line :class:`bench.core.errors.ConfigError` naming the
overlap (ids only) and the override that turns the guard off (``job.allow_leakage=true``).
"""

from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError
from bench.data.leakage import leakage_report
from data_synth.artifact import SynthArtifact, load_artifact
from data_synth.stages.tasks import LeakageGuard


def leakage_allowed(cfg: DictConfig) -> bool:
    return bool(OmegaConf.select(cfg, "job.allow_leakage", default=False))


def check_leakage(cfg: DictConfig, dataset: Dataset) -> None:
    """Refuse to go on when seed training tasks overlap evaluation tasks (``job.allow_leakage``)."""
    counts = leakage_report(dataset).counts()
    overlap = sum(v for k, v in counts.items() if k.startswith("train_eval"))
    if overlap and not leakage_allowed(cfg):
        raise ConfigError(
            f"{overlap} training seed task(s) duplicate evaluation tasks (see `teamform data validate`); "
            "remove them, or set job.allow_leakage=true to go on anyway"
        )


def check_synthetic_leakage(cfg: DictConfig, dataset: Dataset, artifact: SynthArtifact) -> None:
    """Refuse to train on synthetic tasks that copy evaluation tasks (``job.allow_leakage``).

    Uses the synthesis leakage guard (equal after normalisation, or word Jaccard at or above
    ``synth.leakage_threshold``), so an artifact made for this dataset passes, and one made for
    another dataset or edited by hand (``train.synth_dir``) is checked the same way. Ids only.
    """
    if leakage_allowed(cfg):
        return
    guard = LeakageGuard(dataset.tasks, float(OmegaConf.select(cfg, "synth.leakage_threshold", default=0.8)))
    leaked = [t.id for t in artifact.tasks if guard.leaks(t)]
    if leaked:
        shown = ", ".join(map(repr, leaked[:5])) + (" ..." if len(leaked) > 5 else "")
        raise ConfigError(
            f"{len(leaked)} synthetic training task(s) of {artifact.path} duplicate evaluation tasks "
            f"({shown}); synthesise the data again for this dataset, or set job.allow_leakage=true to go on "
            "anyway"
        )


def check_grid_leakage(cfg: DictConfig, dataset: Dataset) -> None:
    """Before a grid starts: the dataset's seed tasks, and the given ``train.synth_dir`` artifact.

    Artifacts the grid synthesises itself are checked by each job before training
    (:meth:`bench.run.recipe.Job.synthesise`).
    """
    if leakage_allowed(cfg):
        return
    check_leakage(cfg, dataset)
    synth_dir = OmegaConf.select(cfg, "train.synth_dir", default=None)
    if synth_dir:
        check_synthetic_leakage(cfg, dataset, load_artifact(synth_dir))
