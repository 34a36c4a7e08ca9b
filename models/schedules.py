"""Learning-rate schedules (``train.scheduler``, built with ``_partial_: true``).

Springer et al. (2025), appendix C: AdamW, lr 4e-4, linear warm-up over the first 100
steps, weight decay 0.1. The decay after warm-up is not stated there; ``decay=linear`` (to 0 at
the last step) is the usual choice, ``decay=constant`` keeps the peak.
"""

from __future__ import annotations

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from bench.core.errors import ConfigError

DECAYS = ("linear", "constant")


def warmup_factor(step: int, num_training_steps: int, warmup_steps: int, decay: str = "linear") -> float:
    """Multiplier of the peak learning rate at optimizer ``step`` (0-based).

    ``(step + 1) / warmup_steps`` during warm-up, then ``1`` (constant) or a linear fall to 0 at
    ``num_training_steps``.

    Example:
        >>> [round(warmup_factor(s, 6, 2), 2) for s in range(6)]
        [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if decay == "constant":
        return 1.0
    remaining = max(1, num_training_steps - warmup_steps)
    return max(0.0, 1.0 - (step - warmup_steps) / remaining)


def linear_warmup(
    optimizer: Optimizer,
    num_training_steps: int,
    warmup_steps: int | None = 100,
    warmup_ratio: float | None = None,
    decay: str = "linear",
) -> LambdaLR:
    """Linear warm-up, then linear decay or a constant rate, stepped once per optimizer step.

    Args:
        optimizer: the optimizer.
        num_training_steps: optimizer steps of the run (the module passes it).
        warmup_steps: warm-up length in steps (100 in Springer et al. (2025), appendix C), at most the run.
        warmup_ratio: warm-up length as a share of the run (overrides ``warmup_steps``; for
            short runs, where 100 steps would be most of the training).
        decay: ``linear | constant`` after warm-up.

    Returns:
        A ``LambdaLR`` to step every optimizer step (``interval: step``).
    """
    if decay not in DECAYS:
        raise ConfigError(f"train.scheduler.decay must be one of {DECAYS}, not {decay!r}")
    if warmup_ratio is not None:
        warm = round(warmup_ratio * num_training_steps)
    else:
        warm = int(warmup_steps or 0)
    warm = max(0, min(warm, num_training_steps))
    return LambdaLR(optimizer, lambda step: warmup_factor(step, num_training_steps, warm, decay))
