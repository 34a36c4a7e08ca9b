"""Training an adapter set end to end on a tiny random BERT: resume, reuse, specialised, logging.

The model is a 2-layer BertModel with random weights and the MiniLM tokenizer, saved to a
directory and loaded by :class:`models.encoder.Encoder` like any local model: real PEFT, real
Lightning, seconds per run.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from bench.core.errors import ConfigError
from bench.run.adapters import AdapterSet
from bench.run.train_settings import TrainSettings
from bench.run.training import train_adapter_set
from models.encoder import Encoder
from models.schedules import linear_warmup
from tests.train_fixtures import tiny_dataset, write_artifact


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(minilm_dir).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory):
    return write_artifact(tmp_path_factory.mktemp("synth"))


def settings(**overrides) -> TrainSettings:
    values = dict(
        optimizer=functools.partial(torch.optim.AdamW, lr=1e-3, weight_decay=0.1),
        scheduler=functools.partial(linear_warmup, warmup_steps=2),
        lora={"r": 4, "alpha": 8, "dropout": 0.1},
        negatives={"enabled": True, "schedule": "curriculum"},
        batch_size=4,
        epochs=2,
        checkpoint_every_n_steps=3,
        dev_fraction=0.25,
        accelerator="cpu",
        devices=1,
        seed=7,
    )
    values.update(overrides)
    return TrainSettings(**values)


def encoder_factory(path: Path):
    return lambda: Encoder(str(path), max_query_length=32, max_doc_length=64, device="cpu", batch_size=16)


class CrashAt(Callback):
    """Simulates a killed run: raises after optimizer step ``step`` (its checkpoint is older)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # noqa: ANN001
        if trainer.global_step == self.step:
            raise RuntimeError(f"simulated crash at step {self.step}")


def adapter_weights(adapter_set: AdapterSet, name: str = "global") -> dict[str, torch.Tensor]:
    return load_file(str(adapter_set.adapters[name] / "adapter_model.safetensors"))


@pytest.mark.slow  # three short trainings each: ~35 s on a loaded 2-core CPU
@pytest.mark.parametrize(("accumulate", "every", "crash"), [(1, 3, 7), (2, 2, 3)])
def test_resumed_run_ends_with_the_same_adapter(
    tmp_path: Path, tiny_bert: Path, artifact, accumulate: int, every: int, crash: int
) -> None:
    ds = tiny_dataset()
    s = settings(accumulate_grad_batches=accumulate, checkpoint_every_n_steps=every)
    straight = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), s, tmp_path / "a")
    steps = straight.metadata["adapters"]["global"]["steps"]
    assert crash < steps
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_adapter_set(
            ds, artifact, encoder_factory(tiny_bert), s, tmp_path / "b", callbacks=[CrashAt(crash)]
        )
    work = next((tmp_path / "b" / "adapters").iterdir()) / "work" / "global"
    assert (work / "last.ckpt").exists() and not (work.parent.parent / "metadata.json").exists()
    resumed = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), s, tmp_path / "b")
    assert resumed.dir.name == straight.dir.name
    assert resumed.metadata["adapters"]["global"]["resumed"] is True
    assert resumed.metadata["adapters"]["global"]["steps"] == steps
    curve_a, curve_b = (x.metadata["adapters"]["global"]["loss_curve"] for x in (straight, resumed))
    assert [p["step"] for p in curve_a] == [p["step"] for p in curve_b] == list(range(steps))
    assert [p["loss"] for p in curve_b] == pytest.approx([p["loss"] for p in curve_a], abs=1e-6)
    a, b = adapter_weights(straight), adapter_weights(resumed)
    assert a.keys() == b.keys() and len(a) > 0
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)
    base = {k: v for k, v in a.items() if "lora_B" in k}
    assert base and any(v.abs().max() > 0 for v in base.values())  # the adapter was trained (B starts at 0)


def test_resume_from_an_older_checkpoint_would_differ(tmp_path: Path, tiny_bert: Path, artifact) -> None:
    """Guard for the test above: a different number of steps gives different weights."""
    ds = tiny_dataset()
    full = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), settings(), tmp_path / "a")
    short = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), settings(max_steps=7), tmp_path / "b")
    a, b = adapter_weights(full), adapter_weights(short)
    assert max((a[k] - b[k]).abs().max().item() for k in a) > 1e-4


@pytest.mark.slow
def test_finished_set_is_reused_and_logged(tmp_path: Path, tiny_bert: Path, artifact) -> None:
    from lightning.pytorch.loggers import CSVLogger

    ds = tiny_dataset()
    loggers = {}

    def factory(name: str, save_dir: Path):
        loggers[name] = CSVLogger(save_dir=str(save_dir), name=name, version="")
        return loggers[name]

    first = train_adapter_set(
        ds, artifact, encoder_factory(tiny_bert), settings(), tmp_path, logger_factory=factory
    )
    assert not first.reused and (first.dir / "metadata.json").exists() and not (first.dir / "work").exists()
    meta = first.metadata
    assert {"config_hash", "dataset", "synth", "code_version", "model"} <= set(meta)
    assert (
        meta["dataset"]["hash"] == ds.hash and meta["adapters"]["global"]["steps"] == 10
    )  # 18 pairs / 4 -> 5 x 2
    assert [m["epoch"] for m in meta["adapters"]["global"]["dev_metrics"]] == [0.0, 1.0]
    assert (first.adapters["global"] / "adapter_config.json").exists()
    rows = list(csv.DictReader(open(Path(loggers["global"].log_dir) / "metrics.csv")))
    columns = set(rows[0])
    assert {
        "train/loss",
        "train/lr",
        "train/samples_per_s",
        "train/tokens_per_s",
        "dev/ndcg@5",
        "dev/ap",
    } <= columns
    lrs = [float(r["train/lr"]) for r in rows if r.get("train/lr")]
    assert lrs[0] == pytest.approx(1e-3 / 2)  # linear warm-up over 2 steps
    again = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), settings(), tmp_path)
    assert again.reused and again.dir == first.dir
    other = train_adapter_set(
        ds, artifact, encoder_factory(tiny_bert), settings(seed=8, max_steps=2), tmp_path
    )
    assert other.dir != first.dir


def test_specialised_mode_trains_one_adapter_per_aspect(tmp_path: Path, tiny_bert: Path, artifact) -> None:
    ds = tiny_dataset()
    s = settings(adapter_mode="specialised", drop_aspects=["abilities"], max_steps=2, epochs=1)
    result = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), s, tmp_path)
    assert result.mode == "specialised" and sorted(result.adapters) == ["experience", "role"]
    assert result.adapter_for("role").name == "aspect-role"
    with pytest.raises(ConfigError, match="no adapter for 'abilities'"):
        result.adapter_for("abilities")
    role, experience = adapter_weights(result, "role"), adapter_weights(result, "experience")
    assert any((role[k] - experience[k]).abs().max() > 0 for k in role)  # trained on different documents
    loaded = AdapterSet.load(result.dir)
    assert loaded.adapters == result.adapters and loaded.aspects == ["role", "experience"]
    # the saved adapter loads back into an Encoder and changes its vectors
    base = encoder_factory(tiny_bert)()
    tuned = Encoder(str(tiny_bert), adapter=str(result.adapter_for("role")), device="cpu")
    assert (
        abs(base.encode_documents(["kiln operator"]) - tuned.encode_documents(["kiln operator"])).max()
    ) > 1e-6


def test_global_adapter_serves_every_view(tmp_path: Path, tiny_bert: Path, artifact) -> None:
    result = train_adapter_set(
        tiny_dataset(), artifact, encoder_factory(tiny_bert), settings(max_steps=1, epochs=1), tmp_path
    )
    assert result.adapter_for("role") == result.adapter_for("concat") == result.adapters["global"]


def test_lightning_logger_follows_the_tracker(tmp_path: Path) -> None:
    from lightning.pytorch.loggers import CSVLogger, WandbLogger

    from bench.run.tracking import CsvTracker, NullTracker, WandbTracker
    from bench.run.training import lightning_logger

    wandb = lightning_logger(
        WandbTracker(project="p", mode="offline", dir=str(tmp_path)), tmp_path, "train-global", "k"
    )
    assert isinstance(wandb, WandbLogger) and wandb._wandb_init["mode"] == "offline"
    assert wandb._wandb_init["project"] == "p" and wandb._wandb_init["job_type"] == "train"
    assert isinstance(lightning_logger(CsvTracker(), tmp_path, "train-global"), CSVLogger)
    assert lightning_logger(NullTracker(), tmp_path, "train-global") is False


def test_training_lengths_cut_training_texts_only(tmp_path: Path, tiny_bert: Path, artifact) -> None:
    assert "max_doc_length" not in settings().key_parts()  # unset: the keys of earlier adapters stay
    short = settings(max_doc_length=8, max_query_length=6, max_steps=1, epochs=1)
    assert short.key_parts()["max_doc_length"] == 8
    widths = []

    class Widths(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:  # noqa: ANN001
            widths.append((batch["queries"]["input_ids"].shape[1], batch["positives"]["input_ids"].shape[1]))

    result = train_adapter_set(
        tiny_dataset(), artifact, encoder_factory(tiny_bert), short, tmp_path, callbacks=[Widths()]
    )
    assert widths and all(q <= 6 and d <= 8 for q, d in widths)
    assert result.metadata["train"]["max_doc_length"] == 8
    assert result.metadata["model"]["max_doc_length"] == 64  # the model (and evaluation) keeps its lengths
    assert (
        result.dir
        != train_adapter_set(
            tiny_dataset(), artifact, encoder_factory(tiny_bert), settings(max_steps=1, epochs=1), tmp_path
        ).dir
    )
    with pytest.raises(ConfigError, match="train.max_doc_length must be >= 1"):
        settings(max_doc_length=0)


@pytest.mark.slow  # four short trainings: ~30 s on a loaded 2-core CPU
def test_fast_dropout_masks_are_their_own_adapter_reproducible_and_resumable(
    tmp_path: Path, tiny_bert: Path, artifact
) -> None:
    ds = tiny_dataset()
    fast = settings(dropout_masks="fast")
    torch_masks = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), settings(), tmp_path / "t")
    straight = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), fast, tmp_path / "a")
    assert straight.dir.name != torch_masks.dir.name  # another cache key: other masks, other weights
    assert straight.metadata["dropout_masks"] == "fast" and torch_masks.metadata["dropout_masks"] == "torch"
    a, t = adapter_weights(straight), adapter_weights(torch_masks)
    assert max((a[k] - t[k]).abs().max().item() for k in a) > 1e-5
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_adapter_set(
            ds, artifact, encoder_factory(tiny_bert), fast, tmp_path / "b", callbacks=[CrashAt(7)]
        )
    resumed = train_adapter_set(ds, artifact, encoder_factory(tiny_bert), fast, tmp_path / "b")
    assert resumed.dir.name == straight.dir.name and resumed.metadata["adapters"]["global"]["resumed"]
    b = adapter_weights(resumed)  # the masks after the resume continue the generator's stream
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=1e-6, rtol=0)
    auto = settings(dropout_masks="auto")
    assert auto.resolved_dropout_masks(cuda=False) == "fast"
    assert auto.resolved_dropout_masks(cuda=True) == "torch"
    with pytest.raises(ConfigError, match="train.dropout_masks"):
        settings(dropout_masks="philox")
