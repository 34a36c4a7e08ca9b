"""InfoNCE (paper eq. 3): hand-computed values, a loop reference, masking, and the encoder path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.losses import InfoNCELoss, false_negative_mask


def reference_infonce(q, d_pos, d_neg, tau, masked=None):
    """Eq. 3 written as a loop over queries: -log e^{s+/tau} / (e^{s+/tau} + sum_n e^{s_n/tau})."""

    def cos(a, b):
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))

    candidates = list(d_pos) + list(d_neg)
    total = 0.0
    for i, qi in enumerate(q):
        positive = math.exp(cos(qi, d_pos[i]) / tau)
        negatives = sum(
            math.exp(cos(qi, c) / tau)
            for j, c in enumerate(candidates)
            if j != i and not (masked is not None and masked[i][j])
        )
        total += -math.log(positive / (positive + negatives))
    return total / len(q)


def test_hand_computed_two_queries() -> None:
    # Orthogonal unit vectors: cos(q_i, d_i) = 1, cos(q_i, d_j) = 0 -> -log(e^10 / (e^10 + 1)).
    q = torch.eye(2, dtype=torch.float64)
    expected = -math.log(math.exp(10) / (math.exp(10) + math.exp(0)))
    assert InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(q, q).item() == pytest.approx(
        expected, rel=1e-6
    )
    # temperature 1: -log(e / (e + 1))
    expected_t1 = -math.log(math.e / (math.e + 1))
    assert InfoNCELoss(temperature=1.0).compute_loss_from_embeddings(q, q).item() == pytest.approx(
        expected_t1, rel=1e-6
    )


def test_explicit_negative_hand_computed() -> None:
    # One query, positive at cos 1, an explicit negative at cos 0.6 (3-4-5 triangle), tau 0.5.
    q = torch.tensor([[1.0, 0.0]])
    d_pos = torch.tensor([[2.0, 0.0]])  # not unit: cosine must normalise
    d_neg = torch.tensor([[3.0, 4.0]])
    expected = -math.log(math.exp(1 / 0.5) / (math.exp(1 / 0.5) + math.exp(0.6 / 0.5)))
    loss = InfoNCELoss(temperature=0.5).compute_loss_from_embeddings(q, d_pos, d_neg)
    assert loss.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("tau", [0.05, 0.1, 1.0])
@pytest.mark.parametrize("n_neg", [0, 1, 5])
def test_matches_loop_reference_on_random_inputs(tau: float, n_neg: int) -> None:
    rng = np.random.default_rng(int(tau * 100) + n_neg)
    q, d_pos, d_neg = rng.normal(size=(6, 8)), rng.normal(size=(6, 8)), rng.normal(size=(n_neg, 8))
    loss = InfoNCELoss(temperature=tau).compute_loss_from_embeddings(
        torch.tensor(q), torch.tensor(d_pos), torch.tensor(d_neg) if n_neg else None
    )
    assert loss.item() == pytest.approx(reference_infonce(q, d_pos, d_neg, tau), rel=1e-9)


def test_temperature_changes_the_loss() -> None:
    rng = np.random.default_rng(0)
    q, d = torch.tensor(rng.normal(size=(4, 3))), torch.tensor(rng.normal(size=(4, 3)))
    assert InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(q, d).item() != pytest.approx(
        InfoNCELoss(temperature=1.0).compute_loss_from_embeddings(q, d).item()
    )


def test_false_negatives_are_masked() -> None:
    rng = np.random.default_rng(1)
    q, d_pos, d_neg = rng.normal(size=(4, 5)), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    tasks = torch.tensor([0, 0, 1, 2])  # queries 0 and 1 are the same task
    docs = torch.tensor([10, 11, 12, 10])  # query 3's positive is query 0's document
    negs = torch.tensor([12, 20, 21])  # negative 0 is query 2's own positive
    mask = false_negative_mask(tasks, docs, tasks, docs, negs, 0).numpy()
    expected = np.zeros((4, 7), dtype=bool)
    expected[0, 1] = expected[1, 0] = True  # same task
    expected[0, 3] = expected[3, 0] = True  # same document
    expected[2, 4] = True  # a negative equal to the query's positive document
    np.testing.assert_array_equal(mask, expected)
    loss = InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(
        torch.tensor(q), torch.tensor(d_pos), torch.tensor(d_neg), tasks, docs, negs
    )
    assert loss.item() == pytest.approx(reference_infonce(q, d_pos, d_neg, 0.1, expected), rel=1e-9)
    unmasked = InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(
        torch.tensor(q), torch.tensor(d_pos), torch.tensor(d_neg)
    )
    assert unmasked.item() > loss.item()  # masking removes terms from the denominators


def test_gradient_matches_finite_differences() -> None:
    torch.manual_seed(0)
    q = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    d = torch.randn(3, 4, dtype=torch.float64)
    n = torch.randn(2, 4, dtype=torch.float64)
    loss_fn = InfoNCELoss(temperature=0.1)
    assert torch.autograd.gradcheck(lambda x: loss_fn.compute_loss_from_embeddings(x, d, n), (q,))


class _LookupEncoder:
    """Test double: embeds a batch by looking up one vector per first token id."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table

    def embed(self, batch: dict) -> torch.Tensor:
        return self.table[batch["input_ids"][:, 0]]


def test_forward_embeds_then_computes() -> None:
    table = torch.randn(10, 4, generator=torch.Generator().manual_seed(3))
    loss_fn = InfoNCELoss(_LookupEncoder(table), temperature=0.1)

    def batch(ids):
        return {"input_ids": torch.tensor([[i] for i in ids]).reshape(len(ids), 1)}

    got = loss_fn(batch([0, 1]), batch([2, 3]), batch([4]))
    expected = loss_fn.compute_loss_from_embeddings(table[[0, 1]], table[[2, 3]], table[[4]])
    assert got.item() == pytest.approx(expected.item())
    empty = {"input_ids": torch.zeros((0, 1), dtype=torch.long)}
    assert loss_fn(batch([0, 1]), batch([2, 3]), empty).item() == pytest.approx(
        loss_fn.compute_loss_from_embeddings(table[[0, 1]], table[[2, 3]]).item()
    )


def test_bad_temperature_is_refused() -> None:
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0.0)
