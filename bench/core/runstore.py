"""Run directories: where a command writes, and what every number is traced to."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

from bench import __version__


def run_dir() -> Path:
    """The output directory of the running Hydra job (created), or ``outputs/adhoc`` outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        path = Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        path = Path(os.environ.get("TEAMFORM_OUTPUTS", "outputs")) / "adhoc"
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def code_version() -> str:
    """``git describe``-style version of the code (commit, ``+dirty`` when modified), or the package
    version."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        return f"{__version__}+g{sha}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return __version__
