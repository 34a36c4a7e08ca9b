"""The ``teamform`` console script: one sub-command per job, each a Hydra app.

``teamform <command> [hydra overrides]``. Every command composes ``conf/config.yaml`` with the
overrides, runs its ``run(cfg)`` function, and prints the directory it wrote as its last line.
User errors (:class:`bench.core.errors.TeamformError`) end with one ``error: ...`` line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

from bench.app.command import fail
from bench.app.groups import config_groups
from bench.core.errors import TeamformError

# The one mapping of command names to the modules that implement them.
COMMANDS: dict[str, tuple[str, str]] = {
    "grid": ("bench.commands.grid", "the full ablation grid (multirun), then REPORT.md"),
    "synth": ("bench.commands.synth", "synthetic training data with the configured LLM backend"),
    "train": ("bench.commands.train", "train one adapter set (LoRA, Lightning)"),
    "eval": ("bench.commands.eval", "evaluate baselines / trained systems with every aggregator"),
    "report": ("bench.commands.report", "render REPORT.md of a finished run or grid directory"),
    "compare": ("bench.commands.compare", "one COMPARE.md across run and grid directories and datasets"),
    "sync": ("bench.commands.sync", "upload a grid's offline W&B runs and declare their artifact lineage"),
    "data": ("bench.commands.data", "validate | stats | export a dataset"),
    "team": ("bench.commands.team", "rank employees for a project's tasks and propose a team"),
    "export": ("bench.commands.export", "export an adapter set or a grid's system for sentence-transformers"),
    "label": ("bench.commands.label", "serve | stats: the label studio that builds an evaluation set"),
}


def usage() -> str:
    lines = ["usage: teamform <command> [key=value ...] [group=option ...]", "", "commands:"]
    lines += [f"  {name:<8} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "config groups (pick one with group=option):"]
    lines += [f"  {g:<11} {', '.join(opts)}" for g, opts in config_groups().items()]
    lines += [
        "",
        "defaults: data=demo model=minilm llm=simulated logger=wandb (offline)",
        "`teamform <command> --help` shows the composed config; `--cfg job` prints it.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        sys.exit(2)
    module = importlib.import_module(COMMANDS[name][0])
    try:
        module.main(rest)
    except TeamformError as error:
        fail(error)


if __name__ == "__main__":
    main()
