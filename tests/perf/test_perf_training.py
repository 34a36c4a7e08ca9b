"""Training throughput: our LoRA InfoNCE training against sentence-transformers' trainer.

Ours is the real ``teamform train`` path without its file output: :class:`models.lora.apply_lora`
on the bundled MiniLM, :class:`models.datamodule.PairDataModule` and
:class:`models.lit_module.DualEncoderModule` under a Lightning ``Trainer`` (as
:func:`bench.run.training.train_adapter` builds them). The peer is ``SentenceTransformerTrainer`` with
``MultipleNegativesRankingLoss(scale=1/tau)`` and the same PEFT LoRA config (r = alpha = 16,
dropout 0.05, every linear layer but the pooler), AdamW (lr 4e-4, weight decay 0.1, linear
warm-up), fp32, no gradient clipping. Both get the same batches of 24 (query, positive) pairs of
the demo's synthetic training data (global adapter, ``train.mix=full``, no explicit negatives),
max length 256 for queries and documents. The second row, "one LoRA step with hard negatives",
trains on the ideal curriculums (``train.mix=curriculums``) with one scheduled hard negative per
query (``negatives.schedule=fixed``, level 2), as the negatives experiments do: ours embeds the
batch's negatives and scores every query against all positives and negatives of the batch; the
peer gets the same (anchor, positive, negative) triplets, which ``MultipleNegativesRankingLoss``
scores the same way.

Before timing: with the adapters freshly initialised and dropout off, both losses on the first
batch must agree within 1e-5, and the trainable parameters must match. Then each round trains a
fresh model for ``WARMUP + STEPS`` steps per side; a callback stamps the end of every step, and
samples/s is 24 over the median time between consecutive step ends (data loading, forward,
backward and optimizer step; the warm-up steps are left out). Target: ours at least 1.2x.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.perf.timing import interleaved, record

pytestmark = pytest.mark.perf

BATCH, MAX_LEN, TAU, WARMUP, STEPS, ROUNDS, TARGET = 24, 256, 0.1, 1, 3, 1, 1.2
NEGATIVE_LEVEL = 2  # the hard-negative row: schedule=fixed at this level (negatives_fixed's)
SYNTH = [
    "profile=quick",
    "logger=none",
    "scale.train_tasks=200",
    "synth.n_brainstorms=4",
    "synth.projects_per_brainstorm=5",
    "synth.tasks_per_project=6",
    "synth.n_labels=300",
]


@pytest.fixture(scope="module")
def training_data(tmp_path_factory: pytest.TempPathFactory):
    """``(dataset, artifact)``: the quick-profile demo and a simulated synthetic artifact for it."""
    from hydra import compose, initialize_config_dir

    from bench.app.groups import CONF_DIR
    from bench.data import load_dataset
    from bench.run.synthesis import build_client, ensure_artifact
    from data_synth.artifact import load_artifact

    os.environ["TEAMFORM_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=SYNTH)
    dataset = load_dataset(cfg.data)
    with build_client(cfg.llm, dataset) as client:
        client.progress = False
        directory = ensure_artifact(cfg, dataset=dataset, client=client)
    return dataset, load_artifact(Path(directory))


def make_ours(dataset, artifact, max_steps: int, negatives: bool = False):  # noqa: ANN001, ANN201
    """Encoder with fresh LoRA, data module and Lightning module, as ``train_adapter`` builds them
    (``negatives``: curriculum pairs, each with its level-2 hard negative)."""
    from functools import partial

    from models.datamodule import PairDataModule
    from models.encoder import Encoder
    from models.lit_module import DualEncoderModule
    from models.lora import LoraSettings, apply_lora
    from models.schedules import linear_warmup

    torch.manual_seed(0)
    encoder = Encoder(
        "bundled:minilm", max_query_length=MAX_LEN, max_doc_length=MAX_LEN, device="cpu", progress=False
    )
    encoder.model = apply_lora(encoder.model, LoraSettings(r=16, alpha=16, dropout=0.05))
    data = PairDataModule(
        artifact,
        dataset,
        encoder.tokenize,
        mix="curriculums" if negatives else "full",
        label_negatives=False,
        schedule="fixed" if negatives else "none",
        level=NEGATIVE_LEVEL if negatives else None,
        batch_size=BATCH,
        max_steps=max_steps,
        dev_fraction=0.1,
        seed=0,
    )
    module = DualEncoderModule(
        encoder,
        partial(torch.optim.AdamW, lr=4e-4, weight_decay=0.1),
        partial(linear_warmup, warmup_ratio=0.1),
        TAU,
        None,
        total_steps=max_steps,
    )
    return encoder, data, module


def make_peer(pair_texts: tuple[list[str], ...], batches: list[list[int]], max_steps: int, output_dir: Path):  # noqa: ANN201
    """SentenceTransformerTrainer over the same pairs (or triplets), yielding ``batches`` in order."""
    from datasets import Dataset
    from peft import LoraConfig
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from models.bundled import minilm_path
    from models.lora import linear_targets

    class FixedBatches(DefaultBatchSampler):
        def __iter__(self):  # noqa: ANN204
            return iter(batches)

        def __len__(self) -> int:
            return len(batches)

    torch.manual_seed(0)
    model = SentenceTransformer(str(minilm_path()), device="cpu")
    model.max_seq_length = MAX_LEN
    targets, excluded = linear_targets(model[0].auto_model)
    model.add_adapter(
        LoraConfig(
            r=16,
            lora_alpha=16,
            lora_dropout=0.05,
            target_modules=targets,
            exclude_modules=excluded or None,
            bias="none",
        )
    )
    train = Dataset.from_dict(dict(zip(("anchor", "positive", "negative"), pair_texts, strict=False)))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=BATCH,
        max_steps=max_steps,
        learning_rate=4e-4,
        weight_decay=0.1,
        warmup_ratio=0.1,
        lr_scheduler_type="linear",
        max_grad_norm=0.0,
        seed=0,
        use_cpu=True,
        save_strategy="no",
        report_to="none",
        logging_steps=10_000,
        disable_tqdm=True,
        dataloader_num_workers=0,
        batch_sampler=FixedBatches,
    )
    loss = MultipleNegativesRankingLoss(model, scale=1.0 / TAU)
    return model, loss, SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss)


def step_intervals(stamps: list[float]) -> list[float]:
    """Seconds between consecutive step ends, after the warm-up steps."""
    return list(np.diff(stamps[WARMUP - 1 :])) if WARMUP else list(np.diff([stamps[0], *stamps]))


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def negative_texts(data, steps: int) -> list[str]:  # noqa: ANN001
    """Each pair's hard negative under ``data``'s fixed schedule (the same at every step)."""
    from models.datamodule import PairDataset

    examples = PairDataset(data.pairs, "fixed", steps, NEGATIVE_LEVEL, 0, 0)
    texts = [examples[(i, 0)]["negatives"] for i in range(len(examples))]
    assert all(len(t) == 1 for t in texts), "a curriculum pair without its hard negative"
    return [t[0] for t in texts]


@pytest.mark.parametrize("negatives", [False, True], ids=["in-batch", "hard-negatives"])
def test_training_vs_sentence_transformers(benchmark, training_data, tmp_path: Path, negatives: bool) -> None:
    import lightning as L
    from lightning.pytorch.callbacks import Callback
    from transformers import TrainerCallback

    dataset, artifact = training_data
    steps = WARMUP + STEPS
    encoder, data, module = make_ours(dataset, artifact, steps, negatives)
    batches = [[i for i, _ in batch] for batch in data.sampler()][:steps]
    assert len(batches) == steps and all(len(b) == BATCH for b in batches), (
        "too few training pairs for the steps"
    )
    pairs = data.pairs.pairs
    texts = (
        encoder.format([p.query for p in pairs], "query"),
        encoder.format([p.positive for p in pairs], "document"),
    )
    if negatives:
        texts = (*texts, encoder.format(negative_texts(data, steps), "document"))
    model, peer_loss, _ = make_peer(texts, batches, steps, tmp_path / "st")

    # same output first: identical initial loss on batch 0 (adapters are zero at init; no dropout)
    first = batches[0]
    q, d = [texts[0][i] for i in first], [texts[1][i] for i in first]
    n = [texts[2][i] for i in first] if negatives else []
    encoder.model.eval()
    model.eval()
    with torch.no_grad():
        ours_loss = float(
            module.loss(
                encoder.tokenize(q, "query"),
                encoder.tokenize(d, "document"),
                encoder.tokenize(n, "document") if n else None,
            )
        )
        features = [model.tokenize(q), model.tokenize(d), *([model.tokenize(n)] if n else [])]
        peer_value = float(peer_loss(features, None))
    diff = abs(ours_loss - peer_value)
    same_params = trainable(encoder.model) == trainable(model)
    agree = diff <= 1e-5 and same_params
    assert agree, (
        f"first-batch losses {ours_loss:.6f} vs {peer_value:.6f}, "
        f"trainable {trainable(encoder.model)} vs {trainable(model)}"
    )

    ours_steps: list[float] = []
    peer_steps: list[float] = []

    class Stamp(Callback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_train_batch_end(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            self.stamps.append(time.perf_counter())

    class PeerStamp(TrainerCallback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_step_end(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
            self.stamps.append(time.perf_counter())

    def ours() -> None:
        _, data_r, module_r = make_ours(dataset, artifact, steps, negatives)
        L.seed_everything(0, workers=True, verbose=False)
        stamp = Stamp()
        trainer = L.Trainer(
            max_steps=steps,
            accelerator="cpu",
            devices=1,
            precision="32-true",
            logger=False,
            callbacks=[stamp],
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
            use_distributed_sampler=False,
            deterministic=True,
            default_root_dir=str(tmp_path / "pl"),
        )
        trainer.fit(module_r, datamodule=data_r)
        assert trainer.global_step == steps
        ours_steps.extend(step_intervals(stamp.stamps))

    def peer() -> None:
        _, _, trainer = make_peer(texts, batches, steps, tmp_path / "st")
        stamp = PeerStamp()
        trainer.add_callback(stamp)
        trainer.train()
        assert trainer.state.global_step == steps
        peer_steps.extend(step_intervals(stamp.stamps))

    interleaved(benchmark, ours, peer, ROUNDS)
    ours_rate, peer_rate = BATCH / statistics.median(ours_steps), BATCH / statistics.median(peer_steps)
    ratio = ours_rate / peer_rate
    record(
        benchmark,
        "training: one LoRA step with hard negatives, MiniLM, batch 24 (+ 24 level-2 negatives)"
        if negatives
        else "training: LoRA InfoNCE, MiniLM, batch 24 (global adapter)",
        ours=f"{ours_rate:.2f} samples/s",
        peer=f"{peer_rate:.2f} samples/s (SentenceTransformerTrainer + MNRL)",
        ratio=ratio,
        target=f">= {TARGET}x",
        holds=ratio >= TARGET,
        agree=agree,
        detail=(
            f"first-batch loss {ours_loss:.6f} vs {peer_value:.6f}, "
            f"{trainable(model)} trainable parameters each"
        ),
        ours_step_s=ours_steps,
        peer_step_s=peer_steps,
        pairs=len(pairs),
    )
