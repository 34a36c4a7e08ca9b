"""LightningDataModule over synthetic training pairs, with scheduled hard negatives.

Each batch holds tokenised queries, their positive documents, and the batch's explicit
negatives: for every example its task's hard negative at the level the schedule gives for the
current optimizer step (:mod:`models.negatives`), and up to ``max_label_negatives`` label-0
employees of its task. Batches are drawn by :class:`StepBatchSampler`, a seeded permutation per
epoch that knows the optimizer step of each batch (for the schedule) and, under DDP, hands each
process its slice of the global batch. It starts where the trainer's ``global_step`` says, so a
run resumed from a checkpoint continues with exactly the batches it would have seen.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bench.core.dataset import Dataset as TeamDataset
from bench.core.errors import ConfigError
from data_synth.artifact import SynthArtifact
from models.negatives import check_schedule, nearest_level, scheduled_level
from models.pairs import PairSet, build_pairs, document_view

_MIX = 1_000_003  # odd multiplier that spreads (seed, index, step) into one integer seed


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields ``[(pair index, optimizer step), ...]`` per batch of this process.

    Args:
        n: number of pairs.
        batch_size: pairs per process and batch.
        seed: the permutation of epoch ``e`` is seeded with ``(seed, e)``.
        accumulate: batches per optimizer step (gradient accumulation).
        rank, world_size: this process and the number of processes; every process draws the
            same global batch of ``batch_size * world_size`` pairs and takes its slice.
        position: returns the optimizer steps already taken (``trainer.global_step``); the
            iteration starts at the first batch after them.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        seed: int = 0,
        accumulate: int = 1,
        rank: int = 0,
        world_size: int = 1,
        position: Callable[[], int] = lambda: 0,
    ) -> None:
        if batch_size < 1 or accumulate < 1:
            raise ConfigError(
                "train.batch_size and train.accumulate_grad_batches must be >= 1, "
                f"got {batch_size}, {accumulate}"
            )
        self.n, self.batch_size, self.seed, self.accumulate = n, batch_size, seed, accumulate
        self.rank, self.world_size, self.position = rank, world_size, position
        self.global_batch = batch_size * world_size
        full, rest = divmod(n, self.global_batch)
        self.batches_per_epoch = full + (1 if rest >= world_size else 0)  # every process gets >= 1 pair
        if self.batches_per_epoch == 0:
            raise ConfigError(
                f"{n} training pairs are fewer than the {world_size} processes; add data or use fewer devices"
            )
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / accumulate)

    def __len__(self) -> int:
        return self.batches_per_epoch

    def step_of(self, epoch: int, batch: int) -> int:
        """The 0-based optimizer step that batch ``batch`` of epoch ``epoch`` contributes to."""
        return epoch * self.steps_per_epoch + batch // self.accumulate

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This process's pair indices of every batch of ``epoch``."""
        generator = torch.Generator().manual_seed(self.seed * _MIX + epoch)
        order = torch.randperm(self.n, generator=generator).tolist()
        out = []
        for b in range(self.batches_per_epoch):
            chunk = order[b * self.global_batch : (b + 1) * self.global_batch]
            parts = [
                chunk[r :: self.world_size] for r in range(self.world_size)
            ]  # strided: sizes differ by <= 1
            out.append(parts[self.rank])
        return out

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        done = self.position()
        epoch, within = divmod(done, self.steps_per_epoch)
        batches = self.epoch_batches(epoch)
        for b in range(within * self.accumulate, self.batches_per_epoch):
            step = self.step_of(epoch, b)
            yield [(i, step) for i in batches[b]]


class GlobalStepLoader(DataLoader):
    """A DataLoader that Lightning treats as resumable: its :class:`StepBatchSampler` starts at the
    trainer's restored ``global_step``, so the checkpoint needs no loader state of its own."""

    def state_dict(self) -> dict[str, str]:
        return {"resumes_from": "trainer.global_step"}

    def load_state_dict(self, state: dict[str, str]) -> None:
        pass


class PairDataset(Dataset):
    """Map-style dataset indexed by ``(pair index, optimizer step)``; returns one example dict."""

    def __init__(
        self,
        pairs: PairSet,
        schedule: str,
        total_steps: int,
        level: int | None = None,
        max_label_negatives: int = 1,
        seed: int = 0,
    ) -> None:
        self.pairs, self.schedule, self.total_steps = pairs, check_schedule(schedule), total_steps
        self.level, self.max_label_negatives, self.seed = level, max_label_negatives, seed
        self.levels = pairs.levels
        self.doc_index = {key: i for i, key in enumerate(pairs.doc_keys())}
        self.task_index = {t: i for i, t in enumerate(sorted({p.task_id for p in pairs.pairs}))}
        if schedule == "fixed" and self.levels:
            scheduled_level("fixed", 0, 1, self.levels, level)  # fails early on a missing level

    def __len__(self) -> int:
        return len(self.pairs.pairs)

    def level_at(self, index: int, step: int) -> int | None:
        """The hard-negative level example ``index`` uses at optimizer ``step``."""
        return scheduled_level(
            self.schedule, step, self.total_steps, self.levels, self.level, self.seed * _MIX + index
        )

    def __getitem__(self, item: tuple[int, int]) -> dict[str, Any]:
        index, step = item
        pair = self.pairs.pairs[index]
        negatives: list[tuple[str, str]] = []
        wanted = self.level_at(index, step)
        level = None
        by_level = self.pairs.hard_negatives.get(pair.task_id, {})
        if wanted is not None and by_level:
            level = nearest_level(wanted, sorted(by_level))
            negatives.append((f"h:{pair.task_id}:{level}", by_level[level]))
        label_negs = self.pairs.label_negatives.get(pair.task_id, [])
        if label_negs and self.max_label_negatives > 0:
            rng = random.Random((self.seed * _MIX + index) * _MIX + step)
            negatives += rng.sample(label_negs, min(self.max_label_negatives, len(label_negs)))
        return {
            "query": pair.query,
            "positive": pair.positive,
            "negatives": [t for _, t in negatives],
            "query_key": self.task_index[pair.task_id],
            "positive_key": self.doc_index[pair.doc_key],
            "negative_keys": [self.doc_index[k] for k, _ in negatives],
            "level": level,
            "step": step,
        }


def collate_pairs(
    tokenize: Callable[[Sequence[str], str], dict[str, torch.Tensor]], examples: list[dict[str, Any]]
) -> dict[str, Any]:
    """Tokenise a list of examples into the batch :class:`models.lit_module.DualEncoderModule` reads."""
    negatives = [t for ex in examples for t in ex["negatives"]]
    batch = {
        "queries": tokenize([ex["query"] for ex in examples], "query"),
        "positives": tokenize([ex["positive"] for ex in examples], "document"),
        "negatives": tokenize(negatives, "document") if negatives else None,
        "keys": {
            "query": torch.tensor([ex["query_key"] for ex in examples]),
            "positive": torch.tensor([ex["positive_key"] for ex in examples]),
            "negative": torch.tensor([k for ex in examples for k in ex["negative_keys"]], dtype=torch.long),
        },
        "levels": [ex["level"] for ex in examples],
        "step": examples[0]["step"],
    }
    return batch


class PairDataModule(L.LightningDataModule):
    """Training pairs of one adapter from a synthetic artifact (``docs/synthetic-data.md``).

    Args:
        artifact: the loaded synthetic data.
        dataset: the dataset the artifact was made for.
        tokenize: ``tokenize(texts, kind)`` with ``kind`` in ``query | document``
            (:meth:`models.encoder.Encoder.tokenize`).
        mix: ``labels | curriculums | full`` (``train.mix``).
        aspect: ``None`` for a global adapter (documents = concatenation of the kept aspects), or
            the aspect of a specialised adapter (documents = that aspect / curriculum section).
        drop_aspects: aspects removed from the training text (thesis Table 5.4).
        label_negatives: use label-0 pairs as explicit negatives.
        max_label_negatives: label-0 negatives per example and step.
        schedule: hard-negative schedule (``curriculum | reverse | random | fixed | none``).
        level: the level of ``schedule=fixed``.
        batch_size: pairs per process and batch.
        accumulate: batches per optimizer step.
        epochs: passes over the pairs (``max_steps`` > 0 overrides).
        max_steps: optimizer steps of the run, or ``-1``.
        dev_fraction: share of labelled synthetic tasks held out (see :func:`models.pairs.split_dev`).
        seed: seeds the split, the permutations and the negative draws.
        base_tasks: evaluation tasks whose judged relevant pairs join the training data (the
            non-synthetic base set of the influence study; the dev tasks, never scored).
    """

    def __init__(
        self,
        artifact: SynthArtifact,
        dataset: TeamDataset,
        tokenize: Callable,
        mix: str = "full",
        aspect: str | None = None,
        drop_aspects: Sequence[str] = (),
        label_negatives: bool = True,
        max_label_negatives: int = 1,
        schedule: str = "curriculum",
        level: int | None = None,
        batch_size: int = 24,
        accumulate: int = 1,
        epochs: int = 1,
        max_steps: int = -1,
        dev_fraction: float = 0.1,
        seed: int = 0,
        base_tasks: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.view = document_view(dataset.aspects, aspect, drop_aspects)
        self.pairs = build_pairs(
            artifact, dataset, self.view, mix, label_negatives, dev_fraction, seed, base_tasks=base_tasks
        )
        self.tokenize, self.schedule, self.level = tokenize, check_schedule(schedule), level
        self.max_label_negatives, self.batch_size, self.accumulate = (
            max_label_negatives,
            batch_size,
            accumulate,
        )
        self.epochs, self.max_steps, self.seed = epochs, max_steps, seed

    def sampler(
        self, rank: int = 0, world_size: int = 1, position: Callable[[], int] = lambda: 0
    ) -> StepBatchSampler:
        return StepBatchSampler(
            len(self.pairs.pairs), self.batch_size, self.seed, self.accumulate, rank, world_size, position
        )

    def total_steps(self, world_size: int = 1) -> int:
        """Optimizer steps of the whole run (what the curriculum divides into phases)."""
        if self.max_steps and self.max_steps > 0:
            return int(self.max_steps)
        return self.epochs * self.sampler(0, world_size).steps_per_epoch

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        position = (lambda: trainer.global_step) if trainer is not None else (lambda: 0)
        dataset = PairDataset(
            self.pairs,
            self.schedule,
            self.total_steps(world),
            self.level,
            self.max_label_negatives,
            self.seed,
        )
        return GlobalStepLoader(
            dataset,
            batch_sampler=self.sampler(rank, world, position),
            num_workers=0,
            collate_fn=lambda examples: collate_pairs(self.tokenize, examples),
        )
