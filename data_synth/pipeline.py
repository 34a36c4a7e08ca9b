"""Synthesis end to end: the content-addressed artifact directory and the stages that fill it.

:func:`synthesise` runs the selected stages (``synth.stages``, in :data:`STAGE_ORDER`) into
``{cache_dir}/synth/{key}/``, where the key hashes the dataset hash, the backend name and model,
the synth settings (all but the stage list), the prompt versions and the label-pool encoder. A
finished stage is skipped; a stage interrupted by the budget, a crash or ``kill -9`` runs again,
its finished calls coming from the client's on-disk cache. ``manifest.json`` is written last
(``docs/synthetic-data.md``) with ``complete: false`` when the run stopped early.

:func:`bench.run.synthesis.ensure_artifact` does the same from a composed Hydra config (what
``teamform synth`` and the grid call).
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.core.dataset import Dataset
from bench.core.errors import TeamformError
from bench.core.io import cache_lock, content_key, write_json
from data_synth.client import BudgetExceeded, LLMClient
from data_synth.prompts import prompt_versions
from data_synth.settings import STAGE_ORDER, SynthConfig
from data_synth.stages import DOWNSTREAM, STAGES
from data_synth.stages.common import (
    USAGE_FIELDS,
    StageContext,
    invalidate,
    load_done,
    load_record,
    mark_done,
    progress_path,
    usage_delta,
    usage_snapshot,
)

ARTIFACT_VERSION = 1


class SynthIncomplete(TeamformError):
    """Synthesis stopped before every stage finished; the partial artifact is valid and resumable."""


def artifact_key(
    dataset: Dataset, backend_name: str, model: str, settings: SynthConfig, encoder_id: str
) -> str:
    """The content key of an artifact (16 hex digits)."""
    return content_key(
        ARTIFACT_VERSION,
        dataset.hash,
        backend_name,
        model,
        settings.key_fields(),
        prompt_versions(),
        encoder_id,
    )


def read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _is_finished(directory: Path, stages: list[str]) -> bool:
    manifest = read_manifest(directory)
    return bool(manifest and manifest.get("complete") and set(stages) <= set(manifest.get("stages_done", [])))


def _previous_partial(ctx: StageContext, name: str) -> dict[str, float]:
    """Usage an earlier, interrupted run of this stage already spent (added to its record)."""
    path = progress_path(ctx, name)
    if not path.exists():
        return {}
    record = json.loads(path.read_text(encoding="utf-8"))
    return {} if record.get("complete") else {k: record.get(k, 0) for k in USAGE_FIELDS}


def _run_stage(ctx: StageContext, name: str) -> dict[str, Any]:
    module = STAGES[name]
    previous = _previous_partial(ctx, name)
    before = usage_snapshot(ctx.client)
    start = time.perf_counter()
    try:
        stats = module.run(ctx)
        ctx.client.check_budget()
        stats["seconds"] = round(time.perf_counter() - start, 2)
    except (BudgetExceeded, TeamformError):
        partial = usage_delta(before, ctx.client)
        write_json(
            progress_path(ctx, name),
            {**{k: partial[k] + previous.get(k, 0) for k in USAGE_FIELDS}, "complete": False},
        )
        raise
    for key, value in previous.items():
        stats[key] = round(stats.get(key, 0) + value, 6)
    invalidate(ctx, *DOWNSTREAM[name])
    return mark_done(ctx, name, stats)


# The request stage (data_synth.backend.STAGES) each synthesis stage sends.
REQUEST_STAGE = {
    "projects": "projects",
    "tasks": "tasks",
    "curriculums": "curriculum",
    "labels": "label",
    "negatives": "negatives",
}


def _check_served(backend: Any, settings: SynthConfig) -> None:
    """Fail before any work when the backend says it cannot serve a requested stage."""
    cannot = getattr(backend, "cannot_serve", None)
    if cannot is None:
        return
    for name in settings.ordered_stages:
        reason = cannot(REQUEST_STAGE[name]) if name in REQUEST_STAGE else None
        if reason:
            raise TeamformError(reason)


def write_manifest(ctx: StageContext, key: str, complete: bool, stopped: str | None = None) -> dict[str, Any]:
    """Write ``manifest.json`` (last): counts, calls, cache hits, tokens, cost, versions."""
    stages = {}
    for name in STAGE_ORDER:
        record = load_record(ctx, name)
        if record is not None:
            stages[name] = record
    done = [n for n, r in stages.items() if r.get("complete")]
    backend = ctx.client.backend
    totals = {f: round(sum(r.get(f, 0) for r in stages.values()), 6) for f in USAGE_FIELDS}
    manifest = {
        "backend": backend.name,
        "model": backend.model,
        "dataset": ctx.dataset.name,
        "dataset_hash": ctx.dataset.hash,
        "key": key,
        "prompt_versions": prompt_versions(),
        "settings": ctx.settings.key_fields(),
        "stages_requested": ctx.settings.ordered_stages,
        "stages_done": done,
        "stages": stages,
        "counts": {n: r.get("count", 0) for n, r in stages.items()},
        "dropped_leakage": stages.get("tasks", {}).get("dropped_leakage", 0),
        "calls": totals["calls"],
        "cache_hits": totals["cache_hits"],
        "tokens": totals["prompt_tokens"] + totals["completion_tokens"],
        "prompt_tokens": totals["prompt_tokens"],
        "completion_tokens": totals["completion_tokens"],
        "cost_usd": totals["cost_usd"],
        "last_run": ctx.client.usage.as_dict(),
        "notes": ctx.notes,
        "complete": complete,
        "stopped": stopped,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(ctx.directory / "manifest.json", manifest)
    return manifest


def synthesise(
    dataset: Dataset,
    client: LLMClient,
    settings: SynthConfig,
    cache_dir: str | Path,
    encoder: Callable[[], Any] | None = None,
    encoder_id: str = "tfidf",
) -> Path:
    """Run the selected stages into the artifact directory and return it.

    Args:
        dataset: the dataset to synthesise for.
        client: the LLM client over the configured backend.
        settings: the synth settings.
        cache_dir: the root of caches; the artifact is ``{cache_dir}/synth/{key}``.
        encoder: builds the base encoder for the label pool (``None``: TF-IDF).
        encoder_id: identifies that encoder in the key (``tfidf`` when there is none).

    Raises:
        SynthIncomplete: the budget ran out or a stage could not be served; the message says
            why, and the directory holds a valid partial artifact (``complete: false``).
    """
    backend = client.backend
    if settings.label_pool_encoder == "tfidf" or encoder is None:
        encoder, encoder_id = None, "tfidf"
    key = artifact_key(dataset, backend.name, backend.model, settings, encoder_id)
    directory = Path(cache_dir) / "synth" / key
    if _is_finished(directory, settings.ordered_stages):
        return directory
    with cache_lock(directory):  # jobs running at once: one fills it, the others reuse it
        if _is_finished(directory, settings.ordered_stages):
            return directory
        _check_served(backend, settings)
        directory.mkdir(parents=True, exist_ok=True)
        ctx = StageContext(
            dataset,
            client,
            settings,
            directory,
            encoder=encoder,
            eureka_served=getattr(backend, "serves_eureka", backend.name != "simulated"),
        )
        for name in settings.ordered_stages:
            done = load_done(ctx, name)
            if done is not None and getattr(STAGES[name], "is_current", lambda c, d: True)(ctx, done):
                continue
            try:
                _run_stage(ctx, name)
            except BudgetExceeded as error:
                write_manifest(ctx, key, complete=False, stopped=f"budget: {error}")
                raise SynthIncomplete(
                    f"{error}. The partial artifact in {directory} is valid (manifest complete: false); "
                    "run the same command with a larger budget to finish it"
                ) from None
            except TeamformError as error:
                write_manifest(ctx, key, complete=False, stopped=str(error))
                raise
        write_manifest(ctx, key, complete=True)
        return directory
