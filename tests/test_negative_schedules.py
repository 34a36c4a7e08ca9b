"""Hard-negative schedules (Negative Matters (2025), sections 2.1, 4.1) and the batches that carry them."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch

from bench.core.errors import ConfigError
from models.datamodule import PairDataModule, PairDataset, StepBatchSampler, collate_pairs
from models.negatives import SCHEDULES, nearest_level, scheduled_level
from tests.train_fixtures import tiny_dataset, write_artifact

LEVELS = [1, 2, 3, 4]


def levels(schedule: str, total: int, **kw) -> list[int | None]:
    return [scheduled_level(schedule, s, total, LEVELS, **kw) for s in range(total)]


def test_curriculum_is_easiest_first_a_quarter_each() -> None:
    assert levels("curriculum", 8) == [1, 1, 2, 2, 3, 3, 4, 4]
    # 10 steps: phase = floor(4 * step / 10)
    assert levels("curriculum", 10) == [1, 1, 1, 2, 2, 3, 3, 3, 4, 4]
    counts = Counter(levels("curriculum", 100))
    assert counts == {1: 25, 2: 25, 3: 25, 4: 25}


def test_reverse_is_hardest_first() -> None:
    assert levels("reverse", 8) == [4, 4, 3, 3, 2, 2, 1, 1]
    assert Counter(levels("reverse", 100)) == {1: 25, 2: 25, 3: 25, 4: 25}


def test_fixed_uses_the_level_and_refuses_a_missing_one() -> None:
    assert levels("fixed", 5, level=3) == [3] * 5
    with pytest.raises(ConfigError, match="train.negatives.level"):
        scheduled_level("fixed", 0, 5, LEVELS, level=7)


def test_random_is_reproducible_and_mixes_levels() -> None:
    draws = [scheduled_level("random", s, 400, LEVELS, key=k) for s in range(400) for k in range(3)]
    assert draws == [scheduled_level("random", s, 400, LEVELS, key=k) for s in range(400) for k in range(3)]
    counts = Counter(draws)
    assert set(counts) == set(LEVELS) and min(counts.values()) > 200  # ~300 each of 1200
    first_quarter = [scheduled_level("random", s, 400, LEVELS, key=0) for s in range(100)]
    assert len(set(first_quarter)) == 4  # no curriculum order


def test_none_and_unknown_schedules() -> None:
    assert levels("none", 3) == [None, None, None]
    assert scheduled_level("curriculum", 0, 3, []) is None
    with pytest.raises(ConfigError, match="choose one of"):
        scheduled_level("coarse", 0, 3, LEVELS)
    assert set(SCHEDULES) == {"curriculum", "reverse", "random", "fixed", "none"}


def test_nearest_level_prefers_the_easier_on_ties() -> None:
    assert nearest_level(3, [1, 2, 4]) == 2
    assert nearest_level(4, [1, 2]) == 2
    assert nearest_level(1, [3, 4]) == 3


# ---- the batches ----------------------------------------------------------------------------
def test_sampler_steps_epochs_and_resume_position() -> None:
    sampler = StepBatchSampler(n=10, batch_size=3, seed=5, accumulate=2)
    assert len(sampler) == 4 and sampler.steps_per_epoch == 2  # 3 + 3 + 3 + 1
    epoch0 = list(sampler)
    assert [b[0][1] for b in epoch0] == [0, 0, 1, 1]  # two batches per optimizer step
    assert sorted(i for b in epoch0 for i, _ in b) == list(range(10))
    sampler.position = lambda: 2  # two optimizer steps done = epoch 1 starts
    epoch1 = list(sampler)
    assert [b[0][1] for b in epoch1] == [2, 2, 3, 3]
    assert [i for b in epoch1 for i, _ in b] != [i for b in epoch0 for i, _ in b]  # reshuffled
    sampler.position = lambda: 3  # resumed after step 3 of 4: the last two batches of epoch 1
    assert list(sampler) == epoch1[2:]


def test_sampler_splits_the_global_batch_across_processes() -> None:
    parts = [list(StepBatchSampler(n=9, batch_size=2, seed=1, rank=r, world_size=2)) for r in range(2)]
    assert (
        len(parts[0]) == len(parts[1]) == 2
    )  # 4 + 4 + 1 pairs: a last global batch under 2 pairs is dropped
    for b0, b1 in zip(*parts, strict=True):
        assert not {i for i, _ in b0} & {i for i, _ in b1}
    single = list(StepBatchSampler(n=9, batch_size=4, seed=1))
    for b0, b1, whole in zip(*parts, single[:2], strict=True):
        assert sorted(i for i, _ in b0 + b1) == sorted(i for i, _ in whole)


def _fake_tokenize(texts, kind):
    n = len(texts)
    return {"input_ids": torch.arange(n).reshape(n, 1), "attention_mask": torch.ones(n, 1, dtype=torch.long)}


@pytest.fixture()
def artifact(tmp_path: Path):
    return write_artifact(tmp_path / "synth")


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [("curriculum", [1, 1, 2, 2, 3, 3, 4, 4]), ("reverse", [4, 4, 3, 3, 2, 2, 1, 1]), ("fixed", [2] * 8)],
)
def test_each_batch_carries_the_scheduled_level(artifact, schedule: str, expected: list[int]) -> None:
    dm = PairDataModule(
        artifact,
        tiny_dataset(),
        _fake_tokenize,
        mix="curriculums",
        schedule=schedule,
        level=2,
        batch_size=2,
        max_steps=8,
        dev_fraction=0.0,
        label_negatives=False,
    )
    assert dm.total_steps() == 8
    sampler = dm.sampler()
    dataset = PairDataset(dm.pairs, schedule, dm.total_steps(), 2, 0, 0)
    seen: dict[int, set[int]] = {}
    done = 0
    while done < 8:
        sampler.position = lambda done=done: done
        for indices in sampler:
            batch = collate_pairs(_fake_tokenize, [dataset[i] for i in indices])
            seen.setdefault(batch["step"], set()).update(batch["levels"])
            # the hard negative of each example is its task's profile at that level
            assert batch["negatives"]["input_ids"].shape[0] == len(indices)
            done = batch["step"] + 1
            if done >= 8:
                break
    assert [seen[s] for s in range(8)] == [{lv} for lv in expected]


def test_label_negatives_and_keys_in_a_batch(artifact) -> None:
    dm = PairDataModule(
        artifact,
        tiny_dataset(),
        _fake_tokenize,
        mix="labels",
        schedule="none",
        batch_size=4,
        dev_fraction=0.0,
        max_label_negatives=1,
    )
    dataset = PairDataset(dm.pairs, "none", dm.total_steps(), None, 1, 0)
    example = dataset[(0, 0)]
    pair = dm.pairs.pairs[0]
    assert example["level"] is None and len(example["negatives"]) == 1  # the task's label-0 employee
    neg_key = [k for k, _ in dm.pairs.label_negatives[pair.task_id]][0]
    assert example["negative_keys"] == [dataset.doc_index[neg_key]]
    assert example["positive_key"] == dataset.doc_index[pair.doc_key]
    batch = collate_pairs(_fake_tokenize, [dataset[(i, 0)] for i in range(4)])
    assert batch["keys"]["negative"].shape == (4,) and batch["keys"]["query"].shape == (4,)
