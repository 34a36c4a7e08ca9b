"""What ``train=...`` builds: the settings of one adapter-set training (``conf/train/*.yaml``).

Plain values plus built objects (LoRA settings, optimizer and scheduler partials). :meth:`
TrainSettings.key_parts` is the part of the content key of the trained adapters that comes from
the settings; operational values (where checkpoints go, how often, threads) stay out of it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.core.errors import ConfigError, unknown_choice
from models.dropout import MASKS, resolve_masks
from models.lora import LoraSettings
from models.negatives import check_schedule
from models.pairs import MIXES

ADAPTER_MODES = ("global", "specialised")
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true")


@dataclass(frozen=True)
class NegativeSettings:
    """Multi-granularity hard negatives (``train.negatives``; Negative Matters (2025), sections 2.1, 4.1)."""

    enabled: bool = False
    schedule: str = "curriculum"
    level: int | None = 2

    @property
    def effective_schedule(self) -> str:
        return check_schedule(self.schedule) if self.enabled else "none"


def _describe(value: Any) -> Any:
    """A JSON-able description of a config value (partials become target + keywords)."""
    if isinstance(value, functools.partial):
        target = f"{value.func.__module__}.{value.func.__qualname__}"
        return {"_target_": target, **{k: _describe(v) for k, v in sorted(value.keywords.items())}}
    if isinstance(value, LoraSettings):
        return value.as_dict()
    if isinstance(value, NegativeSettings):
        return {
            "enabled": value.enabled,
            "schedule": value.effective_schedule,
            "level": value.level if value.effective_schedule == "fixed" else None,
        }
    if isinstance(value, (list, tuple)):
        return [_describe(v) for v in value]
    return value


@dataclass
class TrainSettings:
    """Settings of ``teamform train`` (see ``conf/train/default.yaml`` for each key)."""

    optimizer: Callable[..., Any]
    scheduler: Callable[..., Any] | None = None
    lora: LoraSettings = field(default_factory=LoraSettings)
    negatives: NegativeSettings = field(default_factory=NegativeSettings)
    synth_dir: str | None = None
    adapter_mode: str = "global"
    aspects: Sequence[str] | None = None
    drop_aspects: Sequence[str] = ()
    mix: str = "full"
    base_tasks: Sequence[str] = ()
    label_negatives: bool = True
    max_label_negatives: int = 1
    temperature: float = 0.1
    max_query_length: int | None = None
    max_doc_length: int | None = None
    batch_size: int = 24
    accumulate_grad_batches: int = 1
    epochs: int = 1
    max_steps: int = -1
    precision: str = "auto"
    dropout_masks: str = "torch"
    gradient_checkpointing: bool = False
    dev_fraction: float = 0.1
    dev_metrics: Sequence[str] = ("ndcg@5", "ap")
    checkpoint_every_n_steps: int = 50
    accelerator: str = "auto"
    devices: Any = "auto"
    strategy: str = "auto"
    num_threads: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.adapter_mode not in ADAPTER_MODES:
            raise unknown_choice("train.adapter_mode", self.adapter_mode, ADAPTER_MODES)
        if self.mix not in MIXES:
            raise unknown_choice("train.mix", self.mix, MIXES)
        if self.precision not in PRECISIONS:
            raise unknown_choice("train.precision", self.precision, PRECISIONS)
        if self.dropout_masks not in MASKS:
            raise unknown_choice("train.dropout_masks", self.dropout_masks, MASKS)
        if isinstance(self.negatives, dict):
            self.negatives = NegativeSettings(**self.negatives)
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        self.negatives.effective_schedule  # noqa: B018 - validates the schedule name
        for key in ("max_query_length", "max_doc_length"):
            if getattr(self, key) is not None and int(getattr(self, key)) < 1:
                raise ConfigError(f"train.{key} must be >= 1 or null (the model's), got {getattr(self, key)}")
        for key in ("batch_size", "accumulate_grad_batches", "checkpoint_every_n_steps"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        if self.epochs < 1 and self.max_steps <= 0:
            raise ConfigError("set train.epochs >= 1 or train.max_steps > 0")
        self.drop_aspects = tuple(self.drop_aspects or ())
        self.base_tasks = tuple(sorted(self.base_tasks or ()))
        if self.mix == "none" and not self.base_tasks:
            raise ConfigError(
                "train.mix=none trains on train.base_tasks only, and it is empty; pick another mix"
            )
        self.aspects = None if self.aspects is None else tuple(self.aspects)

    def resolved_precision(self, cuda: bool) -> str:
        """``auto``: bf16 mixed precision on a GPU, full fp32 on the CPU."""
        if self.precision == "auto":
            return "bf16-mixed" if cuda else "32-true"
        return self.precision

    def resolved_dropout_masks(self, cuda: bool) -> str:
        """``auto``: :class:`models.dropout.FastDropout` on the CPU, PyTorch's dropout on a GPU."""
        return resolve_masks(self.dropout_masks, "cuda" if cuda else "cpu")

    def key_parts(self) -> dict[str, Any]:
        """The settings that change the trained weights (for the adapters' content key)."""
        keys = (
            "adapter_mode",
            "aspects",
            "drop_aspects",
            "mix",
            "label_negatives",
            "max_label_negatives",
            "temperature",
            "batch_size",
            "accumulate_grad_batches",
            "epochs",
            "max_steps",
            "dev_fraction",
            "seed",
            "lora",
            "negatives",
            "optimizer",
            "scheduler",
        )
        parts = {k: _describe(getattr(self, k)) for k in keys}
        if not self.label_negatives:
            parts["max_label_negatives"] = 0
        for key in ("max_query_length", "max_doc_length"):  # only when set: older adapter keys stay valid
            if getattr(self, key) is not None:
                parts[key] = int(getattr(self, key))
        if self.base_tasks:  # only when set, likewise
            parts["base_tasks"] = list(self.base_tasks)
        return parts

    def apply_lengths(self, encoder: Any) -> None:
        """Cut training texts at ``max_query_length`` / ``max_doc_length`` (``None``: the model's)."""
        for kind, value in (("query", self.max_query_length), ("document", self.max_doc_length)):
            if value is not None:
                encoder.max_length[kind] = int(value)
