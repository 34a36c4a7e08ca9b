"""InfoNCE with cosine similarity, in-batch negatives and optional explicit negatives.

Drummond and Veloso (2024), eq. 3 (section 4.3)::

    L = -log  exp(cos(q, d+) / tau) / ( exp(cos(q, d+) / tau) + sum_{n in N} exp(cos(q, n) / tau) )

with ``tau = 0.1``. The negatives ``N`` of a query are the positives of the other queries of the
batch (in-batch negatives) plus every explicit negative of the batch (label-0 employees, synthetic
hard negatives), as in sentence-transformers' ``MultipleNegativesRankingLoss``. Under DDP the
documents of every process are gathered, so each query sees the global batch; gradients flow
into the local part (:func:`gather_with_grad`).

Candidates that are in fact positives of a query are masked out of its negatives when keys are
given: another positive of the same task, or the same document as the query's own positive.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


class _GatherWithGrad(torch.autograd.Function):
    """``all_gather`` whose backward sums the gradients of every process into the local rows."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, sizes: list[int]) -> torch.Tensor:  # noqa: ANN001
        rank = dist.get_rank()
        width = max(sizes)
        padded = x.new_zeros((width, *x.shape[1:]))  # (max_rows, ...)
        padded[: x.shape[0]] = x
        parts = [torch.empty_like(padded) for _ in sizes]
        dist.all_gather(parts, padded.contiguous())
        ctx.sizes, ctx.rank = sizes, rank
        return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])  # (sum(sizes), ...)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)  # d(sum of every process's loss)/d(all rows)
        start = sum(ctx.sizes[: ctx.rank])
        return grad[start : start + ctx.sizes[ctx.rank]], None


def distributed_active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Concatenate ``x`` over every process (sizes may differ); gradients reach the local rows.

    Args:
        x: ``(rows, ...)`` on this process.

    Returns:
        ``(all_rows, offset)``: the rows of every process in rank order, and where this process's
        rows start. Without an initialised process group: ``(x, 0)``.
    """
    if not distributed_active():
        return x, 0
    size = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(size) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, size)
    counts = [int(s.item()) for s in sizes]
    if max(counts) == 0:  # nothing anywhere (no explicit negatives in this step)
        return x, 0
    return _GatherWithGrad.apply(x, counts), sum(counts[: dist.get_rank()])


def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """:func:`gather_with_grad` for tensors that need no gradient (keys)."""
    return gather_with_grad(x.detach())[0] if distributed_active() else x


def false_negative_mask(
    q_keys: torch.Tensor,
    pos_keys: torch.Tensor,
    all_q_keys: torch.Tensor,
    all_pos_keys: torch.Tensor,
    all_neg_keys: torch.Tensor,
    offset: int,
) -> torch.Tensor:
    """``True`` where a candidate is a positive of the query other than its own.

    Args:
        q_keys: ``(b,)`` task key of each local query.
        pos_keys: ``(b,)`` document key of each local positive.
        all_q_keys: ``(B,)`` task keys of every process's queries (aligned with the positives).
        all_pos_keys: ``(B,)`` document keys of every process's positives.
        all_neg_keys: ``(M,)`` document keys of every process's explicit negatives.
        offset: index of this process's first positive in the gathered positives.

    Returns:
        ``(b, B + M)`` boolean mask over the candidate columns ``[positives; negatives]``.
    """
    same_task = q_keys[:, None] == all_q_keys[None, :]  # (b, B)
    same_doc = pos_keys[:, None] == all_pos_keys[None, :]  # (b, B)
    on_positives = same_task | same_doc
    own = torch.arange(q_keys.shape[0], device=q_keys.device) + offset  # (b,)
    on_positives[torch.arange(q_keys.shape[0], device=q_keys.device), own] = False
    on_negatives = pos_keys[:, None] == all_neg_keys[None, :]  # (b, M)
    return torch.cat([on_positives, on_negatives], dim=1)  # (b, B + M)


class InfoNCELoss(nn.Module):
    """InfoNCE over cosine similarities (paper eq. 3), in-batch plus explicit negatives.

    Args:
        encoder: an object with ``embed(batch_encoding) -> (batch, dim)`` (``models.encoder.Encoder``);
            only :meth:`forward` needs it.
        temperature: ``tau`` of eq. 3 (0.1 in the paper).

    Example:
        >>> loss = InfoNCELoss(temperature=0.1)
        >>> q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> round(loss.compute_loss_from_embeddings(q, q).item(), 4)  # -log(e^10 / (e^10 + e^0))
        0.0
    """

    def __init__(self, encoder: object | None = None, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"train.temperature must be > 0, got {temperature}")
        self.encoder = encoder
        self.temperature = temperature

    def forward(
        self, queries: dict, positives: dict, negatives: dict | None = None, keys: dict | None = None
    ) -> torch.Tensor:
        """Embed the tokenised texts with the encoder, then :meth:`compute_loss_from_embeddings`.

        Args:
            queries, positives, negatives: tokenised batches (``BatchEncoding``); ``negatives``
                may be ``None`` or hold zero rows.
            keys: optional ``{"query", "positive", "negative"}`` integer key tensors for masking.
        """
        if self.encoder is None:
            raise ValueError(
                "InfoNCELoss.forward needs an encoder; pass encoder= or call compute_loss_from_embeddings"
            )
        q = self.encoder.embed(queries)
        d_pos = self.encoder.embed(positives)
        d_neg = None
        if negatives is not None and negatives["input_ids"].shape[0] > 0:
            d_neg = self.encoder.embed(negatives)
        keys = keys or {}
        return self.compute_loss_from_embeddings(
            q, d_pos, d_neg, keys.get("query"), keys.get("positive"), keys.get("negative")
        )

    def compute_loss_from_embeddings(
        self,
        q: torch.Tensor,
        d_pos: torch.Tensor,
        d_neg: torch.Tensor | None = None,
        q_keys: torch.Tensor | None = None,
        pos_keys: torch.Tensor | None = None,
        neg_keys: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean InfoNCE of the local queries against the (gathered) candidate documents.

        Args:
            q: ``(b, dim)`` query embeddings (need not be normalised).
            d_pos: ``(b, dim)`` the positive document of each query.
            d_neg: ``(m, dim)`` explicit negatives, shared by every query of the batch, or ``None``.
            q_keys, pos_keys, neg_keys: optional integer keys ``(b,)``, ``(b,)``, ``(m,)``: task of
                each query, document of each positive / negative; when given, candidates that are
                positives of a query (same task or same document) are dropped from its negatives.

        Returns:
            Scalar loss: the mean over local queries of eq. 3. Under DDP the mean over processes
            of this value (what DDP's gradient averaging optimises) is the loss of the global batch.
        """
        if d_neg is None:
            d_neg = d_pos.new_zeros((0, d_pos.shape[1]))
        q = F.normalize(q, dim=-1)
        all_pos, offset = gather_with_grad(F.normalize(d_pos, dim=-1))  # (B, dim)
        all_neg, _ = gather_with_grad(F.normalize(d_neg, dim=-1))  # (M, dim)
        candidates = torch.cat([all_pos, all_neg])  # (B + M, dim)
        scores = q @ candidates.T / self.temperature  # (b, B + M)
        if q_keys is not None and pos_keys is not None:
            if neg_keys is None:
                neg_keys = q_keys.new_zeros((0,))
            if neg_keys.shape[0] != d_neg.shape[0]:
                raise ValueError(f"neg_keys has {neg_keys.shape[0]} rows but d_neg has {d_neg.shape[0]}")
            mask = false_negative_mask(
                q_keys,
                pos_keys,
                gather_no_grad(q_keys),
                gather_no_grad(pos_keys),
                gather_no_grad(neg_keys),
                offset,
            )
            scores = scores.masked_fill(mask, float("-inf"))
        labels = torch.arange(q.shape[0], device=q.device) + offset  # (b,)
        return F.cross_entropy(scores, labels)
