"""``teamform synth``: synthetic training data for a dataset with the configured LLM backend.

Runs ``synth.stages`` (default: all) with ``llm=...`` (default ``simulated``) into the
content-addressed directory ``{paths.cache_dir}/synth/{key}/`` (``docs/synthetic-data.md``),
prints a table of counts and calls per stage, and the artifact directory as the last line.
"""

from __future__ import annotations

import time

from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.data import load_dataset
from bench.run.preflight import check_synthesis
from bench.run.synthesis import build_client, ensure_artifact
from data_synth.artifact import load_artifact

COLUMNS = ("count", "calls", "cache_hits", "tokens", "cost_usd", "seconds")


def print_table(manifest: dict) -> None:
    """Counts, calls, cache hits, tokens and dollars per stage (numbers only, no text)."""
    print(
        f"backend {manifest['backend']}  model {manifest['model']}  dataset {manifest['dataset']} "
        f"({manifest['dataset_hash']})"
    )
    print("stage counts as recorded when each stage finished:")
    print(f"{'stage':<12}" + "".join(f"{c:>12}" for c in COLUMNS) + "  note")
    for name, record in manifest["stages"].items():
        tokens = record.get("prompt_tokens", 0) + record.get("completion_tokens", 0)
        values = [
            record.get("count", 0),
            record.get("calls", 0),
            record.get("cache_hits", 0),
            tokens,
            f"{record.get('cost_usd', 0):.4f}",
            record.get("seconds", "-"),
        ]
        note = (
            record.get("reason", "")
            if record.get("skipped")
            else ("" if record.get("complete") else "unfinished")
        )
        if name == "tasks":
            note = f"dropped_leakage={record.get('dropped_leakage', 0)}"
        print(f"{name:<12}" + "".join(f"{v:>12}" for v in values) + (f"  {note}" if note else ""))
    print(
        f"{'total':<12}{'':>12}{manifest['calls']:>12}{manifest['cache_hits']:>12}{manifest['tokens']:>12}"
        f"{manifest['cost_usd']:>12.4f}  complete={manifest['complete']}"
    )


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """Synthesise (or reuse) the artifact of ``cfg``.

    Returns:
        ``(manifest, {"dir": artifact directory, "seconds": wall-clock})``.
    """
    start = time.perf_counter()
    dataset = load_dataset(cfg.data)
    check_synthesis(cfg, dataset)
    with build_client(cfg.llm, dataset) as client:
        directory = ensure_artifact(cfg, dataset=dataset, client=client)
    seconds = time.perf_counter() - start
    manifest = load_artifact(directory).manifest
    print_table(manifest)
    usage = client.usage
    print(
        f"this run: {usage.calls} new call(s), {usage.cache_hits} cache hit(s), ${usage.cost_usd:.4f}, "
        f"wall-clock {seconds:.1f} s"
    )
    print(directory)
    return manifest, {"dir": directory, "seconds": seconds, "usage": usage.as_dict()}


def main(argv: list[str]) -> None:
    hydra_command("synth", run, argv)
