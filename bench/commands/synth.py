"""``teamform synth``: synthetic training data for a dataset with the configured LLM backend.

Runs ``synth.stages`` (default: all) with ``llm=...`` (default ``simulated``) into the
content-addressed directory ``{paths.cache_dir}/synth/{key}/`` (``docs/synthetic-data.md``),
prints a table of counts and calls per stage, and the artifact directory as the last line.

``synth.dry_run=true`` prints instead what the run would cost (:mod:`data_synth.estimate`: calls,
estimated tokens and dollars per stage, and the total) and stops before any client, encoder or
cache folder is made: no LLM is called, no model is loaded, no key is needed.
"""

from __future__ import annotations

import math
import time

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from bench.app.command import hydra_command
from bench.core.dataset import Dataset
from bench.data import load_dataset
from bench.run.preflight import check_synthesis, llm_problem
from bench.run.synthesis import build_client, ensure_artifact
from data_synth.artifact import load_artifact
from data_synth.estimate import (
    REQUESTED_NOTE,
    TOKEN_RULE,
    Price,
    StageEstimate,
    estimate_synthesis,
    free_reason,
    price_for,
)

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
    if OmegaConf.select(cfg, "synth.dry_run", default=False):
        return dry_run(cfg, dataset), {}
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


def dry_run(cfg: DictConfig, dataset: Dataset) -> dict:
    """Print each stage's calls, tokens and dollars, and the total; call and write nothing.

    Returns:
        ``{"stages": {name: {calls, input_tokens, output_tokens, cost_usd}}, "total": {...}}``
        (``cost_usd`` is ``None`` when the model has no price).
    """
    backend = str(OmegaConf.select(cfg, "llm.backend._target_", default="") or "").rsplit(".", 1)[-1]
    free = free_reason(backend, OmegaConf.select(cfg, "llm.backend.base_url", default=None))
    model = OmegaConf.select(cfg, "llm.backend.model", default=None)
    price = price_for(OmegaConf.to_container(cfg.llm.prices), model, free)
    settings = instantiate(cfg.synth, _convert_="all")
    plan = estimate_synthesis(dataset, settings, eureka_served=backend != "SimulatedBackend")
    print(f"dry run: backend {backend}  model {price.model}  dataset {dataset.name} ({dataset.hash})")
    print(price.note)
    print(TOKEN_RULE)
    total = print_estimate(plan, price)
    if any(e.stage != "projects" for e in plan):
        print(REQUESTED_NOTE)
    budget = OmegaConf.select(cfg, "llm.budget_usd", default=None)
    if budget is not None and total["cost_usd"] is not None and total["cost_usd"] > float(budget):
        print(
            f"budget: llm.budget_usd={budget} stops the run before the end (resumable); to finish it, "
            f"raise it, e.g. llm.budget_usd={math.ceil(total['cost_usd'])}"
        )
    problem = llm_problem(cfg, dataset)
    if problem:
        print(f"before a real run: {problem}")
    print("dry run: no LLM was called, no model loaded, nothing written to paths.cache_dir")
    stages = {e.stage: {**_numbers(e), "cost_usd": price.cost_usd(e)} for e in plan}
    return {"dry_run": True, "model": price.model, "stages": stages, "total": total}


def _numbers(estimate: StageEstimate) -> dict[str, int]:
    return {k: getattr(estimate, k) for k in ("calls", "input_tokens", "output_tokens")}


def _dollars(cost: float | None) -> str:
    return "?" if cost is None else f"${cost:.4f}"


def print_estimate(plan: list[StageEstimate], price: Price) -> dict:
    """The table of :func:`dry_run` (numbers only, no dataset text); returns the total row."""
    header = ("calls", "in tokens", "out tokens (max)", "cost (max)")
    print(f"{'stage':<12}" + "".join(f"{h:>17}" for h in header) + "  calls counted as")
    for e in plan:
        values = [e.calls, e.input_tokens, e.output_tokens, _dollars(price.cost_usd(e))]
        note = f"skipped: {e.skipped}" if e.skipped else e.basis
        print(f"{e.stage:<12}" + "".join(f"{v:>17}" for v in values) + f"  {note}")
    total: dict = {k: sum(getattr(e, k) for e in plan) for k in ("calls", "input_tokens", "output_tokens")}
    total["cost_usd"] = sum(price.cost_usd(e) for e in plan) if price.known else None
    values = [total["calls"], total["input_tokens"], total["output_tokens"], _dollars(total["cost_usd"])]
    print(f"{'total':<12}" + "".join(f"{v:>17}" for v in values))
    return total


def main(argv: list[str]) -> None:
    hydra_command("synth", run, argv)
