"""Secrets: with sentinel values in ``OPENAI_API_KEY`` and ``WANDB_API_KEY``, no file any command
writes holds them: saved configs, logs, W&B offline runs, reports, synthetic-data artifacts, the
LLM call cache, embedding caches, adapters, nor anything under ``$HOME`` (W&B settings).

The commands are the real ones, in subprocesses: ``teamform synth`` with the simulated backend and
with ``llm=openai`` against a loopback OpenAI API (which must receive the key: it is used, just
never written), ``train``, ``eval`` with the OpenAI embedding baseline, a tiny ``grid`` and
``report``. The eval-only check of the same kind is in ``test_eval_pipeline.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import (
    SMALL_DEMO,
    env_for,
    files_under,
    last_line,
    make_tiny_bert,
    teamform,
    tiny_model_args,
)
from tests.loopback_openai import LoopbackOpenAI

pytestmark = pytest.mark.slow

OPENAI_SENTINEL = "sk-proj-SENTINEL0openai0key0000000000000000"
WANDB_SENTINEL = "SENTINEL0wandb0key00000000000000000000ab"
TRAIN = [
    "train=quick",
    "train.max_steps=4",
    "train.batch_size=4",
    "train.num_threads=1",
    "train.checkpoint_every_n_steps=2",
]


def test_no_secret_in_anything_written(tmp_path: Path) -> None:
    bert = make_tiny_bert(tmp_path / "tiny-bert")
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    tiny = tiny_model_args(bert)
    outputs: list[str] = []
    with LoopbackOpenAI() as api:
        env = env_for(
            work,
            OPENAI_API_KEY=OPENAI_SENTINEL,
            WANDB_API_KEY=WANDB_SENTINEL,
            OPENAI_BASE_URL=api.base_url,
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
        )
        commands = {
            "synth simulated": ["synth", "synth=quick", *SMALL_DEMO, "llm.progress=false"],
            "synth openai": [
                "synth",
                "llm=openai",
                "synth=quick",
                *SMALL_DEMO,
                "llm.progress=false",
                "llm.budget_usd=1",
            ],
            "train": ["train", "synth=quick", *SMALL_DEMO, *TRAIN, "logger=wandb", *tiny],
            "eval": ["eval", *SMALL_DEMO, "eval.encoders=[bm25,openai-small,base]", "logger=wandb", *tiny],
            "grid": [
                "grid",
                "profile=quick",
                "experiment=baselines,ft_labels",
                *SMALL_DEMO,
                "synth.n_labels=30",
                *TRAIN,
                "logger=wandb",
                "llm.progress=false",
                *tiny,
            ],
        }
        dirs = {}
        for name, args in commands.items():
            proc = teamform(args, env, work, timeout=1200)
            assert proc.returncode == 0, (name, proc.stderr[-3000:])
            outputs += [proc.stdout, proc.stderr]
            dirs[name] = last_line(proc)
        report = teamform(["report", str(dirs["grid"])], env, work)
        assert report.returncode == 0, report.stderr[-3000:]
        outputs += [report.stdout, report.stderr]
    assert api.tokens == {OPENAI_SENTINEL}  # the key was sent to the API ...
    assert api.embedded > 0
    eval_results = (dirs["eval"] / "results.json").read_text()
    assert "openai-small/concat" in eval_results  # ... and the OpenAI baseline really ran

    written = files_under(work, home, bert)
    names = {p.name for p in written}
    assert {
        "config.yaml",
        "results.json",
        "REPORT.md",
        "manifest.json",
        "metadata.json",
        "adapter_model.safetensors",
    } <= names
    assert any(p.suffix == ".wandb" for p in written), "no W&B offline run was written"
    assert len(list((work / "cache" / "llm").glob("*/*.json"))) > 0
    for path in written:
        data = path.read_bytes()
        for secret in (OPENAI_SENTINEL, WANDB_SENTINEL):
            assert secret.encode() not in data, f"{secret[:12]}... in {path}"
            assert secret.encode("utf-16-le") not in data, f"{secret[:12]}... (UTF-16) in {path}"
    for text in outputs:
        assert OPENAI_SENTINEL not in text and WANDB_SENTINEL not in text
