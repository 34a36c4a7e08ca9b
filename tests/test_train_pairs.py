"""Training pairs: mixes, global vs specialised documents, aspect ablation, dev split, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.core.errors import ConfigError, DataError
from bench.core.io import write_jsonl
from data_synth.artifact import load_artifact
from models.pairs import build_pairs, document_view, split_dev
from tests.train_fixtures import tiny_dataset, write_artifact


@pytest.fixture()
def artifact(tmp_path: Path):
    return write_artifact(tmp_path / "synth")


def test_mix_selects_the_sources(artifact) -> None:
    ds = tiny_dataset()
    view = document_view(ds.aspects)
    counts = {
        mix: build_pairs(artifact, ds, view, mix, dev_fraction=0.0).counts
        for mix in ("labels", "curriculums", "full")
    }
    assert (counts["labels"]["label_pairs"], counts["labels"]["curriculum_pairs"]) == (
        16,
        0,
    )  # 8 tasks x 2 label-1
    assert (counts["curriculums"]["label_pairs"], counts["curriculums"]["curriculum_pairs"]) == (0, 8)
    assert (counts["full"]["label_pairs"], counts["full"]["curriculum_pairs"]) == (16, 8)
    assert (
        build_pairs(artifact, ds, view, "labels", label_negatives=False, dev_fraction=0.0).label_negatives
        == {}
    )
    assert (
        sum(
            len(v)
            for v in build_pairs(artifact, ds, view, "labels", dev_fraction=0.0).label_negatives.values()
        )
        == 8
    )


def test_global_documents_are_the_concat_view_of_evaluation(artifact) -> None:
    ds = tiny_dataset()
    pairs = build_pairs(artifact, ds, document_view(ds.aspects), "labels", dev_fraction=0.0)
    concat = ds.concat_texts()
    for pair in pairs.pairs:
        assert pair.positive == concat[pair.doc_key.removeprefix("e:")]


def test_drop_aspects_removes_them_from_every_text(artifact) -> None:
    ds = tiny_dataset()
    view = document_view(ds.aspects, drop_aspects=["abilities"])
    assert view.aspects == ("role", "experience")
    pairs = build_pairs(artifact, ds, view, "full", dev_fraction=0.0)
    texts = [p.positive for p in pairs.pairs] + [
        t for by in pairs.hard_negatives.values() for t in by.values()
    ]
    texts += [t for rows in pairs.label_negatives.values() for _, t in rows]
    assert texts and all("abilities:" not in t and "role:" in t for t in texts)
    assert (
        pairs.pairs[0].positive
        == tiny_dataset().concat_texts(["role", "experience"])[pairs.pairs[0].doc_key[2:]]
    )


def test_specialised_documents_are_one_aspect(artifact) -> None:
    ds = tiny_dataset()
    pairs = build_pairs(
        artifact, ds, document_view(ds.aspects, aspect="experience"), "full", dev_fraction=0.0
    )
    employees = {e.id: e for e in ds.employees}
    for pair in pairs.pairs:
        if pair.source == "label":
            assert pair.positive == employees[pair.doc_key[2:]].aspects["experience"]
        else:  # that section of the synthetic curriculum
            assert pair.positive == artifact.curriculums[pair.task_id]["experience"]
    for by_level in pairs.hard_negatives.values():
        assert all(t.startswith("little ") for t in by_level.values())  # the negatives' experience section


def test_specialised_skips_employees_without_the_aspect(tmp_path: Path, artifact) -> None:
    ds = tiny_dataset()  # sales2 has no experience
    rows = [{"task_id": "s7", "employee_id": "sales2", "label": 1, "source": "top20", "prompt": "base"}]
    write_jsonl(artifact.path / "labels.jsonl", [*artifact.labels, *rows])
    art = load_artifact(artifact.path)
    pairs = build_pairs(art, ds, document_view(ds.aspects, aspect="experience"), "labels", dev_fraction=0.0)
    assert pairs.counts["skipped_empty"] == 1
    assert all(p.doc_key != "e:sales2" for p in pairs.pairs)
    assert any(
        p.doc_key == "e:sales2"
        for p in build_pairs(art, ds, document_view(ds.aspects), "labels", dev_fraction=0.0).pairs
    )


def test_bad_aspect_choices_name_the_key() -> None:
    aspects = tiny_dataset().aspects
    with pytest.raises(ConfigError, match="train.drop_aspects"):
        document_view(aspects, drop_aspects=["hobbies"])
    with pytest.raises(ConfigError, match="is in train.drop_aspects"):
        document_view(aspects, aspect="role", drop_aspects=["role"])
    with pytest.raises(ConfigError, match="removes every aspect"):
        document_view(aspects, drop_aspects=aspects)


def test_dev_split_is_held_out_entirely(artifact) -> None:
    ds = tiny_dataset()
    pairs = build_pairs(artifact, ds, document_view(ds.aspects), "full", dev_fraction=0.25, seed=3)
    assert len(pairs.dev_tasks) == 2 and pairs.dev_tasks == split_dev(artifact, 0.25, 3)
    held = set(pairs.dev_tasks)
    assert not held & {p.task_id for p in pairs.pairs}
    assert not held & set(pairs.hard_negatives) and not held & set(pairs.label_negatives)
    assert set(pairs.dev_qrels) == held
    assert all(sorted(q.values()) == [0, 1, 1] for q in pairs.dev_qrels.values())
    assert split_dev(artifact, 0.25, 4) != pairs.dev_tasks or split_dev(artifact, 0.25, 5) != pairs.dev_tasks


def test_unknown_employee_in_labels_names_the_line(tmp_path: Path, artifact) -> None:
    rows = [
        *artifact.labels,
        {"task_id": "s1", "employee_id": "ghost", "label": 1, "source": "top20", "prompt": "base"},
    ]
    write_jsonl(artifact.path / "labels.jsonl", rows)
    with pytest.raises(DataError, match=rf"labels.jsonl:{len(rows)}: employee_id 'ghost'"):
        build_pairs(load_artifact(artifact.path), tiny_dataset(), document_view(tiny_dataset().aspects))


def test_base_tasks_add_their_judged_relevant_pairs(artifact) -> None:
    """The influence study's base set D: the dev tasks' judged relevant pairs, real employees."""
    ds = tiny_dataset()
    view = document_view(ds.aspects)
    plain = build_pairs(artifact, ds, view, "full", dev_fraction=0.0)
    with_base = build_pairs(artifact, ds, view, "full", dev_fraction=0.0, base_tasks=["t1"])
    base = [p for p in with_base.pairs if p.source == "base"]
    assert [(p.task_id, p.doc_key) for p in base] == [("t1", "e:kiln0")]  # grade 0 (sales0) is left out
    assert base[0].query == ds.task_by_id["t1"].query and with_base.counts["base_pairs"] == 1
    assert len(with_base.pairs) == len(plain.pairs) + 1
    only_base = build_pairs(artifact, ds, view, "none", dev_fraction=0.0, base_tasks=["t1", "t2"])
    assert {p.source for p in only_base.pairs} == {"base"} and len(only_base.pairs) == 2
    assert not only_base.label_negatives
    with pytest.raises(ConfigError, match="not a task"):
        build_pairs(artifact, ds, view, "full", dev_fraction=0.0, base_tasks=["nope"])


def test_base_tasks_enter_the_adapter_key_only_when_set(compose_config) -> None:
    from hydra.errors import InstantiationException

    from bench.run.recipe import train_settings

    cfg = compose_config()
    assert "base_tasks" not in train_settings(cfg).key_parts()  # older adapter keys stay valid
    assert train_settings(cfg, base_tasks=["t2", "t1"]).key_parts()["base_tasks"] == ["t1", "t2"]
    with pytest.raises(InstantiationException, match="train.mix=none"):
        train_settings(cfg, mix="none")
