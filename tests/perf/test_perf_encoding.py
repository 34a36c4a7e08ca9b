"""Encoding throughput: :class:`models.encoder.Encoder` against ``SentenceTransformer.encode``.

Same model (the bundled all-MiniLM-L6-v2), same 512 texts (employee aspect texts of the demo
enterprise, 8 to 300 tokens), same batch size (32) and max length (256), both L2-normalised. The
vectors must agree within 1e-5 before anything is timed. Target: ours at least 1.2x faster.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.perf.timing import interleaved, median, paired_ratio, record

pytestmark = pytest.mark.perf

N_TEXTS, BATCH, MAX_LEN, ROUNDS, TARGET = 512, 32, 256, 4, 1.2


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from bench.data.demo import build_demo

    dataset = build_demo(seed=0)
    pool = [text for aspect in dataset.aspects for text in dataset.aspect_texts(aspect).values()]
    rng = np.random.default_rng(0)
    return [pool[i] for i in rng.choice(len(pool), N_TEXTS, replace=False)]


def test_encoding_vs_sentence_transformers(benchmark, texts: list[str]) -> None:
    from sentence_transformers import SentenceTransformer

    from models.bundled import minilm_path
    from models.encoder import Encoder

    ours_encoder = Encoder(
        "bundled:minilm", max_doc_length=MAX_LEN, batch_size=BATCH, device="cpu", progress=False
    )
    peer_model = SentenceTransformer(str(minilm_path()), device="cpu")
    peer_model.max_seq_length = MAX_LEN

    def ours() -> np.ndarray:
        return ours_encoder.encode_documents(texts)

    def peer() -> np.ndarray:
        return peer_model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)

    diff = float(np.abs(ours() - peer()).max())  # also the warm-up of both
    agree = diff <= 1e-5
    assert agree, f"vectors differ by {diff:.2e} > 1e-5"
    ours_s, peer_s = interleaved(benchmark, ours, peer, ROUNDS)
    ratio = paired_ratio(ours_s, peer_s)
    lengths = np.minimum(ours_encoder.token_lengths(texts), MAX_LEN)
    record(
        benchmark,
        "encoding: 512 aspect texts, MiniLM, batch 32",
        ours=f"{N_TEXTS / median(ours_s):.0f} texts/s",
        peer=f"{N_TEXTS / median(peer_s):.0f} texts/s (sentence-transformers)",
        ratio=ratio,
        target=f">= {TARGET}x",
        holds=ratio >= TARGET,
        agree=agree,
        detail=f"max abs diff of the vectors {diff:.1e} (<= 1e-5)",
        ours_s=ours_s,
        peer_s=peer_s,
        tokens=int(lengths.sum()),
        ours_batches=len(ours_encoder.plan_batches(lengths)),
    )
