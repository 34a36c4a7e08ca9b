"""Keep secrets and personal data out of everything the harness saves.

Keys come from the environment only; saved configs are passed through :func:`redact` so a key
that a user typed into an override never reaches ``config.yaml``, W&B or a report.
"""

from __future__ import annotations

import os
import re
from typing import Any

SECRET_KEY = re.compile(r"(api[_-]?key|token|secret|password|passwd|authorization)$", re.IGNORECASE)
SECRET_ENV = ("OPENAI_API_KEY", "WANDB_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "AZURE_OPENAI_API_KEY")
REDACTED = "<redacted>"


def secret_values() -> list[str]:
    """The values of the secret environment variables that are set (long enough to matter)."""
    return [v for k in SECRET_ENV if len(v := os.environ.get(k, "")) >= 8]


def redact(obj: Any) -> Any:
    """A copy of a plain config tree with secret-named keys and secret values replaced.

    Example:
        >>> redact({"llm": {"api_key": "sk-abc", "model": "gpt"}})
        {'llm': {'api_key': '<redacted>', 'model': 'gpt'}}
    """
    values = secret_values()

    def walk(node: Any, key: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, str(k)) for k, v in node.items()}
        if isinstance(node, list | tuple):
            return [walk(v, key) for v in node]
        if isinstance(node, str):
            if SECRET_KEY.search(key) and node and not node.endswith("_env"):
                return REDACTED
            for value in values:
                if value in node:
                    node = node.replace(value, REDACTED)
        return node

    return walk(obj)


def plain_config(cfg: Any) -> dict[str, Any]:
    """The resolved config as plain containers, secrets removed (what runs save)."""
    from omegaconf import OmegaConf

    tree = (
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
        if not isinstance(cfg, dict)
        else cfg
    )
    return redact(tree)
