"""``teamform label serve|stats``: the label studio that builds a company's own evaluation set.

``teamform label serve data=... [label.annotator=NAME]`` samples task-employee pairs (half from
the top-k of ``label.system``, the rest uniformly, as the paper's annotation application did)
and serves the annotate page and the team builder on 127.0.0.1; its first ``http://`` line is
the URL with the access token. The output directory (the run directory, or ``label.out``) is a
complete ``data=custom`` dataset (``labels.csv``) with every event in ``annotations.jsonl``; a
restart on the same ``label.out`` resumes. ``teamform label stats DIR`` prints counts per
annotator and label, Cohen's kappa on shared pairs, and the ``llm=`` labelling prompt's
accuracy, precision, recall and F1 against the humans.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.errors import TeamformError
from bench.core.runstore import run_dir
from bench.data import load_dataset
from bench.data.custom import load_custom
from bench.run.label_services import labeller, proposer, ranker, splitter
from bench.studio.server import serve
from bench.studio.services import StudioServices
from bench.studio.stats import label_stats, render_stats

ACTIONS = ("serve", "stats")


def run_serve(cfg: DictConfig) -> tuple[dict, dict]:
    """Serve the studio on ``cfg.data`` until Ctrl-C / SIGTERM; the output directory is printed last."""
    dataset = load_dataset(cfg.data)
    settings = instantiate(cfg.label)
    out = Path(cfg.label.out) if cfg.label.out else run_dir()
    services = StudioServices(
        rank_top_k=ranker(cfg, dataset),
        propose_team=proposer(cfg, dataset),
        split_project=splitter(cfg, dataset),
    )
    serve(dataset, out, settings, services)
    return {}, {"dir": out}


def run_stats(cfg: DictConfig, directory: Path) -> tuple[dict, dict]:
    """Agreement and the synthetic labeller against the humans for a studio output directory."""
    dataset = load_custom(directory)
    try:
        stats = label_stats(directory, labeller(cfg, dataset))
    except TeamformError as error:  # e.g. llm=simulated on data without hidden truth: humans only
        print(f"synthetic labeller not scored: {error}")
        stats = label_stats(directory, None)
    print(render_stats(stats))
    print(directory)
    return stats, {"dir": directory}


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ACTIONS:
        print(
            "usage: teamform label serve [overrides] | teamform label stats DIR [overrides]", file=sys.stderr
        )
        sys.exit(2)
    if argv[0] == "serve":
        hydra_command("label", run_serve, argv[1:])
        return
    if len(argv) < 2 or "=" in argv[1]:
        print("usage: teamform label stats DIR [overrides]", file=sys.stderr)
        sys.exit(2)
    directory = Path(argv[1])
    hydra_command("label", lambda cfg: run_stats(cfg, directory), argv[2:])
