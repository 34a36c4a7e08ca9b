"""Build the scorers that ``eval.encoders`` names: lexical baselines, OpenAI, the base model, adapters.

The names users type live in :data:`SCORERS` (plus ``base`` and ``adapter``); each builder
returns a scorer for :func:`bench.run.systems.score_systems`, or a one-line reason to skip it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig

from bench.core.errors import unknown_choice
from bench.run.adapters import GLOBAL, AdapterSet
from models.embedding_cache import CachedEncoder
from models.encoder import Encoder
from models.lexical import get_lexical
from models.openai_embed import OpenAIEmbedder, openai_skip_reason

log = logging.getLogger(__name__)


@dataclass
class ScorerSpec:
    """A scorer to evaluate: one scorer for every aspect, or (specialised adapters) one per aspect.

    Attributes:
        name: the encoder part of system names (``bm25``, ``minilm``, ``minilm+lora-global-full``).
        scorer: the scorer of every view, or ``None`` when ``per_aspect`` is used.
        per_aspect: ``aspect -> scorer`` for specialised adapter sets (no concat view).
    """

    name: str
    scorer: Any = None
    per_aspect: dict[str, Any] = field(default_factory=dict)


def _lexical(name: str) -> Callable[[Path], Any]:
    def build(cache_dir: Path) -> Any:  # lexical scores are cheap: nothing to cache
        scorer = get_lexical(name)
        scorer.name = name
        return scorer

    return build


def _openai(name: str) -> Callable[..., Any]:
    def build(
        cache_dir: Path, **options: Any
    ) -> Any:  # cached batch by batch: a rerun pays only what is missing
        return OpenAIEmbedder(name, cache_dir=cache_dir, **options)

    return build


# Baseline scorers that need no model config (built with the embedding cache's directory);
# `base` and `adapter` come from `model=` and training.
SCORERS: dict[str, Callable[[Path], Any]] = {
    "bm25": _lexical("bm25"),
    "tfidf": _lexical("tfidf"),
    "openai-small": _openai("openai-small"),
    "openai-large": _openai("openai-large"),
}
ALL_NAMES = (*SCORERS, "base", "adapter")


def adapter_tag(settings: Any) -> str:
    """``lora-{mode}-{mix}[-neg-{schedule}][-no-{aspect}...]``: the adapter part of system names."""
    return tag_of_parts(settings.key_parts())


def tag_of_parts(parts: dict[str, Any]) -> str:
    """:func:`adapter_tag` from the settings recorded in an adapter set's ``metadata.json`` (``train``)."""
    tag = f"lora-{parts['adapter_mode']}-{parts['mix']}"
    negatives = parts.get("negatives") or {}
    if negatives.get("enabled"):
        tag += f"-neg-{negatives['schedule']}"
        if negatives["schedule"] == "fixed":
            tag += str(negatives["level"])
    for aspect in sorted(parts.get("drop_aspects") or ()):
        tag += f"-no-{aspect}"
    return tag


def make_encoder(model_cfg: DictConfig, adapter: Path | None = None, name: str | None = None) -> Encoder:
    """The one encoder factory: the ``model=`` preset, optionally with a PEFT adapter and a system name."""
    overrides: dict[str, Any] = {}
    if adapter is not None:
        overrides["adapter"] = str(adapter)
    if name is not None:
        overrides["name"] = name
    return instantiate(model_cfg, _convert_="all", **overrides)


def build_model(
    model_cfg: DictConfig, cache_dir: str | Path, adapter: Path | None = None, name: str | None = None
) -> CachedEncoder:
    """The configured encoder (optionally with a PEFT adapter), behind the embedding cache."""
    return CachedEncoder(make_encoder(model_cfg, adapter, name), Path(cache_dir) / "embeddings")


def build_scorers(
    names: list[str],
    model_cfg: DictConfig,
    cache_dir: str | Path,
    adapters: AdapterSet | None = None,
    tag: str = "",
    openai: dict[str, Any] | None = None,
) -> tuple[list[ScorerSpec], list[dict[str, str]]]:
    """Scorers for ``eval.encoders``, and the ones skipped with their reason.

    Args:
        names: ``eval.encoders`` (see :data:`ALL_NAMES`).
        model_cfg: the ``model=`` preset.
        cache_dir: ``paths.cache_dir`` (embeddings are cached under it).
        adapters: the trained set for ``adapter``; ``None`` skips ``adapter`` with a reason.
        tag: the adapter part of the system name (:func:`adapter_tag`).
        openai: options of the OpenAI embedding client (``eval.openai``: retries, backoff, timeout).
    """
    specs, skipped = [], []
    for name in names:
        if name not in ALL_NAMES:
            raise unknown_choice("encoder (eval.encoders)", name, ALL_NAMES)
        if name.startswith("openai"):
            reason = openai_skip_reason()
            if reason:
                skipped.append({"system": f"{name}/*", "reason": reason})
                log.info("skipping %s: %s", name, reason)
                continue
        if name.startswith("openai"):
            specs.append(ScorerSpec(name, SCORERS[name](Path(cache_dir) / "embeddings", **(openai or {}))))
        elif name in SCORERS:
            specs.append(ScorerSpec(name, SCORERS[name](Path(cache_dir) / "embeddings")))
        elif name == "base":
            specs.append(ScorerSpec(model_cfg.name, build_model(model_cfg, cache_dir)))
        elif adapters is None:
            skipped.append({"system": "adapter/*", "reason": "no adapter set was trained for this job"})
        else:
            full = f"{model_cfg.name}+{tag}"
            if adapters.mode == GLOBAL:
                specs.append(
                    ScorerSpec(full, build_model(model_cfg, cache_dir, adapters.adapters[GLOBAL], full))
                )
            else:
                per = {
                    a: build_model(model_cfg, cache_dir, path, f"{full}-{a}")
                    for a, path in adapters.adapters.items()
                }
                specs.append(ScorerSpec(full, per_aspect=per))
    return specs, skipped
