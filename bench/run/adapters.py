"""Trained adapter sets on disk: content keys, layout, metadata (what ``teamform train`` writes).

One directory per adapter set, ``{paths.cache_dir}/adapters/{key}/``::

    metadata.json           written last: the set is finished (keys, hashes, metrics, steps)
    global/                 adapter_model.safetensors + adapter_config.json (PEFT) + result.json
    aspect-<name>/          ... one per aspect for adapter_mode=specialised
    work/<adapter>/         Lightning checkpoints while training (removed when it finishes)

The key covers the training settings, the dataset hash, the synthetic artifact hash and the
base model's fingerprint, so a finished set with the same key is reused without training.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.errors import ConfigError, DataError
from bench.core.io import content_key

ARTIFACT_FILES = ("tasks.jsonl", "curriculums.jsonl", "labels.jsonl", "negatives.jsonl")
GLOBAL = "global"


def artifact_hash(path: str | Path) -> str:
    """16-hex-digit SHA-256 over the training files of a synthetic-data artifact (names + bytes)."""
    digest = hashlib.sha256()
    for name in ARTIFACT_FILES:
        file = Path(path) / name
        digest.update(name.encode())
        digest.update(file.read_bytes() if file.exists() else b"\0absent")
    return digest.hexdigest()[:16]


def adapter_key(
    settings_parts: dict[str, Any],
    dataset_hash: str,
    synth_hash: str,
    model_fingerprint: str,
    runtime: dict[str, Any],
) -> str:
    """The content key of an adapter set (what decides its weights)."""
    return content_key(
        {
            "train": settings_parts,
            "dataset": dataset_hash,
            "synth": synth_hash,
            "model": model_fingerprint,
            "runtime": runtime,
        }
    )


def adapter_dirname(name: str) -> str:
    """Directory of one adapter: ``global`` or ``aspect-<name>`` (unsafe characters become ``_``)."""
    return GLOBAL if name == GLOBAL else "aspect-" + re.sub(r"[^A-Za-z0-9._-]", "_", name)


@dataclass
class AdapterSet:
    """A finished adapter set: which adapter serves which aspect.

    Attributes:
        dir: the set's directory.
        mode: ``global`` (one adapter for every aspect and the concatenation) or ``specialised``.
        adapters: ``name -> adapter directory``; names are ``global`` or aspect names.
        metadata: the content of ``metadata.json``.
        reused: ``True`` when an existing finished set was found.
    """

    dir: Path
    mode: str
    adapters: dict[str, Path]
    metadata: dict[str, Any] = field(default_factory=dict)
    reused: bool = False

    @property
    def aspects(self) -> list[str]:
        """Aspects trained into the set (the kept aspects of a global adapter)."""
        return list(self.metadata.get("aspects", []))

    def adapter_for(self, view: str) -> Path:
        """The adapter directory to embed ``view`` (an aspect name, or ``concat``) with.

        A global adapter serves every view; a specialised set serves only its own aspects.

        Raises:
            bench.core.errors.ConfigError: a specialised set has no adapter for ``view``.
        """
        if self.mode == GLOBAL:
            return self.adapters[GLOBAL]
        if view not in self.adapters:
            raise ConfigError(
                f"the specialised adapter set {self.dir.name} has no adapter for {view!r} "
                f"(it has: {', '.join(sorted(self.adapters))}); "
                "evaluate only those aspects or train a global adapter"
            )
        return self.adapters[view]

    @classmethod
    def load(cls, path: str | Path) -> AdapterSet:
        """Read a finished set (a directory with ``metadata.json``)."""
        path = Path(path)
        meta_path = path / "metadata.json"
        if not meta_path.exists():
            raise DataError(
                path,
                "no metadata.json: the adapter set is unfinished",
                fix="run `teamform train` again to resume it",
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        adapters = {name: path / info["dir"] for name, info in meta["adapters"].items()}
        return cls(dir=path, mode=meta["mode"], adapters=adapters, metadata=meta)
