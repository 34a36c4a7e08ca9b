"""``teamform train``: train (or reuse, or resume) one adapter set with the configured settings.

Reads the synthetic-data artifact of ``train.synth_dir``, or the one ``teamform synth`` makes
for this config (``data``, ``llm``, ``synth``), trains with ``train=...`` on the ``model=`` preset
and prints the adapter set's directory as the last line. Running the same command after an
interruption resumes from the last checkpoint; after a finished run it reuses the set.
"""

from __future__ import annotations

import yaml
from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.io import atomic_write_text, write_json
from bench.core.redact import plain_config
from bench.core.runstore import run_dir
from bench.data import load_dataset
from bench.run.preflight import check_job
from bench.run.recipe import Job, eval_settings


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """Train the adapter set of ``cfg``.

    Returns:
        ``(metadata, {"adapters": AdapterSet, "dir": its directory})``.
    """
    out = run_dir()
    dataset = load_dataset(cfg.data)
    check_job(cfg, dataset, kind="train_eval")
    job = Job(cfg, out, dataset, "train", eval_settings(cfg))
    adapters = job.train(job.synthesise()).adapters  # synth_dir or the cached artifact, leakage-guarded
    meta = adapters.metadata
    print(
        f"adapter set {adapters.dir.name}: mode={adapters.mode} {'reused' if adapters.reused else 'trained'}"
    )
    for name, info in meta["adapters"].items():
        dev = info["dev_metrics"][-1] if info.get("dev_metrics") else {}
        shown = " ".join(f"dev/{k}={v:.4f}" for k, v in dev.items() if k != "epoch")
        print(
            f"  {name:<14} steps={info['steps']:<6} "
            f"pairs={sum(v for k, v in info['pairs'].items() if k.endswith('_pairs'))} {shown}"
        )
    atomic_write_text(out / "config.yaml", yaml.safe_dump(plain_config(cfg), sort_keys=False))
    write_json(out / "adapters.json", {"dir": str(adapters.dir), "key": adapters.dir.name})
    print(adapters.dir)
    return meta, {"adapters": adapters, "dir": adapters.dir}


def main(argv: list[str]) -> None:
    hydra_command("train", run, argv)
