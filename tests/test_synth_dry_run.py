"""``teamform synth synth.dry_run=true``: the price of a synthesis run, before it spends.

The call counts of :mod:`data_synth.estimate` are checked against the calls the real stages make
(the simulated pipeline on a small demo, and Eureka with a scripted LLM), the sizes by hand
arithmetic, and the command end to end on the paper profile with no API key and no model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hydra.utils import instantiate

from bench.commands.synth import run as synth_run
from bench.core.errors import ConfigError
from bench.data import load_dataset
from bench.data.demo import build_demo
from bench.data.splits import DevSplit
from bench.run.synthesis import ensure_artifact
from data_synth.artifact import load_artifact
from data_synth.backend import LLMReply, LLMRequest
from data_synth.client import LLMClient
from data_synth.estimate import StageEstimate, estimate_synthesis, price_for
from data_synth.pipeline import synthesise
from data_synth.prompts import base_label_prompt
from data_synth.settings import STAGE_ORDER, SynthConfig
from data_synth.stages.eureka import NO_DEV_REASON, SKIP_REASON
from tests.cli_helpers import SMALL_DEMO, env_for, files_under

TINY_SYNTH = [
    "synth.n_brainstorms=3",
    "synth.projects_per_brainstorm=3",
    "synth.tasks_per_project=3",
    "synth.n_labels=25",
    "synth.n_negatives=4",
    "synth.label_pool_encoder=tfidf",
    "llm.progress=false",
]
ROW = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\$[\d.]+|\?)", re.MULTILINE)


def table(stdout: str) -> dict[str, tuple[int, int, int, float | None]]:
    """``stage -> (calls, in tokens, out tokens, dollars)`` of the printed table (and ``total``)."""
    rows = {}
    for name, calls, tokens_in, tokens_out, cost in ROW.findall(stdout):
        rows[name] = (int(calls), int(tokens_in), int(tokens_out), None if cost == "?" else float(cost[1:]))
    return rows


def test_calls_equal_those_the_simulated_pipeline_makes(compose_config, tmp_path: Path) -> None:
    cfg = compose_config(*SMALL_DEMO, *TINY_SYNTH, "llm=simulated", f"paths.cache_dir={tmp_path}")
    dataset = load_dataset(cfg.data)
    manifest = load_artifact(ensure_artifact(cfg, dataset=dataset)).manifest
    settings = instantiate(cfg.synth, _convert_="all")
    made = {name: manifest["counts"][name] for name in ("projects", "tasks", "curriculums")}
    plan = {e.stage: e for e in estimate_synthesis(dataset, settings, eureka_served=False, produced=made)}
    assert list(plan) == list(STAGE_ORDER)
    recorded = manifest["stages"]
    for name in ("projects", "tasks", "curriculums", "labels", "negatives"):
        assert plan[name].calls == recorded[name]["calls"] > 0, name
        # the simulated backend counts characters / 4 too: the representative lengths come close
        assert plan[name].input_tokens == pytest.approx(recorded[name]["prompt_tokens"], rel=0.2), name
    assert plan["projects"].input_tokens == pytest.approx(recorded["projects"]["prompt_tokens"], abs=3)
    assert recorded["eureka"]["skipped"] and plan["eureka"].skipped == SKIP_REASON
    assert plan["eureka"].calls == 0
    # without the produced counts, the requested ones: 3 x 3 projects, 3 tasks each
    requested = {e.stage: e.calls for e in estimate_synthesis(dataset, settings, eureka_served=False)}
    assert requested == {
        "projects": 3,
        "tasks": 3 * 3,
        "curriculums": 3 * 3 * 3,
        "eureka": 0,
        "labels": 25,
        "negatives": 4,
    }


class FreshPrompts:
    """A scripted LLM whose reviewer always proposes K prompts never seen before."""

    name, model = "scripted", "scripted-1"

    async def ask(self, request: LLMRequest) -> LLMReply:
        text = request.messages[-1]["content"]
        if request.stage == "label":
            answer = {"reasoning": "scripted", "label": len(text) % 2}
        else:
            g, k = request.payload["generation"], request.payload["k"]
            answer = {"prompts": [f"{base_label_prompt()}\nVariant {g}.{i}" for i in range(k)]}
        reply = request.schema.model_validate(answer)
        return LLMReply(parsed=reply, raw="{}", prompt_tokens=len(text) // 4, completion_tokens=1)

    async def aclose(self) -> None:
        pass


def test_eureka_calls_are_the_dev_pairs_times_the_prompts_plus_the_reviews(tmp_path: Path) -> None:
    dataset = build_demo(seed=1, n_employees=30, n_eval_tasks=8, n_train_tasks=4, judged_pairs=48)
    settings = SynthConfig(
        stages=["eureka"],
        eureka_generations=2,
        eureka_candidates=3,
        dev_split=DevSplit(0.5),
        eureka_max_dev_pairs=10,
    )
    with LLMClient(FreshPrompts(), cache_dir=tmp_path / "llm", progress=False) as client:
        recorded = load_artifact(synthesise(dataset, client, settings, tmp_path)).manifest["stages"]["eureka"]
    (plan,) = estimate_synthesis(dataset, settings)
    pairs = recorded["dev_pairs"]
    assert plan.calls == recorded["calls"] == pairs * (1 + 2 * 3) + 2
    assert plan.basis.startswith(f"{pairs} dev pairs x (1 + 2 x 3) prompts + 2 reviews")
    assert plan.input_tokens == pytest.approx(recorded["prompt_tokens"], rel=0.1)
    assert plan.output_tokens == pairs * 7 * settings.reply_tokens["label"] + 2 * 3000


def test_requested_sizes_by_hand_and_only_the_selected_stages() -> None:
    dataset = build_demo(seed=2, n_employees=20, n_eval_tasks=4, n_train_tasks=4, judged_pairs=16)
    settings = SynthConfig(
        stages=["negatives", "labels", "curriculums", "tasks", "projects"],
        n_brainstorms=3,
        projects_per_brainstorm=2,
        tasks_per_project=4,
        n_curriculums=5,
        n_labels=7,
        n_negatives=2,
    )
    plan = estimate_synthesis(dataset, settings)
    assert [(e.stage, e.calls) for e in plan] == [
        ("projects", 3),
        ("tasks", 3 * 2),
        ("curriculums", 5),  # 3 x 2 x 4 = 24 tasks, at most n_curriculums
        ("labels", 7),
        ("negatives", 2),
    ]
    replies = {"projects": 600, "tasks": 600, "curriculums": 900, "labels": 500, "negatives": 2400}
    assert all(e.output_tokens == e.calls * replies[e.stage] for e in plan)
    assert all(e.input_tokens > 0 and e.skipped is None for e in plan)
    # more labels than (task, employee) pairs exist: the stage samples at most 2 tasks x 20 employees
    few = SynthConfig(
        stages=["labels"], n_brainstorms=1, projects_per_brainstorm=1, tasks_per_project=2, n_labels=1000
    )
    assert estimate_synthesis(dataset, few)[0].calls == 2 * 20


def test_eureka_is_skipped_without_dev_tasks_and_with_the_simulated_backend() -> None:
    dataset = build_demo(seed=2, n_employees=20, n_eval_tasks=4, n_train_tasks=4, judged_pairs=16)
    (no_dev,) = estimate_synthesis(dataset, SynthConfig(stages=["eureka"], dev_split=DevSplit(0.0)))
    assert (no_dev.calls, no_dev.input_tokens, no_dev.output_tokens, no_dev.skipped) == (
        0,
        0,
        0,
        NO_DEV_REASON,
    )
    settings = SynthConfig(stages=["eureka"], dev_split=DevSplit(0.5))
    (simulated,) = estimate_synthesis(dataset, settings, eureka_served=False)
    assert simulated.skipped == SKIP_REASON and simulated.calls == 0
    assert estimate_synthesis(dataset, settings)[0].calls > 0


def test_prices_known_free_unknown_and_malformed() -> None:
    prices = {"gpt-4o-mini": {"input_per_1m": 0.15, "output_per_1m": 0.60}}
    work = StageEstimate("labels", 10, 1_000_000, 500_000, "n_labels")
    assert price_for(prices, "gpt-4o-mini", None).cost_usd(work) == pytest.approx(1.0 * 0.15 + 0.5 * 0.60)
    free = price_for({}, None, "a local llama.cpp server")
    assert free.cost_usd(work) == 0.0 and "free/local" in free.note
    unknown = price_for(prices, "gpt-9", None)
    assert unknown.cost_usd(work) is None and "llm.prices.gpt-9" in unknown.note
    assert unknown.cost_usd(StageEstimate("eureka", 0, 0, 0, "skipped", "no dev tasks")) == 0.0
    with pytest.raises(ConfigError, match="llm.prices.m must have exactly the keys"):
        price_for({"m": {"input_per_1m": 1.0}}, "m", None)


def test_dry_run_is_not_part_of_the_artifact_key() -> None:
    assert SynthConfig(dry_run=True).key_fields() == SynthConfig().key_fields()
    assert "dry_run" not in SynthConfig().key_fields()


@pytest.mark.parametrize(
    ("llm", "says", "cost"),
    [
        (["llm=simulated"], "no price: the simulated backend, free/local", 0.0),
        (["llm=local"], "no price: a local llama.cpp server, free/local", 0.0),
        (["llm=openai_compatible"], "no price: a local server (http://127.0.0.1:8000/v1)", 0.0),
        (
            ["llm=openai", "llm.backend.model=gpt-9"],
            "price unknown for model 'gpt-9': set llm.prices.gpt-9",
            None,
        ),
    ],
)
def test_every_llm_config_gets_a_dry_run(compose_config, tmp_path: Path, capsys, llm, says, cost) -> None:
    cache = tmp_path / "cache"
    overrides = [*SMALL_DEMO, *TINY_SYNTH, *llm, "synth.dry_run=true", "eval.dev_split.fraction=0.3"]
    metrics, _ = synth_run(compose_config(*overrides, f"paths.cache_dir={cache}"))
    out = capsys.readouterr().out
    assert says in out and out.rstrip().endswith("nothing written to paths.cache_dir")
    assert metrics["total"]["cost_usd"] == cost and not cache.exists()
    rows = table(out)
    assert list(rows) == [*STAGE_ORDER, "total"]
    assert rows["total"][0] == sum(rows[s][0] for s in STAGE_ORDER) == metrics["total"]["calls"]
    assert (rows["eureka"][0] == 0) == (llm == ["llm=simulated"])


def test_the_paper_profile_is_priced_offline_without_a_key_or_torch(run_teamform, tmp_path: Path) -> None:
    cache = tmp_path / "dry-cache"
    env = env_for(tmp_path, PYTHONPROFILEIMPORTTIME="1")  # no OPENAI_API_KEY; HF_HUB_OFFLINE=1
    assert "OPENAI_API_KEY" not in env and env["HF_HUB_OFFLINE"] == "1"
    done = run_teamform(
        "synth", "profile=paper", "llm=openai", "synth.dry_run=true", f"paths.cache_dir={cache}", env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = table(done.stdout)
    calls = {stage: row[0] for stage, row in rows.items()}
    dev_pairs = 150  # eureka_max_dev_pairs: the paper's 30% dev tasks have more judged pairs
    assert calls == {
        "projects": 400,
        "tasks": 400 * 10,
        "curriculums": 400 * 10 * 8,  # 32,000 tasks
        "eureka": dev_pairs * (1 + 10 * 4) + 10,
        "labels": 30_000,
        "negatives": 32_000,
        "total": 400 + 4000 + 32_000 + 6160 + 30_000 + 32_000,
    }
    assert rows["negatives"][2] == 32_000 * 2400  # the reply limit: an upper bound
    costs = [rows[s][3] for s in STAGE_ORDER]
    assert all(c is not None and c > 0 for c in costs)
    assert rows["total"][3] == pytest.approx(sum(costs), abs=1e-3)
    assert "$" in done.stdout and "llm.prices.gpt-4o-mini = $0.15 input / $0.6 output" in done.stdout
    assert "characters of each stage's rendered prompt / 4" in done.stdout
    assert "before a real run: llm.backend reads its API key from $OPENAI_API_KEY" in done.stdout
    assert files_under(cache) == []
    # -X importtime lists every module imported: no torch, so no model and no encoder
    imported = re.findall(r"\|\s+(torch|sentence_transformers|peft)$", done.stderr, re.MULTILINE)
    assert imported == [] and re.search(r"\|\s+omegaconf$", done.stderr, re.MULTILINE)
