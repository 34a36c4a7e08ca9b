"""``teamform eval``: evaluate baselines and trained systems; write ``results.json`` and run files.

Systems are ``{encoder}/{view}`` for the encoders of ``eval.encoders`` (``bm25``, ``tfidf``,
``openai-small``, ``openai-large``, ``base`` = the ``model=`` preset) plus, with
``eval.adapter_set=DIR`` (a ``teamform train`` output), the adapter set. ``model.adapter=DIR``
puts one PEFT adapter on the base model instead. ``eval.systems`` keeps only the systems whose
names match one of its glob patterns (``"*/condorcet"``).
"""

from __future__ import annotations

from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.runstore import run_dir
from bench.run.kinds import evaluate_encoders
from bench.run.recipe import run_job


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """Evaluate ``cfg.eval.encoders`` on ``cfg.data``; returns ``(results, {"dir": run dir})``."""
    out = run_dir()
    results = run_job(cfg, out, evaluate_encoders, job_type="eval")
    print(out)
    return results, {"dir": out}


def main(argv: list[str]) -> None:
    hydra_command("eval", run, argv)
