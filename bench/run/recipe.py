"""The job recipe: every job is the same steps, composed differently by its kind.

``load`` (the dataset) -> ``guard`` (no training data copying evaluation tasks) -> ``synthesise``
(the cached synthetic-data artifact) -> ``train`` (cached adapter sets) -> ``evaluate`` (systems,
run files) -> ``record`` (``results.json``, written once) -> ``track`` (the logger's run).

A kind (:mod:`bench.run.kinds`) receives a :class:`Job` after ``load`` and ``guard`` and calls
:meth:`Job.synthesise`, :meth:`Job.train` and :meth:`Job.evaluate` as it needs; what it evaluates
accumulates in the job, and :func:`run_job` records and tracks it when the kind returns.

Example (what ``teamform eval`` runs)::

    results = run_job(cfg, run_dir(), kind=lambda job: job.evaluate(job.settings.encoders))
"""

from __future__ import annotations

import dataclasses
import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from bench.core.dataset import Dataset
from bench.core.errors import TeamformError
from bench.data import load_dataset
from bench.run.adapters import AdapterSet
from bench.run.evaluation import EvalSettings, evaluate_specs, print_table
from bench.run.guards import check_leakage
from bench.run.preflight import check_job
from bench.run.record import experiment_of, job_overrides, write_results
from bench.run.scorers import ScorerSpec, adapter_tag, build_scorers, make_encoder
from bench.run.synthesis import artifact_for
from bench.run.tracking import grid_group, track_encoders
from bench.run.train_settings import TrainSettings
from bench.run.training import lightning_logger, train_adapter_set
from data_synth.artifact import SynthArtifact

log = logging.getLogger(__name__)


class JobSkipped(TeamformError):
    """The job cannot run in this configuration (the reason goes to the report)."""


@dataclass
class Trained:
    """An adapter set a job trained (or found in the cache), with the settings that name it."""

    adapters: AdapterSet
    settings: TrainSettings

    @property
    def tag(self) -> str:
        """The adapter part of system names (``lora-global-full``)."""
        return adapter_tag(self.settings)


def eval_settings(cfg: DictConfig, **changes: Any) -> EvalSettings:
    """The typed ``eval=`` settings of ``cfg`` (a misspelt key fails here, naming it), with ``changes``."""
    settings = instantiate(cfg.eval, _convert_="all")
    return dataclasses.replace(settings, **changes) if changes else settings


def train_settings(cfg: DictConfig, **changes: Any) -> TrainSettings:
    """``TrainSettings`` of ``cfg.train`` with dotted ``changes`` applied to the config first."""
    train = OmegaConf.to_container(cfg.train, resolve=True)
    for key, value in changes.items():
        node = train
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return instantiate(OmegaConf.create(train), _convert_="all")


@dataclass
class Job:
    """One job between ``load`` and ``record``: its config, directory, dataset and what it evaluated.

    Attributes:
        cfg: the composed config.
        out: the run directory.
        dataset: the loaded dataset.
        job_type: the tracker's job type (``eval``, ``train_eval``, ``ablation``, ...).
        settings: the typed ``eval=`` settings.
        systems / skipped / scorers / notes: what :meth:`evaluate` accumulated.
        extras / study: what the kind adds to ``results.json`` (``extras``) and its ``study`` block.
        split: the dev/test split the evaluation used (``eval.dev_split``; dev tasks are never scored).
    """

    cfg: DictConfig
    out: Path
    dataset: Dataset
    job_type: str
    settings: EvalSettings
    systems: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    scorers: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    study: dict[str, Any] = field(default_factory=dict)
    split: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def synthesise(self, cfg: DictConfig | None = None) -> SynthArtifact:
        """The synthetic data of ``cfg`` (default: the job's), built or found, checked for leakage."""
        return artifact_for(cfg or self.cfg, self.dataset)

    def train(self, artifact: SynthArtifact, cfg: DictConfig | None = None, **changes: Any) -> Trained:
        """Train (or reuse) the adapter set of ``cfg.train`` with ``changes``; curves go to the logger."""
        cfg = cfg or self.cfg
        settings = train_settings(cfg, **changes)
        tracker = instantiate(cfg.logger)
        adapters = train_adapter_set(
            self.dataset,
            artifact,
            lambda: make_encoder(cfg.model),
            settings,
            cfg.paths.cache_dir,
            logger_factory=lambda name, save_dir: lightning_logger(
                tracker,
                self.out,
                f"train:adapters-{save_dir.parent.name}:{name}",
                group=grid_group(cfg, self.out),
                config={
                    "kind": "train",
                    "adapter": name,
                    "outputs": [{"type": "adapter-set", "name": f"adapters-{save_dir.parent.name}"}],
                    **settings.key_parts(),
                },
            ),
        )
        return Trained(adapters, settings)

    def evaluate(
        self,
        encoders: list[str],
        trained: Trained | AdapterSet | None = None,
        tag: str | None = None,
        settings: EvalSettings | None = None,
        rename: Callable[[str], str] | None = None,
    ) -> dict[str, Any]:
        """Score ``encoders`` (``eval.encoders`` names; ``adapter`` = ``trained``) and keep their systems.

        Args:
            encoders: encoder names (:data:`bench.run.scorers.ALL_NAMES`).
            trained: the adapter set for ``adapter`` (a :class:`Trained`, or a loaded set).
            tag: the adapter part of system names (default: ``trained.tag``; ``lora`` for a loaded set).
            settings: eval settings (default: the job's).
            rename: maps each system name before it is kept (the influence study's subset names).

        Returns:
            The systems scored by this call (name -> ``{"mean", "per_task"}``), after ``rename``.
        """
        adapters = trained.adapters if isinstance(trained, Trained) else trained
        if tag is None:
            tag = trained.tag if isinstance(trained, Trained) else "lora"
        specs, skipped = build_scorers(
            encoders, self.cfg.model, self.cfg.paths.cache_dir, adapters, tag, openai=self.settings.openai
        )
        scored = self.evaluate_specs(specs, settings, rename, skipped)
        if adapters is not None:
            self.record_inputs(scored, adapters)
        return scored

    def record_inputs(self, scored: dict[str, Any], adapters: AdapterSet) -> None:
        """Note the artifacts the encoders of ``scored`` read: synthetic data -> adapter set."""
        refs = artifact_refs(adapters)
        for name in scored:
            self.inputs.setdefault(name.split("/", 1)[0], refs)

    def evaluate_specs(
        self,
        specs: list[ScorerSpec],
        settings: EvalSettings | None = None,
        rename: Callable[[str], str] | None = None,
        skipped: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Score built scorers (``teamform eval`` with extra specs); see :meth:`evaluate`."""
        settings = settings or self.settings
        results = evaluate_specs(self.dataset, specs, settings, self.out)
        rename = rename or (lambda name: name)
        scored = {rename(name): values for name, values in results["systems"].items()}
        self.systems.update(scored)
        self.scorers.update(results["scorers"])
        self.split = results["split"]
        self.notes.update({rename(name): note for name, note in results["notes"].items()})
        self.skipped.extend(
            [
                *(skipped or []),
                *(
                    {**s, "system": rename(s["system"])} if "/*" not in s["system"] else s
                    for s in results["skipped"]
                ),
            ]
        )
        return scored

    def declared_split(self) -> dict[str, Any]:
        """The split of ``eval.dev_split`` on this dataset (a job that evaluated nothing still states it)."""
        return self.settings.dev_split.record(self.dataset)

    def body(self) -> dict[str, Any]:
        """The ``results.json`` body: systems kept by ``eval.systems``, skips, scorers, notes, extras."""
        patterns = self.settings.systems
        systems = self.systems
        if patterns:
            systems = {k: v for k, v in systems.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}
        return {
            "systems": systems,
            "scorers": self.scorers,
            "notes": self.notes,
            "skipped": self.skipped,
            "extras": self.extras,
            "split": self.split or self.declared_split(),
            "inputs": self.inputs,
            "study": {**OmegaConf.to_container(self.cfg.study, resolve=True), **self.study},
        }


Kind = Callable[[Job], Any]


def artifact_refs(adapters: AdapterSet) -> list[dict[str, str]]:
    """The lineage of an adapter set as artifact references: its synthetic data, then the set itself.

    Names and digests only (content keys, local paths): nothing is uploaded, and synthetic data
    can quote employees. ``teamform sync`` declares these uses once online.
    """
    synth = adapters.metadata.get("synth", {})
    refs = []
    if synth.get("hash"):
        refs.append(
            {
                "type": "synthetic-data",
                "name": f"synth-{Path(synth.get('dir', '')).name or synth['hash'][:16]}",
                "digest": str(synth["hash"]),
                "path": str(Path(synth["dir"]).resolve()) if synth.get("dir") else "",
            }
        )
    refs.append(
        {
            "type": "adapter-set",
            "name": f"adapters-{adapters.dir.name}",
            "digest": adapters.dir.name,
            "path": str(Path(adapters.dir).resolve()),
        }
    )
    return refs


def load_and_guard(cfg: DictConfig) -> Dataset:
    """The ``load`` and ``guard`` steps: the dataset, refused when seed tasks copy evaluation tasks."""
    dataset = load_dataset(cfg.data)
    check_leakage(cfg, dataset)
    return dataset


def load_and_check(cfg: DictConfig) -> Dataset:
    """``load`` and ``guard``, then the pre-flight of :mod:`bench.run.preflight` (one-line errors)."""
    dataset = load_and_guard(cfg)
    check_job(cfg, dataset)
    return dataset


def run_job(
    cfg: DictConfig, out: Path, kind: Kind, job_type: str = "eval", dataset: Dataset | None = None
) -> dict[str, Any]:
    """Run one job by the recipe and return what ``results.json`` holds.

    Args:
        cfg: the composed config.
        out: the run directory.
        kind: composes ``synthesise`` / ``train`` / ``evaluate`` on the :class:`Job`.
        job_type: the tracker's job type.
        dataset: an already loaded and guarded dataset (``None``: load and guard here).
    """
    dataset = dataset if dataset is not None else load_and_check(cfg)
    job = Job(cfg, out, dataset, job_type, eval_settings(cfg))
    kind(job)
    results = write_results(out, cfg, dataset, job.body())
    track(cfg, out, job_type, results)
    print(print_table(results["systems"]))
    for item in results.get("skipped", []):
        print(f"skipped {item['system']}: {item['reason']}")
    return results


def track(cfg: DictConfig, out: Path, job_type: str, results: dict[str, Any]) -> None:
    """The ``track`` step: one run of the configured logger per evaluated encoder (numbers only)."""
    track_encoders(cfg, out, job_type, results, experiment_of(job_overrides()))
