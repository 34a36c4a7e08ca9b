"""Pre-flight: what can be known before the work starts is checked before it starts.

Each check returns the one-line reason a job cannot run with the configured parts, or ``None``:
the LLM backend cannot serve this dataset (``llm=simulated`` answers from hidden truth that only
``data=demo`` and ``data=onet`` have), a model's weights are neither local nor in the Hugging
Face cache while offline, a key is missing, the output or cache folder is not writable, the disk
has no room for the caches. ``teamform grid`` runs them for every experiment before its first job
(:func:`plan_grid`); ``eval``, ``train``, ``synth`` and ``team`` run them before loading a model.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError
from data_synth.stages.eureka import NO_DEV_REASON

log = logging.getLogger(__name__)

# Kinds that synthesise training data (and so call the LLM backend) unless train.synth_dir is given.
SYNTH_KINDS = ("train_eval", "ablation", "influence", "eureka", "pooling", "search")
# Free disk a grid job needs for its caches (adapters, checkpoints, embeddings), in bytes.
MIN_FREE_BYTES = 1 << 30
REAL_LLMS = (
    "llm=openai_compatible llm.backend.base_url=http://HOST:PORT/v1 llm.backend.model=NAME, "
    "llm=local (llama.cpp on this machine), or llm=openai (with OPENAI_API_KEY)"
)


def data_option(cfg: DictConfig) -> str:
    """The ``data=`` option of ``cfg`` (``custom``, ``demo``, ``onet``), for messages."""
    try:
        return str(HydraConfig.get().runtime.choices["data"])
    except (ValueError, KeyError):
        target = str(OmegaConf.select(cfg, "data._target_", default="") or "")
        return {"load_custom": "custom", "build_demo": "demo", "load_onet": "onet"}.get(
            target.rsplit(".", 1)[-1], target.rsplit(".", 1)[-1] or "?"
        )


def _backend(cfg: DictConfig) -> str:
    return str(OmegaConf.select(cfg, "llm.backend._target_", default="") or "").rsplit(".", 1)[-1]


def llm_problem(cfg: DictConfig, dataset: Dataset) -> str | None:
    """Why the ``llm=`` backend cannot synthesise for ``dataset``, or ``None``."""
    backend = _backend(cfg)
    if backend == "SimulatedBackend" and dataset.truth is None:
        return (
            f"llm=simulated answers from a dataset's hidden truth, which only data=demo and data=onet have, "
            f"not data={data_option(cfg)}; use a real LLM: {REAL_LLMS}"
        )
    if backend == "OpenAIBackend":
        key_env = OmegaConf.select(cfg, "llm.backend.api_key_env", default=None)
        if key_env and not os.environ.get(key_env):
            return f"llm.backend reads its API key from ${key_env}, which is not set; export {key_env}=..."
        if OmegaConf.is_missing(cfg.llm.backend, "model"):
            return "llm.backend.model is not set; pass llm.backend.model=NAME (the model your server serves)"
    if backend == "LocalServerBackend" and importlib.util.find_spec("llama_cpp") is None:
        return "llm=local needs llama.cpp's server: pip install 'teamform-bench[local-llm]'"
    return None


def eureka_problem(cfg: DictConfig) -> str | None:
    if _backend(cfg) == "SimulatedBackend":
        return (
            "Eureka needs a real LLM backend (llm=openai, openai_compatible or local): the simulated "
            "backend's labels do not depend on the prompt, so there is nothing to optimise"
        )
    if float(OmegaConf.select(cfg, "eval.dev_split.fraction", default=0.0) or 0.0) == 0.0:
        return NO_DEV_REASON
    return None


def search_problem(cfg: DictConfig) -> str | None:
    """Why a hyper-parameter search trial (``job.kind=search``) cannot run, or ``None``."""
    if float(OmegaConf.select(cfg, "eval.dev_split.fraction", default=0.0) or 0.0) == 0.0:
        return (
            "the search is tuned on the dev tasks of eval.dev_split, and eval.dev_split.fraction is 0; "
            "set eval.dev_split.fraction=0.3, say (sweep=search does): those tasks are then never scored"
        )
    return None


def model_problem(model_cfg: DictConfig) -> str | None:
    """Why the ``model=`` preset's weights cannot be loaded here, or ``None`` (no model is loaded)."""
    path = str(model_cfg.name_or_path)
    if path.startswith("bundled:"):
        return None  # shipped in a Python package; its import error is clear enough
    if Path(path).expanduser().exists():
        return None
    if Path(path).is_absolute() or path.startswith((".", "~")) or path.count("/") != 1:
        return (
            f"model.name_or_path={path!r} does not exist; give a local model directory or a hub id (org/name)"
        )
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false"):
        from huggingface_hub import try_to_load_from_cache  # deferred: only hub ids need it

        revision = OmegaConf.select(model_cfg, "revision", default=None)
        if not isinstance(try_to_load_from_cache(path, "config.json", revision=revision), str):
            return (
                f"model={model_cfg.name}: {path} is not in the Hugging Face cache and HF_HUB_OFFLINE=1; "
                f"download it once with internet (huggingface-cli download {path}) or pick model=minilm"
            )
    return None


def folder_problem(key: str, folder: str | Path, min_free: int = MIN_FREE_BYTES) -> str | None:
    """Why ``folder`` (``paths.output_dir`` / ``paths.cache_dir``) cannot take the job's files."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".preflight-"):
            pass
    except OSError as error:
        return f"{key}={path} is not writable ({error.strerror}); set {key}=DIR to a folder you can write"
    free = shutil.disk_usage(path).free
    if free < min_free:
        return (
            f"{key}={path} has {free / 2**20:.0f} MiB free, less than the {min_free / 2**20:.0f} MiB "
            f"the caches need; free some space or set {key}=DIR on a larger disk"
        )
    return None


def job_problem(cfg: DictConfig, dataset: Dataset) -> str | None:
    """The first reason the job of ``cfg`` cannot run, or ``None``."""
    kind = str(OmegaConf.select(cfg, "job.kind", default="eval"))
    if kind in SYNTH_KINDS and not OmegaConf.select(cfg, "train.synth_dir", default=None):
        reason = llm_problem(cfg, dataset)
        if reason:
            return reason
    if kind in ("eureka", "search"):
        reason = eureka_problem(cfg) if kind == "eureka" else search_problem(cfg)
        if reason:
            return reason
    encoders = list(OmegaConf.select(cfg, "eval.encoders", default=[]) or [])
    if kind in SYNTH_KINDS or "base" in encoders or "adapter" in encoders:
        reason = model_problem(cfg.model)
        if reason:
            return reason
    for key in ("paths.output_dir", "paths.cache_dir"):
        reason = folder_problem(key, OmegaConf.select(cfg, key))
        if reason:
            return reason
    return None


def check_job(cfg: DictConfig, dataset: Dataset, kind: str | None = None) -> None:
    """Raise the one-line :class:`ConfigError` of :func:`job_problem` before any model loads.

    Args:
        cfg: the command's config.
        dataset: its loaded dataset.
        kind: check as this job kind (``train_eval`` for ``teamform train``; default ``job.kind``).
    """
    if kind is not None:
        cfg = OmegaConf.merge(cfg, {"job": {"kind": kind}})
    reason = job_problem(cfg, dataset)
    if reason:
        raise ConfigError(reason)


def check_synthesis(cfg: DictConfig, dataset: Dataset) -> None:
    """``teamform synth``: the backend can serve the dataset; the label-pool model loads; folders."""
    base_pool = OmegaConf.select(cfg, "synth.label_pool_encoder", default="tfidf") == "base"
    reason = (
        llm_problem(cfg, dataset)
        or (model_problem(cfg.model) if base_pool else None)
        or folder_problem("paths.cache_dir", cfg.paths.cache_dir)
    )
    if reason:
        raise ConfigError(reason)


@dataclass(frozen=True)
class GridPlan:
    """Which experiments of a grid can run, and why the others cannot."""

    runnable: list[str]
    left_out: dict[str, str]

    @property
    def trains(self) -> bool:
        """Whether an experiment that fine-tunes can run (a grid of baselines only is no study)."""
        return any(e != "baselines" for e in self.runnable)


def plan_grid(config: DictConfig, dataset: Dataset) -> GridPlan:
    """Compose every experiment the sweep will run and check each (inside the running Hydra app).

    Raises:
        ConfigError: when no experiment that fine-tunes can run: one line naming the reason and the
            fix, before any job is launched.
    """
    from hydra import compose  # deferred: only a running multirun plans a grid

    task = list(OmegaConf.select(config, "hydra.overrides.task", default=[]) or [])
    swept = next(
        (o.split("=", 1)[1] for o in task if o.startswith("experiment=")), None
    )  # the command line wins
    swept = swept or str(OmegaConf.select(config, "hydra.sweeper.params.experiment", default="") or "")
    overrides = [o for o in task if not o.startswith("experiment=")]
    config_name = OmegaConf.select(config, "hydra.job.config_name", default="grid")
    runnable, left_out = [], {}
    for experiment in [e.strip() for e in swept.split(",") if e.strip()]:
        try:
            cfg = compose(config_name=config_name, overrides=[*overrides, f"experiment={experiment}"])
        except Exception:  # noqa: BLE001 - an experiment this check cannot compose is left to its job to report
            log.debug("pre-flight: experiment %s does not compose here; its job reports why", experiment)
            runnable.append(experiment)
            continue
        reason = job_problem(cfg, dataset)
        if reason:
            left_out[experiment] = reason
        else:
            runnable.append(experiment)
    plan = GridPlan(runnable, left_out)
    if left_out and not plan.trains:
        first = next(iter(left_out.values()))
        raise ConfigError(
            f"the grid cannot run on data={data_option(cfg)}: no fine-tuning experiment can run "
            f"({len(left_out)} of {len(left_out) + len(runnable)} experiments left out): {first}"
        )
    return plan
