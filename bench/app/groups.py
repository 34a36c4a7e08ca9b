"""The config groups under ``conf/`` (what ``teamform --help`` and error messages list)."""

from __future__ import annotations

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent.parent.parent / "conf"


def config_groups() -> dict[str, list[str]]:
    """``group -> [option, ...]`` read from the ``conf/`` directory (for ``--help``)."""
    groups: dict[str, list[str]] = {}
    for sub in sorted(p for p in CONF_DIR.iterdir() if p.is_dir()):
        options = sorted(f.stem for f in sub.glob("*.yaml"))
        if options:
            groups[sub.name] = options
    return groups
