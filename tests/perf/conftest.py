"""Perf suite set-up: collected only with ``--benchmark-enable`` (``make bench``), fixed threads.

``make test`` runs ``pytest`` over ``tests/`` with ``--benchmark-disable`` (pyproject addopts):
:func:`pytest_ignore_collect` then leaves this directory out entirely, so no timed test runs in
the normal suite. ``make bench`` passes ``--benchmark-enable -m perf``.

Threads: every library gets ``BENCH_THREADS`` threads (default 1; torch, FAISS, numba and the
OpenMP / BLAS pools of the subprocesses). On this shared 2-core machine two OpenMP threads per
process wait on each other and run MiniLM about half as fast as one, for ours and the peers alike.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

THREADS = int(os.environ.get("BENCH_THREADS", "1"))
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = str(THREADS)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "disabled")

HERE = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Skip ``tests/perf`` unless benchmarks are enabled (``--benchmark-enable``)."""
    if config.getoption("benchmark_enable", default=False):
        return None
    if collection_path.resolve() != HERE and HERE in collection_path.resolve().parents:
        return True
    return None


@pytest.fixture(scope="session", autouse=True)
def fixed_threads() -> int:
    """Pin torch and FAISS to ``BENCH_THREADS`` for the whole session."""
    import faiss
    import torch

    torch.set_num_threads(THREADS)
    faiss.omp_set_num_threads(THREADS)
    return THREADS
