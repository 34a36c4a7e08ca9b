"""Helpers for tests that drive the real ``teamform`` command in subprocesses.

A tiny random BERT (2 layers, hidden size 32, the MiniLM tokenizer) stands in for the encoder so
that training and embedding take seconds; everything else is the real harness: Hydra, Lightning,
PEFT, W&B offline, the simulated LLM backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Small demo enterprise for grids and synthesis (seconds with the simulated backend).
SMALL_DEMO = ["scale.employees=40", "scale.eval_tasks=8", "scale.train_tasks=8", "scale.judged_pairs=48"]


def make_tiny_bert(out: Path) -> Path:
    """A 2-layer random ``BertModel`` with the MiniLM tokenizer, saved to ``out`` (once)."""
    if (out / "config.json").exists():
        return out
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from models.bundled import minilm_path

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
    AutoTokenizer.from_pretrained(minilm_path()).save_pretrained(out)
    return out


def tiny_model_args(bert: Path) -> list[str]:
    return [
        f"model.name_or_path={bert}",
        "model.name=tinybert",
        "model.max_doc_length=64",
        "model.max_query_length=32",
    ]


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a command: outputs and caches under ``tmp``, offline, no secrets unless given."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OPENAI_API_KEY", "WANDB_API_KEY", "OPENAI_BASE_URL", "HYDRA_FULL_ERROR")
    }
    env.update(
        {
            "TEAMFORM_OUTPUTS": str(tmp / "outputs"),
            "TEAMFORM_CACHE": str(tmp / "cache"),
            "HF_HUB_OFFLINE": "1",
            "WANDB_MODE": "offline",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def teamform(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 900
) -> subprocess.CompletedProcess:
    """Run ``teamform *args`` to the end; stdout and stderr captured."""
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    """Start ``teamform *args`` in its own process group, output to ``log``."""
    handle = log.open("wb")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.cli", *args],
            cwd=cwd,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        handle.close()


def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 600, what: str = ""
) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the command ended (rc={proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def sigkill(proc: subprocess.Popen) -> None:
    """``kill -9`` the command's process group (the command and anything it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def last_line(proc: subprocess.CompletedProcess) -> Path:
    return Path(proc.stdout.strip().splitlines()[-1])


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def parse_all(root: Path) -> int:
    """Parse every ``.json`` / ``.jsonl`` file under ``root`` (hidden temporaries aside); returns the
    count."""
    count = 0
    for path in files_under(root):
        if path.name.startswith("."):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
            count += 1
        elif path.suffix == ".jsonl":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    json.loads(line)
            count += 1
    return count
