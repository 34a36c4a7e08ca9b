"""`teamform grid` end to end on a tiny profile, through the submitit local launcher.

One job is broken on purpose (an experiment naming an unknown encoder): the others finish and
the report lists the failure. The report's numbers are the ones in `results.jsonl`; every job
has its own W&B offline run with `eval/...` keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TINY = [
    "scale.employees=30",
    "scale.eval_tasks=6",
    "scale.train_tasks=12",
    "scale.judged_pairs=40",
    "train.max_steps=2",
    "train.batch_size=4",
    "synth.n_labels=20",
    "synth.n_brainstorms=1",
]

BROKEN = """# @package _global_
job:
  kind: eval
eval:
  encoders: [no_such_encoder]
study:
  label: broken
  tables: {rq1: ["*"]}
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    tmp = tmp_path_factory.mktemp("grid")
    extra = tmp / "conf" / "experiment"
    extra.mkdir(parents=True)
    (extra / "broken.yaml").write_text(BROKEN)
    env = {
        **os.environ,
        "TEAMFORM_OUTPUTS": str(tmp / "out"),
        "TEAMFORM_CACHE": str(tmp / "cache"),
        "WANDB_MODE": "offline",
    }
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "grid",
            "profile=quick",
            "logger=wandb",
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=20",
            f"hydra.searchpath=[file://{tmp / 'conf'}]",
            "experiment=baselines,ft_full,broken,pooling",
            *TINY,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Path(proc.stdout.strip().splitlines()[-1]), proc


@pytest.mark.slow
def test_grid_writes_its_directory_and_lists_the_failed_job(grid) -> None:
    grid_dir, _ = grid
    for name in ("grid.json", "results.jsonl", "REPORT.md", "results.csv"):
        assert (grid_dir / name).exists(), name
    jobs = {j["experiment"]: j for j in json.loads((grid_dir / "grid.json").read_text())["jobs"]}
    assert jobs["baselines"]["status"] == "ok" and jobs["ft_full"]["status"] == "ok"
    assert jobs["broken"]["status"] == "failed" and "no_such_encoder" in jobs["broken"]["reason"]
    report = (grid_dir / "REPORT.md").read_text()
    assert "## Failed and skipped jobs" in report and "| broken | failed |" in report
    assert "## RQ1" in report and "## RQ3" in report
    teams = report.split("## Teams: staffing the evaluation projects")[1].split("\n## ")[0]
    assert "in blocks of 4 in task order" in teams  # the demo's projects have one evaluation task each
    assert "| `minilm+lora-global-full/condorcet` |" in teams and "(ref.)" in teams


@pytest.mark.slow
def test_report_declares_its_reference_and_lists_every_table1_preset(grid) -> None:
    """The reference is the declared one; every model= preset is scored or listed, none downloaded."""
    from bench.app.groups import CONF_DIR

    grid_dir, _ = grid
    report = (grid_dir / "REPORT.md").read_text()
    assert "Reference (report.reference, declared before the grid ran): `minilm/concat`." in report
    assert "dev: 0 tasks, test: 6 tasks" in report
    rq1 = report.split("## RQ1")[1].split("\n## ")[0]
    assert "| baseline: minilm/concat (ref.) |" in rq1
    block = rq1.split("Encoders of paper Table 1")[1]
    for preset in sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml")):
        line = next(row for row in block.splitlines() if f"`model={preset}`" in row)
        status = "scored" if preset == "minilm" else "not scored"
        assert f"| {status} |" in line, line
        if preset != "minilm":
            assert "listed, not evaluated in profile=quick (nothing is downloaded)" in line
    for lexical in ("bm25", "tfidf"):
        assert f"| {lexical} | – | scored |" in block
    assert "| openai-small | – | not scored |" in block and "OPENAI_API_KEY" in block


@pytest.mark.slow
def test_offline_runs_record_data_to_adapter_to_evaluation(grid, run_teamform) -> None:
    """The train run logs the adapter set it trained as an artifact (offline: in its .wandb file);
    what `teamform sync` declares once online: the train run used the synthetic data and the
    fine-tuned eval run uses both (offline, wandb cannot record a use)."""
    from bench.run.lineage import declarations
    from tests.wandb_records import runs_under

    grid_dir, _ = grid
    edges = declarations(grid_dir)
    results = json.loads((grid_dir / "1" / "results.json").read_text())
    key = results["extras"]["adapter_set"]
    adapters = f"adapters-{key}"
    (logged,) = [
        a for r in runs_under(grid_dir) if r.job_type == "train" for a in r.artifacts if a["name"] == adapters
    ]
    assert logged["type"] == "adapter-set" and logged["metadata"] == {"digest": key}  # its content key
    assert logged["refs"] and all(ref.startswith("file://") for ref in logged["refs"])  # a reference
    assert not any(e.verb == "log" and e.ref["name"] == adapters for e in edges)  # not declared twice
    uses = {e.ref["name"] for e in edges if e.verb == "use"}
    assert adapters in uses and any(name.startswith("synth-") for name in uses)
    proc = run_teamform("sync", str(grid_dir), "--dry-run", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"would use adapter-set {adapters}" in proc.stdout and proc.stdout.strip().splitlines()[-1] == str(
        grid_dir
    )


@pytest.mark.slow
def test_embedding_picture_is_umap_of_queries_and_employees(grid) -> None:
    grid_dir, _ = grid
    embedding = json.loads((grid_dir / "1" / "results.json").read_text())["extras"]["embedding"]
    assert embedding["method"] == "UMAP"
    assert embedding["kinds"].count("query") == 6 and embedding["kinds"].count("employee") == 30
    assert len(embedding["before"]) == len(embedding["after"]) == 36
    assert set(embedding["separation"]) == {"before", "after"}
    report = (grid_dir / "REPORT.md").read_text()
    rq7 = report.split("## RQ7")[1].split("\n## ")[0]
    assert "UMAP of the test-task queries" in rq7 and "judged relevant pairs minus" in rq7
    assert (grid_dir / "plots" / "embedding_space.png").exists()


@pytest.mark.slow
def test_pooling_experiment_compares_ata_with_the_own_pooling(grid) -> None:
    grid_dir, _ = grid
    report = (grid_dir / "REPORT.md").read_text()
    pooling = report.split("## Pooling")[1].split("\n## ")[0]
    for row in (
        "own pooling, zero-shot: minilm/concat",
        "own pooling: minilm+lora-global-full/condorcet",
        "pooling: minilm[ata]/concat",
        "pooling: minilm[ata]+lora-global-full/condorcet",
    ):
        assert f"| {row} " in pooling, row
    assert "Not run here: last-token pooling is for decoders" in pooling
    jobs = {j["experiment"]: j for j in json.loads((grid_dir / "grid.json").read_text())["jobs"]}
    results = json.loads((grid_dir / jobs["pooling"]["dir"] / "results.json").read_text())
    ata_set = results["extras"]["pooling_adapters"]["ata"]
    mean_set = json.loads((grid_dir / "1" / "results.json").read_text())["extras"]["adapter_set"]
    assert ata_set != mean_set  # its own adapter: the cache key holds the pooling


@pytest.mark.slow
def test_report_numbers_match_results_jsonl(grid) -> None:
    grid_dir, _ = grid
    means = {}
    for line in (grid_dir / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        means[row["system"]] = row["mean"]
    report = (grid_dir / "REPORT.md").read_text()
    rq1 = report.split("## RQ1")[1].split("\n## ")[0]
    checked = 0
    for line in rq1.splitlines():
        match = re.match(r"\| (?:[^|:]+: )?(\S+?)(?: \(ref\.\))? \| (.+)", line)
        if not match or match.group(1) not in means:
            continue
        cells = [c.strip().strip("*†‡") for c in match.group(2).split("|")]
        for metric, cell in zip(("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc"), cells, strict=False):
            assert float(cell) == pytest.approx(means[match.group(1)][metric], abs=5e-4), (
                match.group(1),
                metric,
            )
            checked += 1
    assert checked >= 6 * 4


@pytest.mark.slow
def test_wandb_runs_share_columns_curves_inputs_and_the_report(grid) -> None:
    """The runs of one grid: comparable eval runs, a train run per adapter, a report run, no text."""
    from tests.wandb_records import runs_under

    grid_dir, _ = grid
    runs = runs_under(grid_dir)
    assert runs and {r.group for r in runs} == {grid_dir.name}  # every run under and of this grid
    evals = {r.config["encoder"]: r for r in runs if r.job_type in ("eval", "train_eval", "pooling")}
    base, tuned = evals["minilm"], evals["minilm+lora-global-full"]
    for run in (base, tuned):  # one key, the same column in the base and the fine-tuned run
        assert isinstance(run.summary["condorcet/ndcg@5"], float)
    assert base.name == "baselines:minilm" and tuned.name == "ft_full:minilm+lora-global-full"
    assert tuned.config["mix"] == "full" and tuned.config["lora_r"] == 16 and base.config["mix"] is None
    kinds = [i["type"] for i in tuned.config["inputs"]]
    assert kinds == ["synthetic-data", "adapter-set"] and all(i["digest"] for i in tuned.config["inputs"])
    # a training run per adapter trained in this grid, one loss point per optimiser step
    trains = [r for r in runs if r.job_type == "train"]
    adapter = tuned.config["inputs"][1]["name"]
    (train,) = [r for r in trains if r.name.startswith(f"train:{adapter}:")]
    losses = [row["train/loss"] for row in train.history if "train/loss" in row]
    assert len(losses) == 2  # train.max_steps=2 in TINY
    assert all("train/lr" in row and "train/grad_norm" in row for row in train.history if "train/loss" in row)
    assert train.config["outputs"][0]["name"] == adapter
    # the report run: the report's tables, its plots, REPORT.md
    (report,) = [r for r in runs if r.job_type == "report"]
    assert any(k.startswith("report/rq1") for row in report.history for k in row)
    assert any(k.startswith("plots/") for row in report.history for k in row)
    assert "REPORT.md" in report.files
    from omegaconf import OmegaConf

    from bench.data import load_dataset

    dataset = load_dataset(OmegaConf.load(grid_dir / "0" / "config.yaml").data)
    texts = [t.encode() for e in dataset.employees[:20] for t in e.aspects.values() if len(t) > 40]
    for run in runs:  # ids and numbers only: no employee text in any W&B file
        assert not any(text in run.raw for text in texts), run.name


@pytest.mark.slow
def test_a_repeated_grid_reuses_the_cache(grid, tmp_path: Path) -> None:
    grid_dir, first = grid
    results = json.loads((grid_dir / "1" / "results.json").read_text())
    assert results["extras"]["adapter_set"]
    # the adapter set of ft_full was trained in this grid; a second grid reuses it
    env = {
        **os.environ,
        "TEAMFORM_OUTPUTS": str(tmp_path / "out"),
        "TEAMFORM_CACHE": str(grid_dir.parents[2] / "cache"),
    }
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli",
            "grid",
            "profile=quick",
            "logger=none",
            "experiment=ft_full",
            *TINY,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = Path(proc.stdout.strip().splitlines()[-1])
    second = json.loads((again / "0" / "results.json").read_text())
    assert second["extras"]["adapter_reused"] is True
    assert second["extras"]["adapter_set"] == results["extras"]["adapter_set"]
    assert (
        second["systems"]["minilm+lora-global-full/condorcet"]["mean"]
        == results["systems"]["minilm+lora-global-full/condorcet"]["mean"]
    )
