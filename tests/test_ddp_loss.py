"""DDP on CPU (2 processes, gloo): InfoNCE with gathered documents equals the single-process loss.

Each process holds half of a global batch; the documents of both are gathered so every query
sees the global batch. The mean of the two processes' losses (what DDP's gradient averaging
optimises) must equal the one-process loss on the whole batch, and so must the gradients: of
the embeddings (through the gather's backward) and of a tiny model's weights (through DDP).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from models.losses import InfoNCELoss

pytestmark = pytest.mark.slow  # two processes start and import torch: ~20 s on a loaded 2-core CPU

WORLD = 2
B, DIM, IN = 3, 4, 6  # queries per process, embedding size, tiny model input size


def global_batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "q": torch.randn(WORLD * B, DIM, generator=g, dtype=torch.float64),
        "d": torch.randn(WORLD * B, DIM, generator=g, dtype=torch.float64),
        "n": torch.randn(4, DIM, generator=g, dtype=torch.float64),  # 3 negatives on rank 0, 1 on rank 1
        "xq": torch.randn(WORLD * B, IN, generator=g, dtype=torch.float64),
        "xd": torch.randn(WORLD * B, IN, generator=g, dtype=torch.float64),
        "task": torch.tensor([0, 1, 2, 0, 3, 4]),  # query 3 repeats query 0's task (across processes)
        "doc": torch.tensor([10, 11, 12, 13, 14, 11]),  # query 5's positive is query 1's document
        "neg_doc": torch.tensor([20, 21, 14, 22]),  # negative 2 is query 4's positive
    }


NEG_SLICES = [slice(0, 3), slice(3, 4)]


def tiny_model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Linear(IN, DIM).double()


def _worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        data = global_batch()
        rows, negs = slice(rank * B, (rank + 1) * B), NEG_SLICES[rank]
        loss_fn = InfoNCELoss(temperature=0.1)
        # 1) pure embeddings, with false-negative masking keys
        q = data["q"][rows].clone().requires_grad_(True)
        d = data["d"][rows].clone().requires_grad_(True)
        n = data["n"][negs].clone().requires_grad_(True)
        loss = loss_fn.compute_loss_from_embeddings(
            q, d, n, data["task"][rows], data["doc"][rows], data["neg_doc"][negs]
        )
        loss.backward()
        # 2) a tiny DDP model embedding queries and documents
        model = nn.parallel.DistributedDataParallel(tiny_model())
        model_loss = loss_fn.compute_loss_from_embeddings(model(data["xq"][rows]), model(data["xd"][rows]))
        model_loss.backward()
        torch.save(
            {
                "loss": loss.detach(),
                "q": q.grad,
                "d": d.grad,
                "n": n.grad,
                "model_loss": model_loss.detach(),
                "weight": model.module.weight.grad,
                "bias": model.module.bias.grad,
            },
            Path(out_dir) / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, torch.Tensor]]:
    out = tmp_path_factory.mktemp("ddp")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD, join=True)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


def test_loss_with_gathered_negatives_equals_single_process(ranks: list[dict[str, torch.Tensor]]) -> None:
    data = global_batch()
    q, d, n = (data[k].clone().requires_grad_(True) for k in ("q", "d", "n"))
    single = InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(
        q, d, n, data["task"], data["doc"], data["neg_doc"]
    )
    single.backward()
    mean_of_ranks = sum(r["loss"] for r in ranks) / WORLD
    assert mean_of_ranks.item() == pytest.approx(single.item(), rel=1e-12)
    # Gradients: DDP averages over processes, so each process's gradient / WORLD is the global one.
    torch.testing.assert_close(torch.cat([r["q"] for r in ranks]) / WORLD, q.grad)
    torch.testing.assert_close(torch.cat([r["d"] for r in ranks]) / WORLD, d.grad)
    torch.testing.assert_close(torch.cat([r["n"] for r in ranks]) / WORLD, n.grad)


def test_without_gathering_the_loss_would_differ(ranks: list[dict[str, torch.Tensor]]) -> None:
    """Guard: the per-process (local-only) loss is different, so the test above can fail."""
    data = global_batch()
    loss_fn = InfoNCELoss(temperature=0.1)
    local = (
        sum(
            loss_fn.compute_loss_from_embeddings(
                data["q"][r * B : (r + 1) * B],
                data["d"][r * B : (r + 1) * B],
                data["n"][NEG_SLICES[r]],
                data["task"][r * B : (r + 1) * B],
                data["doc"][r * B : (r + 1) * B],
                data["neg_doc"][NEG_SLICES[r]],
            )
            for r in range(WORLD)
        )
        / WORLD
    )
    assert abs(local.item() - sum(r["loss"] for r in ranks).item() / WORLD) > 1e-3


def test_tiny_ddp_model_gradients_equal_single_process(ranks: list[dict[str, torch.Tensor]]) -> None:
    data = global_batch()
    model = tiny_model()
    single = InfoNCELoss(temperature=0.1).compute_loss_from_embeddings(model(data["xq"]), model(data["xd"]))
    single.backward()
    assert (sum(r["model_loss"] for r in ranks) / WORLD).item() == pytest.approx(single.item(), rel=1e-12)
    for r in ranks:  # DDP all-reduces (averages) the weight gradients: every process holds the global one
        torch.testing.assert_close(r["weight"], model.weight.grad)
        torch.testing.assert_close(r["bias"], model.bias.grad)
