"""``teamform sync DIR``: upload a grid's offline W&B runs, then add their lineage edges online.

``wandb sync`` uploads every offline run under DIR; then each run is resumed and declares the
artifacts it read and wrote (``lineage.json``: synthetic data -> adapter set -> evaluation), as
references (digest and local path; nothing is uploaded unless ``--upload-artifacts``, and
synthetic data never is). ``--dry-run`` lists the edges and touches nothing. Needs
``WANDB_API_KEY`` (from the environment only) and the network; prints DIR last.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.run.lineage import sync


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="teamform sync",
        description=(
            "Upload the offline W&B runs under a grid or run directory (wandb sync), then declare "
            "their artifact lineage online (synthetic data -> adapter set -> evaluation), which "
            "wandb cannot record offline. Needs WANDB_API_KEY in the environment and the network."
        ),
    )
    parser.add_argument(
        "directory", type=Path, help="a directory written by `teamform grid` or `teamform eval`"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the runs and lineage edges; upload nothing"
    )
    parser.add_argument(
        "--upload-artifacts",
        action="store_true",
        help="upload adapter sets' files instead of referencing them (synthetic data is never uploaded)",
    )
    args = parser.parse_args(argv)
    for line in sync(args.directory, upload=args.upload_artifacts, dry_run=args.dry_run):
        print(line, flush=True)
    print(args.directory)
