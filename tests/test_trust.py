"""Numbers a reviewer can trust: declared choices, the paper's tables in their shape, paper sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bench.app.groups import CONF_DIR
from bench.data import load_dataset
from bench.run.preflight import eureka_problem
from bench.run.recipe import Job, eval_settings
from bench.run.synthesis import build_client, ensure_artifact
from data_synth.artifact import load_artifact
from data_synth.stages.eureka import NO_DEV_REASON

PRESETS = sorted(p.stem for p in (CONF_DIR / "model").glob("*.yaml"))


def test_baselines_compose_every_model_preset_and_only_paper_loads_them(compose_config) -> None:
    for profile, evaluate in (("quick", False), ("default", False), ("paper", True)):
        cfg = compose_config("experiment=baselines", f"profile={profile}")
        assert sorted(cfg.table1.presets) == PRESETS
        assert cfg.table1.evaluate is evaluate, profile
        assert cfg.table1.presets.stella_en_400m_v5.name_or_path == "NovaSearch/stella_en_400M_v5"


def test_the_reference_is_declared_per_profile_before_anything_runs(compose_config) -> None:
    assert compose_config("profile=default").report.reference == "minilm/concat"
    assert compose_config("profile=paper").report.reference == "stella/concat"


def test_paper_profile_has_the_papers_sizes(compose_config) -> None:
    cfg = compose_config("profile=paper")
    tasks = cfg.synth.n_brainstorms * cfg.synth.projects_per_brainstorm * cfg.synth.tasks_per_project
    assert tasks == 32_000 and cfg.synth.n_curriculums is None and cfg.synth.n_labels == 30_000
    assert cfg.model.name == "stella" and cfg.train.batch_size == 24 and cfg.scale.employees == 835
    assert cfg.eval.dev_split.fraction == pytest.approx(0.3)
    assert cfg.synth.dev_split.fraction == cfg.eval.dev_split.fraction  # one key for both


def test_eureka_needs_dev_tasks_with_a_real_llm(compose_config) -> None:
    cfg = compose_config("llm=openai", "experiment=eureka")
    assert eureka_problem(cfg) == NO_DEV_REASON
    assert (
        eureka_problem(compose_config("llm=openai", "experiment=eureka", "eval.dev_split.fraction=0.3"))
        is None
    )


def test_negative_levels_fall_from_hardest_to_easiest(compose_config, tmp_path: Path) -> None:
    """Negative Matters (2025), Table 4 on the default demo (64 synthetic tasks; the quick profile's 6
    are too few to order four levels): the base encoder finds each level closer than the next."""
    from bench.run.kinds import negative_levels

    cfg = compose_config("profile=default", f"paths.cache_dir={tmp_path}", f"paths.output_dir={tmp_path}")
    dataset = load_dataset(cfg.data)
    with build_client(cfg.llm, dataset) as client:
        artifact = load_artifact(ensure_artifact(cfg, dataset=dataset, client=client))
    job = Job(cfg, tmp_path, dataset, "train_eval", eval_settings(cfg))
    rows = negative_levels(job, artifact)
    assert [r["level"] for r in rows] == ["positive", 4, 3, 2, 1]
    cosines = [r["mean_cosine"] for r in rows]
    assert cosines == sorted(cosines, reverse=True), cosines
    assert all(r["n"] == rows[0]["n"] > 0 for r in rows)
    assert OmegaConf.select(compose_config("experiment=negatives_curriculum"), "job.negative_levels") is True


def test_specialised_adapters_train_on_the_labels_data_in_the_paper_profile(
    compose_config, run_teamform, tmp_path: Path
) -> None:
    """Thesis Table 5.3 compares on the labels data: profile=paper adds it; elsewhere REPORT.md says so."""
    from tests.cli_helpers import SMALL_DEMO, last_line, make_tiny_bert, tiny_model_args

    assert list(compose_config("experiment=specialised", "profile=paper").job.mixes) == ["full", "labels"]
    assert list(compose_config("experiment=specialised", "profile=default").job.mixes) == ["full"]
    bert = make_tiny_bert(tmp_path / "bert")
    common = [
        "grid",
        "profile=quick",
        "experiment=specialised",
        "logger=none",
        *SMALL_DEMO,
        *tiny_model_args(bert),
    ]
    both = run_teamform(*common, "specialised_mixes=[full,labels]", "train.max_steps=1", timeout=1200)
    assert both.returncode == 0, both.stderr[-3000:]
    rq5 = (last_line(both) / "REPORT.md").read_text().split("## RQ5")[1].split("\n## ")[0]
    for mix in ("full", "labels"):
        assert f"tinybert+lora-specialised-{mix}/condorcet" in rq5
    assert "Not run here" not in rq5
    one = run_teamform(*common, "train.max_steps=1", timeout=1200)
    assert one.returncode == 0, one.stderr[-3000:]
    rq5 = (last_line(one) / "REPORT.md").read_text().split("## RQ5")[1].split("\n## ")[0]
    assert "Not run here: the specialised adapters on the labels data" in rq5 and "profile=paper" in rq5


def test_embedding_separation_falls_back_to_unjudged_pairs_when_nothing_is_judged_non_relevant() -> None:
    import numpy as np

    from bench.core.dataset import Dataset, Employee, Task
    from bench.run.kinds import judged_grades, separation_of
    from reports.render import embedding_caption

    employees = [Employee(e, {"role": e}) for e in ("a", "b", "c")]
    tasks = [Task("t1", "p", "q1"), Task("t2", "p", "q2")]
    positives_only = Dataset("x", employees, tasks, {"t1": {"a": 1}, "t2": {"b": 2}}, aspects=["role"])
    grades = judged_grades(positives_only, ["t1", "t2"])
    assert grades.tolist() == [[1, -1, -1], [-1, 1, -1]]
    queries = np.array([[1.0, 0.0], [0.0, 1.0]])
    docs = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])  # a = t1, b = t2, c between them
    cos = np.sqrt(0.5)
    assert separation_of(queries, docs, grades) == round(1.0 - (0 + cos + 0 + cos) / 4, 4)
    judged = judged_grades(
        Dataset("y", employees, tasks, {"t1": {"a": 1, "c": 0}, "t2": {"b": 1}}, aspects=["role"]),
        ["t1", "t2"],
    )
    assert separation_of(queries, docs, judged) == round(1.0 - cos, 4)  # only the judged 0 counts
    assert separation_of(queries, docs, np.full((2, 3), -1, dtype=np.int8)) is None

    class _Job:
        results = {
            "extras": {
                "embedding": {
                    "method": "UMAP",
                    "kinds": ["query"],
                    "separation": {"before": 0.1, "after": 0.25},
                    "separation_against": "unjudged",
                }
            }
        }

    caption = embedding_caption([_Job()])
    assert "judged relevant pairs minus unjudged pairs: +0.100 before, +0.250 after" in caption
