"""The simulated enterprise of ``data=demo`` (issue 2, item 5)."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from bench.core.errors import ConfigError
from bench.data import load_dataset
from bench.data.demo import build_demo
from bench.data.demo.calibrate import evaluate, ndcg_at
from bench.data.demo.enterprise import load_enterprise
from bench.data.demo.judging import grades, likely_pool
from bench.data.demo.tasks import TaskSpec
from bench.data.demo.taxonomy import load_taxonomy, skill_id
from bench.data.demo.workforce import apportion

ROOT = Path(__file__).resolve().parents[1]
ASPECTS = ["role", "abilities", "experience", "goals", "behavior"]


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=0)


# ---- determinism ---------------------------------------------------------------------------
def test_same_seed_same_hash_and_truth(demo):
    again = build_demo(seed=0)
    assert again.hash == demo.hash
    assert again.truth.relevance == demo.truth.relevance
    assert again.truth.employee_skills == demo.truth.employee_skills


def test_different_seed_different_hash(demo):
    other = build_demo(seed=1)
    assert other.hash != demo.hash
    assert [e.aspects for e in other.employees] != [e.aspects for e in demo.employees]


# ---- counts and structure ------------------------------------------------------------------
def test_counts(demo):
    s = demo.stats()
    assert (s["employees"], s["aspects"], s["tasks"], s["train_seed_tasks"]) == (800, 5, 50, 200)
    assert s["judged_pairs"] == 500 and s["judged_tasks"] == 50
    assert demo.aspects == ASPECTS
    assert len({e.id for e in demo.employees}) == 800
    assert demo.context.startswith("We are a Brazilian manufacturer")
    assert all(e.aspects.get("role") for e in demo.employees)


def test_some_aspects_missing_at_configured_rates(demo):
    coverage = demo.stats()["aspect_coverage"]
    assert coverage["role"] == 800
    for aspect, rate in {"goals": 0.08, "behavior": 0.07, "experience": 0.04}.items():
        missing = 1 - coverage[aspect] / 800
        assert rate / 2.5 < missing < rate * 2.5, (aspect, missing)


def test_taxonomy_size_and_content():
    tax = load_taxonomy()
    assert len(tax.skills) >= 150 and len(tax.areas) >= 10
    assert len({s.id for s in tax.skills}) == len(tax.skills)
    for s in tax.skills:
        assert s.id == skill_id(s.label)
        assert len(s.paraphrases) >= 2 and len(set(s.paraphrases)) == len(s.paraphrases), s.label
        assert s.description.endswith(".") and s.description.count(". ") == 0, s.label  # one sentence
        for text in (*s.paraphrases, s.description):
            assert s.label.lower() not in text.lower(), (s.label, text)
    for area in tax.areas:
        assert len(tax.area_columns(area)) >= 8, area


def test_enterprise_references_resolve():
    ent, tax = load_enterprise(), load_taxonomy()
    assert len(ent.departments) >= 10
    assert {d.name for d in ent.departments} >= {
        "Sales",
        "Human Resources",
        "Information Technology",
        "Supply Chain and Logistics",
        "Finance and Controllership",
    }
    for d in ent.departments:
        assert d.units and all(u.skills for u in d.units)
        assert all(0 <= c < len(tax.skills) for u in d.units for c in u.skills)


def test_seniority_mix_is_the_papers_scaled(demo):
    counts = {}
    for name in demo.truth.seniority.values():
        counts[name] = counts.get(name, 0) + 1
    # 800 * (247, 222, 280, 83, 3) / 835 = 236.65, 212.69, 268.26, 79.52, 2.87 (largest remainder)
    assert counts == {"Senior": 237, "Supervisor": 213, "Coordinator": 268, "Manager": 79, "Director": 3}
    assert apportion(835, [247, 222, 280, 83, 3]) == [247, 222, 280, 83, 3]
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]


# ---- tasks ---------------------------------------------------------------------------------
def test_eval_and_train_tasks_never_share_text_or_project(demo):
    eval_texts = {t.task for t in demo.tasks}
    train_texts = {t.task for t in demo.train_tasks}
    assert not eval_texts & train_texts
    assert len(eval_texts) == 50 and len(train_texts) == 200
    assert not {t.project for t in demo.tasks} & {t.project for t in demo.train_tasks}
    assert len({t.id for t in demo.tasks + demo.train_tasks}) == 250


def test_task_text_avoids_labels_of_its_needs(demo):
    skills = demo.truth.skills
    for task in demo.tasks + demo.train_tasks:
        needs = demo.truth.task_needs[task.id]
        assert 1 <= len(needs) <= 3
        for s in needs:
            assert skills[s]["label"].lower() not in task.task.lower(), (task.id, s)


def test_no_eval_task_text_in_employee_text(demo):
    blob = "\n".join(t for e in demo.employees for t in e.aspects.values()).lower()
    assert not [t.id for t in demo.tasks if t.task.lower().rstrip(".") in blob]


# ---- ground truth and judged pairs ---------------------------------------------------------
def test_every_judged_task_has_a_positive_and_qrels_match_truth(demo):
    for task in demo.tasks:
        judged = demo.qrels[task.id]
        assert any(g > 0 for g in judged.values()), task.id
        truth = demo.truth.relevance[task.id]
        assert judged == {e: truth.get(e, 0) for e in judged}
    assert set(demo.truth.relevance) == {t.id for t in demo.tasks + demo.train_tasks}
    grades_seen = {g for d in demo.qrels.values() for g in d.values()}
    assert grades_seen == {0, 1, 2}


def test_half_of_judged_candidates_come_from_the_likely_pool(demo):
    tax = load_taxonomy()
    column = {s.id: i for i, s in enumerate(tax.skills)}
    levels = np.zeros((800, len(tax.skills)))
    for r, e in enumerate(demo.employee_ids):
        for s, lv in demo.truth.employee_skills[e].items():
            levels[r, column[s]] = lv
    rank = {"Senior": 1, "Supervisor": 2, "Coordinator": 3, "Manager": 4, "Director": 5}
    ranks = np.array([rank[demo.truth.seniority[e]] for e in demo.employee_ids])
    row = {e: i for i, e in enumerate(demo.employee_ids)}
    for task in demo.tasks:
        needs = tuple(column[s] for s in demo.truth.task_needs[task.id])
        for lead in (False, True):  # the lead flag is hidden; one of the two reproduces the truth
            spec = TaskSpec(task.project, task.task, needs, lead)
            g = grades(levels, ranks, spec)
            if {demo.employee_ids[i]: int(g[i]) for i in np.flatnonzero(g)} == demo.truth.relevance[task.id]:
                break
        else:
            pytest.fail(f"{task.id}: the grade formula does not reproduce the stored truth")
        pool = set(likely_pool(levels, ranks, spec, 10))
        judged = [row[e] for e in demo.qrels[task.id]]
        assert sum(r in pool for r in judged) >= len(judged) // 2, task.id


def test_grade_formula_by_hand():
    # two employees, three skills; the task needs skills 0 and 2 (weights 1.0 and 0.8)
    levels = np.array([[0.9, 0.0, 0.5], [0.6, 0.9, 0.0]])
    ranks = np.array([1, 4])
    hands_on = TaskSpec("p", "t", (0, 2), lead=False)
    # cover: (0.9*1 + 0.5*0.8)/1.8 = 0.722 (both held) -> 2; (0.6*1 + 0)/1.8 = 0.333 -> 0
    assert grades(levels, ranks, hands_on).tolist() == [2, 0]
    # a lead task caps a Senior (rank 1) at 1
    assert grades(levels, ranks, TaskSpec("p", "t", (0, 2), lead=True)).tolist() == [1, 0]
    # single need: level 0.6 -> 2 (>= 0.6), 0.9 -> 2; skill 1: 0.0 -> 0, 0.9 -> 2
    assert grades(levels, ranks, TaskSpec("p", "t", (1,), lead=False)).tolist() == [0, 2]


def test_positives_are_few_per_task(demo):
    counts = np.array([len(demo.truth.relevance[t.id]) for t in demo.tasks])
    assert counts.min() >= 1 and np.median(counts) < 80  # not trivially everyone


# ---- aspects -------------------------------------------------------------------------------
def test_goals_are_mostly_skills_not_held(demo):
    skills = demo.truth.skills
    held_hits = unheld_hits = 0
    for e in demo.employees:
        text = e.aspects.get("goals", "").lower()
        if not text:
            continue
        held = demo.truth.employee_skills[e.id]
        for sid, s in skills.items():
            if any(p.lower() in text for p in [s["label"], *s["paraphrases"]]):
                if sid in held:
                    held_hits += 1
                else:
                    unheld_hits += 1
    assert unheld_hits / (held_hits + unheld_hits) > 0.7


def test_abilities_mix_labels_generic_words_and_false_claims(demo):
    skills = demo.truth.skills
    generic = set(load_enterprise().generic_abilities)
    true_claims = false_claims = generic_claims = 0
    for e in demo.employees:
        text = e.aspects.get("abilities", "")
        held = demo.truth.employee_skills[e.id]
        for sid, s in skills.items():
            if s["label"] in text:
                true_claims += sid in held
                false_claims += sid not in held
        generic_claims += any(w in text for w in generic)
    assert true_claims > 2 * false_claims > 0
    assert generic_claims > 600


def test_experience_uses_paraphrases_not_labels(demo):
    labels = [s["label"] for s in demo.truth.skills.values()]
    texts = list(demo.aspect_texts("experience").values())
    with_label = sum(any(label in t for label in labels) for t in texts)
    assert with_label < 0.05 * len(texts)


def test_texts_vary(demo):
    roles = [e.aspects["role"] for e in demo.employees]
    assert len(set(roles)) == len(roles)
    openers = {r.split(" ")[0] for r in (e.aspects.get("behavior", "") for e in demo.employees) if r}
    assert len(openers) >= 3


# ---- configuration -------------------------------------------------------------------------
def test_config_keys_match_the_builder():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config").data  # sizes come from `scale`, which profiles change
    params = inspect.signature(build_demo).parameters
    keys = [k for k in cfg if k != "_target_"]
    assert set(keys) <= set(params)
    from bench.data.demo.build import MISSING_ASPECTS

    for key in keys:
        default = MISSING_ASPECTS if key == "missing_aspects" else params[key].default
        assert OmegaConf.to_container(cfg, resolve=True)[key] == default, key


def test_hydra_instantiates_a_small_demo():
    cfg = OmegaConf.load(ROOT / "conf/data/demo.yaml")
    cfg.merge_with(
        {
            "seed": 3,
            "n_employees": 60,
            "n_projects": 5,
            "n_eval_tasks": 6,
            "n_train_tasks": 10,
            "judged_pairs": 30,
        }
    )
    d = load_dataset(cfg)
    assert (len(d.employees), len(d.tasks), len(d.train_tasks)) == (60, 6, 10)
    assert sum(len(v) for v in d.qrels.values()) == 30
    assert all(any(g > 0 for g in v.values()) for v in d.qrels.values())


def test_bad_sizes_raise_config_errors():
    with pytest.raises(ConfigError, match="n_employees"):
        build_demo(n_employees=3)
    with pytest.raises(ConfigError, match="judged_pairs"):
        build_demo(n_eval_tasks=10, judged_pairs=5)
    with pytest.raises(ConfigError, match="n_projects"):
        build_demo(n_projects=1)


# ---- calibration script helpers ------------------------------------------------------------
def test_calibration_ndcg_by_hand():
    # gains 2^2-1 = 3 and 2^1-1 = 1; ranking b (0), a (2), c (1)
    dcg = 0 + 3 / np.log2(3) + 1 / np.log2(4)
    idcg = 3 / np.log2(2) + 1 / np.log2(3)
    assert ndcg_at(["b", "a", "c"], {"a": 2, "b": 0, "c": 1}, 5) == pytest.approx(dcg / idcg)
    assert ndcg_at(["a", "c"], {"a": 2, "c": 1}, 1) == 1.0


def test_calibration_perfect_scores_give_one():
    d = build_demo(seed=2, n_employees=50, n_projects=4, n_eval_tasks=5, n_train_tasks=5, judged_pairs=25)
    row = {e: i for i, e in enumerate(d.employee_ids)}
    scores = np.zeros((len(d.tasks), len(d.employees)))
    for t, task in enumerate(d.tasks):
        for e, g in d.qrels[task.id].items():
            scores[t, row[e]] = g
    assert evaluate(d, scores)["ndcg@5"] == pytest.approx(1.0)
