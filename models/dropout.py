"""Dropout with cheaper masks on a CPU: four mask elements from one 64-bit draw.

On a CPU, PyTorch draws each element of a dropout mask from its Mersenne Twister separately
(``bernoulli_``), then divides and multiplies: on a 2,976 x 1,536 activation that takes several
times as long as the matrix product that made it, and in LoRA training of a small encoder the
masks are a large share of a training step (docs/performance.md). :class:`FastDropout` keeps
dropout's definition (each element zeroed independently with probability ``p``, the rest scaled
by ``1 / (1 - p)``) but draws its mask four elements per 64-bit word: NumPy's PCG64-DXSM, keyed
by one draw of PyTorch's default generator (so ``torch.manual_seed``, ``L.seed_everything`` and
the generator state that checkpoints save govern it), fills the words, each word is cut into four
16-bit lanes, and an element is dropped when its lane, read as a number from 0 to 65,535, is below
``round(p * 65536)``. So ``p`` is applied to 1/65,536 (0.1 becomes 0.100006; the scale uses that
same value, so the expectation is exact). The mask is applied as one factor tensor (0 or the
scale), so the backward pass is one product, as ``nn.Dropout``'s is.

The masks differ from ``nn.Dropout``'s: the trained weights change as they would with another
seed, which is why this is a training setting (``train.dropout_masks``) and part of an adapter's
cache key. :func:`use_fast_dropout` swaps it in for every ``nn.Dropout`` module of a model
(LoRA's dropout on each adapted layer's input, the body's hidden-state dropouts); attention
dropout that a model applies inside ``scaled_dot_product_attention`` (``dropout_p``) is not a
module and keeps PyTorch's masks. On a GPU PyTorch's dropout already draws its masks in
parallel, and these are drawn on the CPU: :func:`resolve_masks` refuses ``fast`` there.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from bench.core.errors import ConfigError

MASKS = ("torch", "fast", "auto")
_LANES = 4  # 16-bit lanes per 64-bit draw
_LEVELS = 1 << 16


def quantised(p: float) -> float:
    """The drop probability :class:`FastDropout` applies for ``p`` (a multiple of 1/65536)."""
    return round(float(p) * _LEVELS) / _LEVELS


def _lanes(shape: Sequence[int]) -> torch.Tensor:
    """``(*shape,)`` int16 uniform on [-32768, 32767]: 16-bit lanes of 64-bit PCG64-DXSM draws.

    The generator is keyed by one draw of PyTorch's default CPU generator, so the lanes follow
    ``torch.manual_seed`` and the generator state that checkpoints save and restore.
    """
    n = 1
    for size in shape:
        n *= int(size)
    key = int(torch.randint(0, 2**63 - 1, (1,)))
    words = np.random.PCG64DXSM(key).random_raw(-(-n // _LANES))  # (ceil(n / 4),) uint64
    return torch.from_numpy(words.view(np.int16)[:n]).view(tuple(shape))


def _threshold(p: float) -> int:
    return round(float(p) * _LEVELS) - _LEVELS // 2


def drop_mask(shape: Sequence[int], p: float) -> torch.Tensor:
    """A boolean CPU mask of ``shape``, each element ``True`` (dropped) with probability ``quantised(p)``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> m = drop_mask((1000, 1000), 0.1)
        >>> round(m.float().mean().item(), 3)
        0.1
    """
    return _lanes(shape) < _threshold(p)


class FastDropout(nn.Dropout):
    """``nn.Dropout`` whose mask comes from :func:`drop_mask` (same ``p``, same state dict).

    Only for CPU tensors (:func:`resolve_masks` keeps it off a GPU).

    Example:
        >>> d = FastDropout(0.5).train()
        >>> x = torch.ones(4, 8)
        >>> set(d(x).flatten().tolist()) <= {0.0, 2.0}
        True
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - nn.Dropout's name
        if not self.training or self.p == 0.0:
            return input
        drop = quantised(self.p)
        if drop >= 1.0:
            return input * 0.0
        zero = torch.zeros((), dtype=input.dtype)
        scale = torch.full((), 1.0 / (1.0 - drop), dtype=input.dtype)
        # one multiplier tensor (0 or the scale): the backward pass is one product, as nn.Dropout's
        factor = torch.where(drop_mask(input.shape, self.p), zero, scale)
        return input.mul_(factor) if self.inplace else input * factor


def use_fast_dropout(model: nn.Module) -> int:
    """Make every ``nn.Dropout`` of ``model`` a :class:`FastDropout` in place; returns how many.

    The modules keep their names, ``p`` and ``inplace`` (a class swap: nothing is re-created, the
    state dict is unchanged); subclasses of ``nn.Dropout`` with their own forward are left alone.
    """
    swapped = 0
    for module in model.modules():
        if type(module) is nn.Dropout:
            module.__class__ = FastDropout
            swapped += 1
    return swapped


def resolve_masks(masks: str, device_type: str) -> str:
    """``train.dropout_masks`` as used: ``auto`` is ``fast`` on a CPU and ``torch`` elsewhere."""
    if masks not in MASKS:
        raise ConfigError(f"train.dropout_masks must be one of {', '.join(MASKS)}, not {masks!r}")
    if masks == "auto":
        return "fast" if device_type == "cpu" else "torch"
    if masks == "fast" and device_type != "cpu":
        raise ConfigError("train.dropout_masks=fast draws its masks on the CPU; on a GPU use torch (or auto)")
    return masks
