"""``teamform synth llm=local``: every stage, Eureka included, against the real llama.cpp server.

SmolLM2-135M-Instruct through ``python -m llama_cpp.server`` (the ``local-llm`` extra), on a tiny
profile of the demo enterprise. A 135M model writes poor data; the test checks that the pipeline
runs end to end and stays consistent: replies are grammar-constrained to the schemas, invalid
items are dropped and counted, and the artifact is complete and well formed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

pytest.importorskip("llama_cpp", reason="needs the local-llm extra: pip install -e .[local-llm]")

from bench.data import load_dataset  # noqa: E402
from bench.run.synthesis import build_client, ensure_artifact  # noqa: E402
from data_synth.artifact import load_artifact  # noqa: E402

pytestmark = [pytest.mark.llm, pytest.mark.slow]
CONF = Path(__file__).resolve().parent.parent / "conf"
TINY = [
    "data=demo",
    "scale.employees=40",
    "scale.eval_tasks=4",
    "scale.train_tasks=8",
    "scale.judged_pairs=16",
    "data.n_projects=4",
    "synth=quick",
    "synth.n_brainstorms=1",
    "synth.projects_per_brainstorm=1",
    "synth.tasks_per_project=2",
    "synth.n_labels=2",
    "synth.eureka_generations=1",
    "synth.eureka_candidates=1",
    "synth.eureka_max_dev_pairs=2",
    "eval.dev_split.fraction=0.5",  # Eureka tunes on dev tasks only
    "synth.n_abilities=4",
    "synth.n_curriculums=1",
    "synth.n_negatives=1",
    "synth.reply_tokens.curriculum=400",
    "synth.reply_tokens.negatives=700",
    "synth.reply_tokens.eureka_review=500",
    "synth.reply_tokens.label=200",
    "llm=local",
    "llm.progress=false",
    "llm.max_retries=1",
]


def test_every_stage_runs_end_to_end_on_smollm2(tmp_path: Path) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*TINY, f"paths.cache_dir={tmp_path}"])
    dataset = load_dataset(cfg.data)
    with build_client(cfg.llm, dataset) as client:
        directory = ensure_artifact(cfg, dataset=dataset, client=client)
        backend = client.backend
        assert client.usage.calls > 0
    assert not backend.running  # the server was stopped
    art = load_artifact(directory)
    manifest = art.manifest
    assert manifest["complete"] is True and manifest["backend"] == "local"
    assert manifest["stages_done"] == ["projects", "tasks", "curriculums", "eureka", "labels", "negatives"]
    assert not manifest["stages"]["eureka"].get("skipped")
    # Eureka: the base prompt (generation 0) and one generation with exactly one best row
    generations = sorted({r["generation"] for r in art.eureka})
    assert generations == [0, 1]
    assert sum(r["best"] for r in art.eureka if r["generation"] == 1) == 1
    assert all(0.0 <= r["f1"] <= 1.0 for r in art.eureka)
    # the stages wrote what they could and counted what they dropped
    task_ids = {t.id for t in art.tasks}
    assert task_ids, "SmolLM2 wrote no usable task"
    assert set(art.curriculums) <= task_ids and set(art.negatives) <= task_ids
    for row in art.labels:
        assert row["task_id"] in task_ids and row["label"] in (0, 1)
    assert manifest["stages"]["labels"]["count"] + manifest["stages"]["labels"]["unanswered"] == 2
    assert all(
        sorted(r["level"] for r in rows) == sorted({r["level"] for r in rows})
        for rows in art.negatives.values()
    )
    # a rerun is served from the call cache and the finished artifact
    with build_client(cfg.llm, dataset) as client:
        assert ensure_artifact(cfg, dataset=dataset, client=client) == directory
        assert client.usage.calls == 0 and not client.backend.running
