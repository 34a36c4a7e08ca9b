"""PEFT LoRA adapters on an embedding model (paper section 4.3: r = alpha = 16, all linear layers).

``LoraSettings`` is what ``train.lora`` builds; :func:`apply_lora` wraps a transformer body in a
``peft.PeftModel`` whose only trainable weights are the adapters. DoRA (``use_dora``, Liu et al.
2024) and rank-stabilised LoRA (``use_rslora``: scale ``alpha / sqrt(r)`` instead of
``alpha / r``) are PEFT options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from torch import nn

from bench.core.errors import ConfigError

# Linear layers that are not part of the sentence embedding (never adapted by "all-linear").
HEAD_MODULES = ("pooler", "lm_head", "score", "classifier")


@dataclass(frozen=True)
class LoraSettings:
    """LoRA hyper-parameters (``train.lora``).

    Attributes:
        r: rank (16 in the paper and in Springer et al. (2025), appendix C).
        alpha: scaling numerator (16).
        dropout: dropout on the adapter input (not given by the papers).
        target_modules: ``"all-linear"`` (every ``nn.Linear`` of the body except heads such as
            BERT's pooler) or a list of module names / suffixes (``[query, value]``).
        use_dora: weight-decomposed LoRA (DoRA).
        use_rslora: rank-stabilised scaling ``alpha / sqrt(r)``.
    """

    r: int = 16
    alpha: int = 16
    dropout: float = 0.05
    target_modules: str | Sequence[str] = "all-linear"
    use_dora: bool = False
    use_rslora: bool = False
    exclude: Sequence[str] = field(default=HEAD_MODULES)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["target_modules"] = (
            self.target_modules if isinstance(self.target_modules, str) else list(self.target_modules)
        )
        out["exclude"] = list(self.exclude)
        return out


def linear_targets(model: nn.Module, exclude: Sequence[str] = HEAD_MODULES) -> tuple[list[str], list[str]]:
    """``(leaf names to adapt, full names to exclude)`` of every ``nn.Linear`` in ``model``.

    Example:
        >>> body = nn.Sequential(nn.Linear(2, 2))
        >>> linear_targets(body)
        (['0'], [])
    """
    leaves: set[str] = set()
    excluded: list[str] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.Linear):
            continue
        if any(part in exclude for part in name.split(".")):
            excluded.append(name)
        else:
            leaves.add(name.rsplit(".", 1)[-1])
    return sorted(leaves), excluded


def apply_lora(model: nn.Module, settings: LoraSettings):  # noqa: ANN201 - peft.PeftModel
    """Wrap ``model`` with fresh LoRA adapters; only the adapter weights stay trainable.

    Args:
        model: a transformers body (``AutoModel``) or any module with ``nn.Linear`` layers.
        settings: the LoRA hyper-parameters.

    Returns:
        A ``peft.PeftModel`` (``save_pretrained`` writes ``adapter_model.safetensors``).
    """
    from peft import LoraConfig, get_peft_model

    if settings.r < 1 or settings.alpha <= 0:
        raise ConfigError(
            f"train.lora: r must be >= 1 and alpha > 0, got r={settings.r}, alpha={settings.alpha}"
        )
    if settings.target_modules == "all-linear":
        targets, excluded = linear_targets(model, settings.exclude)
        if not targets:
            raise ConfigError(
                "train.lora.target_modules=all-linear: the model has no nn.Linear layer to adapt"
            )
    elif isinstance(settings.target_modules, str):
        raise ConfigError(
            "train.lora.target_modules must be 'all-linear' or a list of module names, "
            f"not {settings.target_modules!r}"
        )
    else:
        targets, excluded = list(settings.target_modules), []
    config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=targets,
        exclude_modules=excluded or None,
        use_dora=settings.use_dora,
        use_rslora=settings.use_rslora,
        bias="none",
    )
    return get_peft_model(model, config)


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Recompute activations in the backward pass (less memory, ~30 % more compute)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if not hasattr(base, "gradient_checkpointing_enable"):
        raise ConfigError("train.gradient_checkpointing=true needs a transformers model")
    base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
