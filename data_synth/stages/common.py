"""What every synthesis stage shares: its context, resumable bookkeeping and request building.

A stage reads the files of the stages before it from the artifact directory, sends its requests
through :meth:`data_synth.client.LLMClient.map` (finished calls are cached, so a rerun pays for
nothing twice), writes its output file atomically, even when the budget stopped it half way, and
then marks itself done in ``progress/{stage}.json`` with its counts. A done stage is skipped; a
stage stopped by the budget is not marked done and runs again (from the cache) next time.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from bench.core.dataset import Dataset, Task
from bench.core.io import write_json
from data_synth.artifact import read_jsonl
from data_synth.backend import LLMReply, LLMRequest
from data_synth.client import LLMClient
from data_synth.settings import SynthConfig

USAGE_FIELDS = (
    "calls",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "retries",
    "repairs",
    "invalid",
)


@dataclass
class StageContext:
    """Everything a stage needs (built once by :func:`data_synth.pipeline.synthesise`).

    Attributes:
        dataset: the dataset synthesised for (employees, evaluation tasks, context, aspects).
        client: the LLM client (cache, budget, concurrency) over the configured backend.
        settings: the synth settings.
        directory: the artifact directory ``{cache_dir}/synth/{key}``.
        encoder: builds the base encoder for the label pool (``None``: TF-IDF only).
        eureka_served: whether the backend can play the Eureka reviewer.
        notes: human-readable remarks collected for the manifest.
    """

    dataset: Dataset
    client: LLMClient
    settings: SynthConfig
    directory: Path
    encoder: Any = None
    eureka_served: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def aspects(self) -> tuple[str, ...]:
        return tuple(self.dataset.aspects)

    @property
    def context(self) -> str:
        return self.dataset.context.strip()

    def rng(self, *parts: object) -> random.Random:
        """A random generator seeded by the synth seed and ``parts`` (stable across runs)."""
        return random.Random(":".join(str(p) for p in (self.settings.seed, *parts)))

    def path(self, name: str) -> Path:
        return self.directory / name

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The rows of ``{name}`` in the artifact (empty when the file does not exist)."""
        return read_jsonl(self.path(name))

    def tasks(self) -> list[Task]:
        return [Task(r["id"], r["project"], r["task"]) for r in self.rows("tasks.jsonl")]

    def request(
        self,
        stage: str,
        prompt: str,
        schema: type[pydantic.BaseModel],
        payload: dict[str, Any],
        temperature: float | None = None,
        seed: int | None = None,
    ) -> LLMRequest:
        """One single-message chat request for ``stage`` with the configured reply limit."""
        return LLMRequest(
            stage=stage,
            messages=[{"role": "user", "content": prompt}],
            schema=schema,
            payload=payload,
            temperature=self.settings.temperature if temperature is None else temperature,
            max_tokens=self.settings.reply_tokens.get(stage),
            seed=seed,
        )

    def ask_all(self, requests: list[LLMRequest], desc: str) -> list[LLMReply | None]:
        """Run requests through the client (in order; ``None`` = not done or invalid)."""
        if not requests:
            return []
        return self.client.run(self.client.map(requests, desc=desc))


def usage_snapshot(client: LLMClient) -> dict[str, float]:
    return {name: getattr(client.usage, name) for name in USAGE_FIELDS}


def usage_delta(before: dict[str, float], client: LLMClient) -> dict[str, float]:
    """What the client did since ``before`` (calls, cache hits, tokens, dollars, retries, ...)."""
    after = usage_snapshot(client)
    delta = {name: after[name] - before[name] for name in USAGE_FIELDS}
    delta["cost_usd"] = round(delta["cost_usd"], 6)
    return delta


def progress_path(ctx: StageContext, stage: str) -> Path:
    return ctx.directory / "progress" / f"{stage}.json"


def load_record(ctx: StageContext, stage: str) -> dict[str, Any] | None:
    """The progress record of a stage (``complete`` false while unfinished), or ``None``."""
    path = progress_path(ctx, stage)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def load_done(ctx: StageContext, stage: str) -> dict[str, Any] | None:
    """The recorded counts of a finished stage, or ``None`` when it has not finished."""
    record = load_record(ctx, stage)
    return record if record is not None and record.get("complete") else None


def mark_done(ctx: StageContext, stage: str, stats: dict[str, Any]) -> dict[str, Any]:
    """Record a finished stage (after its output file is written)."""
    write_json(progress_path(ctx, stage), {**stats, "complete": True})
    return {**stats, "complete": True}


def invalidate(ctx: StageContext, *stages: str) -> None:
    """Forget that ``stages`` finished (their inputs changed), so they run again."""
    for stage in stages:
        path = progress_path(ctx, stage)
        if path.exists():
            path.unlink()


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
