"""Length-bucketed batches: split texts into forward passes that waste few padding tokens.

A padded batch costs about ``rows * longest`` token positions (plus the attention's
``rows * longest^2``) however short its other texts are. :func:`length_batches` sorts the texts
by token count, longest first, and cuts the sorted list into contiguous runs that minimise

    sum over batches b of ( |b| * max_{i in b} len_i  +  overhead )

with at most ``max_rows`` texts and ``max_tokens`` padded positions per batch (dynamic
programming over the cut points): runs of similar lengths share a batch, and the long tail gets
small batches of its own instead of padding a full batch to its longest text. ``overhead`` is the
cost of one extra forward pass counted in padded tokens: small on a CPU, where a pass costs little
more than its tokens, large on a GPU, where launching the kernels dominates small batches.
:meth:`models.encoder.Encoder.encode` batches whole text lists this way, and
:meth:`models.encoder.Encoder.embed` re-splits a training batch before its forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Padded-token cost of one more forward pass, by device type. On one CPU core a pass costs little
# beyond its tokens; on a GPU the fixed launch cost of a pass (~3 ms) is worth thousands of tokens.
OVERHEAD_TOKENS = {"cpu": 64, "cuda": 2048}
DEFAULT_OVERHEAD = 256
# The most padded tokens in one inference pass, by device type. On a CPU bigger passes run slower
# once their activations leave the cache: all-MiniLM-L6-v2 at one thread (this repository's CI
# machine, 2026-11-22) ran 5,400-5,900 tokens/s in passes of 512-2,048 tokens and 4,700-5,100 in
# passes of 4,096-8,192; capping the passes of the encoding benchmark at 1,024 took it from 4.61 s
# to 4.44 s with PyTorch's own linear layers. With prepacked ones (models.prepack), which apply the
# GELU while the output is in cache, the cap makes no measurable difference (4.1-4.2 s either way)
# and still bounds the memory of a pass. On a GPU bigger passes only help.
PASS_TOKENS = {"cpu": 1024}


def default_overhead(device_type: str) -> int:
    """The per-pass overhead, in padded tokens, of a device type (``cpu``, ``cuda``...)."""
    return OVERHEAD_TOKENS.get(device_type, DEFAULT_OVERHEAD)


def default_pass_tokens(device_type: str) -> int | None:
    """The most padded tokens per inference pass on a device type (``None``: no cap of its own)."""
    return PASS_TOKENS.get(device_type)


def length_batches(
    lengths: Sequence[int] | np.ndarray, max_tokens: int, overhead: int = 64, max_rows: int | None = None
) -> list[np.ndarray]:
    """Batches of text indices, longest first, each padded to its own longest text.

    Args:
        lengths: ``(n,)`` token counts of the texts (after truncation).
        max_tokens: the most padded token positions in one batch (``rows * longest``); a text
            longer than this gets a batch of its own. The encoder passes ``batch_size * max
            length``, the size of its largest fixed-size batch, so memory never exceeds that.
        overhead: cost of one extra forward pass, in padded tokens (see the module docstring).
        max_rows: the most texts in one batch (``None``: no limit besides ``max_tokens``).

    Returns:
        Index arrays into ``lengths``; together a permutation of ``range(n)``. The first batch
        holds the longest texts (an out-of-memory error shows at once).

    Example:
        >>> [b.tolist() for b in length_batches([3, 50, 4, 48], max_tokens=200, overhead=8)]
        [[1, 3], [2, 0]]
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if max_tokens < 1 or (max_rows is not None and max_rows < 1):
        raise ValueError(f"max_tokens and max_rows must be >= 1, got {max_tokens} and {max_rows}")
    rows_cap = lengths.size if max_rows is None else int(max_rows)
    n = lengths.size
    if n == 0:
        return []
    order = np.argsort(-lengths, kind="stable")  # longest first, ties in input order
    width = np.maximum(lengths[order], 1)  # (n,) non-increasing: a batch starting at i pads to width[i]
    best = np.zeros(n + 1)  # best[j]: cheapest cost of the first j sorted texts
    cut = np.zeros(n + 1, dtype=np.int64)  # cut[j]: where the last batch of that solution starts
    lo = 0
    for j in range(1, n + 1):
        # the batch [i, j) fits when width[i] * (j - i) <= max_tokens and j - i <= max_rows; both
        # fall as i grows and grow with j, so the first feasible start only moves right
        while lo < j - 1 and (width[lo] * (j - lo) > max_tokens or j - lo > rows_cap):
            lo += 1
        starts = np.arange(lo, j)  # candidate first index of the last batch
        cost = best[lo:j] + width[lo:j] * (j - starts) + overhead
        k = int(np.argmin(cost))
        best[j], cut[j] = cost[k], lo + k
    bounds = []
    j = n
    while j > 0:
        bounds.append((int(cut[j]), j))
        j = int(cut[j])
    return [order[a:b] for a, b in reversed(bounds)]
