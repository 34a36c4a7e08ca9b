"""The synthesise step of a job: the synthetic-data artifact of a composed config, built or found.

The stages themselves are :func:`data_synth.pipeline.synthesise`; this module builds what they
need from a Hydra config (the dataset, the LLM client over the ``llm=`` backend, the base encoder
of the label pool) and checks the artifact against the evaluation tasks before anyone trains on it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from bench.core.dataset import Dataset
from bench.core.io import content_key
from bench.data import load_dataset
from bench.run.guards import check_synthetic_leakage
from data_synth.artifact import SynthArtifact, load_artifact
from data_synth.client import LLMClient
from data_synth.pipeline import synthesise
from models.embedding_cache import CachedEncoder


def build_client(llm_cfg: Any, dataset: Dataset) -> LLMClient:
    """The :class:`LLMClient` an ``llm=...`` config describes, its backend built for ``dataset``.

    A backend config with ``_partial_: true`` (``llm=simulated``) is completed with the dataset.
    """
    backend = instantiate(llm_cfg.backend, _convert_="all")
    if isinstance(backend, functools.partial):
        backend = backend(dataset=dataset)
    return instantiate(llm_cfg, backend=backend)


def ensure_artifact(cfg: Any, dataset: Dataset | None = None, client: LLMClient | None = None) -> Path:
    """The artifact of a composed config (``data``, ``llm``, ``synth``, ``model``, ``paths``).

    Builds what is missing (dataset, client, the base encoder when ``synth.label_pool_encoder=base``,
    its vectors cached in ``{cache_dir}/embeddings``), runs :func:`synthesise` and closes a client it
    built itself.
    """
    dataset = load_dataset(cfg.data) if dataset is None else dataset
    settings = instantiate(cfg.synth, _convert_="all")
    encoder, encoder_id = None, "tfidf"
    if settings.label_pool_encoder == "base":
        model = instantiate(cfg.model, _convert_="all")
        encoder_id = content_key(getattr(model, "name", ""), model.settings())
        encoder = lambda: CachedEncoder(model, Path(cfg.paths.cache_dir) / "embeddings")  # noqa: E731
    own = client is None
    client = build_client(cfg.llm, dataset) if own else client
    try:
        return synthesise(dataset, client, settings, cfg.paths.cache_dir, encoder, encoder_id)
    finally:
        if own:
            client.close()


def artifact_for(cfg: DictConfig, dataset: Dataset) -> SynthArtifact:
    """``train.synth_dir``, else the artifact of this config (built when missing); guarded for leakage."""
    path = cfg.train.get("synth_dir") or ensure_artifact(cfg, dataset=dataset)
    artifact = load_artifact(path)
    check_synthetic_leakage(cfg, dataset, artifact)
    return artifact
