"""``teamform team``: rank employees for the tasks of a project, assemble a team, explain each pick.

``teamform team data=custom data.root=DIR team.project=FILE [team.system=ENCODER/VIEW |
team.from_grid=GRID] [team.per_task=1 team.max_tasks_per_person=1 team.exclude=[...]
team.require=[...] team.solver=exact|greedy]``. Works on data without labels. Writes
``team.json`` and ``TEAM.md`` (and ``tasks.json`` for a plain-text project) in the run
directory, printed as the last line.
"""

from __future__ import annotations

from omegaconf import DictConfig

from bench.app.command import hydra_command
from bench.core.runstore import run_dir
from bench.data import load_dataset
from bench.run.team import run_team


def run(cfg: DictConfig) -> tuple[dict, dict]:
    """Propose the team of ``team.project``; returns ``(team.json, {"dir": run dir})``."""
    out = run_dir()
    dataset = load_dataset(cfg.data)
    team = run_team(cfg, dataset, out)
    for task in team["tasks"]:
        picks = ", ".join(f"{a['employee_id']} ({a['fused_score']:.3f})" for a in task["assigned"])
        print(f"{task['task']}: {picks}")
    print(f"objective {team['objective']:.4f} ({team['solver']}, {team['system']})")
    print(out)
    return team, {"dir": out}


def main(argv: list[str]) -> None:
    hydra_command("team", run, argv)
