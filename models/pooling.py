"""Sentence pooling over token states: ``mean | cls | last | ata``, one registry.

Every function takes the last hidden states ``(batch, seq, hidden)`` and the attention mask
``(batch, seq)`` (1 = real token) and returns ``(batch, hidden)``. ``ata`` also needs the last
layer's attention probabilities ``(batch, heads, seq, seq)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from bench.core.errors import unknown_choice


def mean_pool(
    hidden: torch.Tensor, mask: torch.Tensor, attentions: torch.Tensor | None = None
) -> torch.Tensor:
    """Average of the real tokens' states (sentence-transformers' mean pooling)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)


def cls_pool(
    hidden: torch.Tensor, mask: torch.Tensor, attentions: torch.Tensor | None = None
) -> torch.Tensor:
    """The first token's state."""
    return hidden[:, 0]


def last_pool(
    hidden: torch.Tensor, mask: torch.Tensor, attentions: torch.Tensor | None = None
) -> torch.Tensor:
    """The last real token's state, for left- or right-padded batches (decoder embedders)."""
    batch, seq = mask.shape
    if bool(mask[:, -1].all()):  # left padding (or none): the last position is real everywhere
        return hidden[:, -1]
    # right padding: index of the last 1 in each row
    positions = torch.arange(seq, device=mask.device).expand(batch, seq)  # (batch, seq)
    last = (positions * mask.long()).argmax(dim=1)  # (batch,)
    return hidden[torch.arange(batch, device=hidden.device), last]


def ata_weights(attentions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Anchor-token weights of Negative Matters (2025), eq. 3-4.

    ``w_i = sum_h sum_j log(a_ij^h * S + 1)`` over the real keys ``j`` of each real query
    position ``i`` (``S`` = the number of real tokens of the text), then ``w~_i = w_i / sum_j w_j``.

    Args:
        attentions: last-layer attention probabilities ``(batch, heads, seq, seq)`` (query, key).
        mask: ``(batch, seq)``, 1 for real tokens.

    Returns:
        ``(batch, seq)`` weights summing to 1 over the real tokens (0 on padding).
    """
    m = mask.to(attentions.dtype)  # (batch, seq)
    length = m.sum(dim=1).clamp(min=1.0)  # (batch,)  S per text
    scaled = torch.log1p(attentions * length[:, None, None, None])  # (batch, heads, q, k)
    scaled = scaled * m[:, None, None, :]  # only real keys j
    w = scaled.sum(dim=(1, 3)) * m  # (batch, q): sum over heads and keys, real queries only
    return w / w.sum(dim=1, keepdim=True).clamp(min=1e-12)


def ata_pool(
    hidden: torch.Tensor, mask: torch.Tensor, attentions: torch.Tensor | None = None
) -> torch.Tensor:
    """Anchor-token-aware pooling, ``v = sum_i w~_i H[i]`` (Negative Matters (2025), eq. 5)."""
    if attentions is None:
        raise ValueError("ata pooling needs the last layer's attention probabilities")
    w = ata_weights(attentions.to(hidden.dtype), mask)  # (batch, seq)
    return torch.einsum("bs,bsh->bh", w, hidden)  # (batch, hidden)


PoolFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]

# The one mapping of pooling names users type in `model.pooling`.
POOLINGS: dict[str, PoolFn] = {"mean": mean_pool, "cls": cls_pool, "last": last_pool, "ata": ata_pool}


def get_pooling(name: str) -> PoolFn:
    """Look up a pooling function by name; unknown names list the valid ones."""
    if name not in POOLINGS:
        raise unknown_choice("pooling", name, POOLINGS)
    return POOLINGS[name]
