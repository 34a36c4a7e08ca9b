"""Length-bucketed batching: optimal cuts against brute force, and the encoder's split forward."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from models.batching import length_batches


def cost(lengths: np.ndarray, batches: list[np.ndarray], overhead: int) -> int:
    return sum(int(lengths[b].max()) * len(b) + overhead for b in batches)


def brute_force(lengths: np.ndarray, max_tokens: int, overhead: int, max_rows: int | None) -> int:
    """Cheapest cost over every way to cut the length-sorted texts into contiguous batches."""
    width = np.sort(lengths)[::-1]
    n, best = len(width), None
    for mask in itertools.product([0, 1], repeat=n - 1):
        cuts = [0] + [i + 1 for i, m in enumerate(mask) if m] + [n]
        parts = list(zip(cuts[:-1], cuts[1:], strict=True))
        if any(
            b - a > 1 and (width[a] * (b - a) > max_tokens or (max_rows and b - a > max_rows))
            for a, b in parts
        ):
            continue
        total = sum(int(width[a]) * (b - a) + overhead for a, b in parts)
        best = total if best is None else min(best, total)
    return best


def test_hand_computed_split() -> None:
    # one batch: 4 * 50 + 8 = 208; {50, 48} {4, 3}: 2 * 50 + 2 * 4 + 16 = 124 (cheapest)
    assert [b.tolist() for b in length_batches([3, 50, 4, 48], max_tokens=200, overhead=8)] == [
        [1, 3],
        [2, 0],
    ]
    # a large overhead keeps everything in one pass
    assert [b.tolist() for b in length_batches([3, 50, 4, 48], max_tokens=200, overhead=500)] == [
        [1, 3, 2, 0]
    ]
    assert length_batches([], max_tokens=10) == []
    with pytest.raises(ValueError, match="max_tokens"):
        length_batches([1], max_tokens=0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 60), min_size=1, max_size=8),
    st.integers(1, 200),
    st.integers(0, 80),
    st.one_of(st.none(), st.integers(1, 4)),
)
def test_optimal_and_a_permutation(
    lengths: list[int], max_tokens: int, overhead: int, max_rows: int | None
) -> None:
    lengths = np.array(lengths)
    batches = length_batches(lengths, max_tokens, overhead, max_rows)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or (
            lengths[b].max() * len(b) <= max_tokens and (max_rows is None or len(b) <= max_rows)
        )
    firsts = [lengths[b].max() for b in batches]
    assert firsts == sorted(firsts, reverse=True)  # longest batch first
    assert cost(lengths, batches, overhead) == brute_force(lengths, max_tokens, overhead, max_rows)


@pytest.fixture(scope="module")
def minilm(minilm_dir: Path):
    from models.encoder import Encoder

    return Encoder(str(minilm_dir), max_doc_length=64, batch_size=8, device="cpu", batch_overhead_tokens=0)


def test_split_embed_equals_one_padded_forward(minilm) -> None:
    texts = [
        "welder",
        "Coordinates suppliers of oak veneer and audits quality " * 4,
        "QA",
        "kiln operator, night shifts",
    ]
    batch = minilm.tokenize(texts)
    lengths = batch["attention_mask"].sum(1).numpy()
    assert len(length_batches(lengths, int(lengths.max()) * len(texts), overhead=0)) > 1  # it does split
    minilm.model.eval()
    with torch.no_grad():
        whole = minilm._forward(minilm.model, batch)  # one pass padded to the longest text
        split = minilm.embed(batch)
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=0)
    minilm.model.requires_grad_(True)  # loaded frozen; here the base weights stand in for LoRA's
    vectors = minilm.embed(batch)  # and gradients flow through every bucket
    vectors.sum().backward()
    assert minilm.model.embeddings.word_embeddings.weight.grad is not None
    minilm.model.zero_grad(set_to_none=True)


def _padded(lengths: np.ndarray, batches: list[np.ndarray]) -> list[int]:
    return [int(lengths[rows].max()) * len(rows) for rows in batches]


def test_cpu_passes_hold_at_most_1024_padded_tokens(minilm_dir: Path) -> None:
    from models.encoder import Encoder

    lengths = np.array([60] * 40 + [7] * 200)  # 40 x 60 = 2,400 tokens would fit batch_size x max length
    enc = Encoder(str(minilm_dir), max_doc_length=64, batch_size=64, device="cpu")
    batches = enc.plan_batches(lengths.tolist())
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert max(_padded(lengths, batches)) <= 1024 < 64 * 64
    assert max(len(rows) for rows in batches) <= 64


def test_max_batch_tokens_sets_the_cap(minilm_dir: Path) -> None:
    from bench.core.errors import ConfigError
    from models.encoder import Encoder

    lengths = np.array([50, 50, 50, 40, 9, 9, 9, 9, 200])
    enc = Encoder(str(minilm_dir), max_doc_length=256, batch_size=8, device="cpu", max_batch_tokens=100)
    batches = enc.plan_batches(lengths.tolist())
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for rows, padded in zip(batches, _padded(lengths, batches), strict=True):
        assert padded <= 100 or len(rows) == 1  # the 200-token text gets a pass of its own
    wide = Encoder(str(minilm_dir), max_doc_length=256, batch_size=8, device="cpu", max_batch_tokens=4096)
    assert len(wide.plan_batches(lengths.tolist())) < len(batches)  # above the CPU default too
    with pytest.raises(ConfigError, match="model.max_batch_tokens must be a positive integer"):
        Encoder(str(minilm_dir), device="cpu", max_batch_tokens=0)
