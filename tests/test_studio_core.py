"""Label studio without a web server: settings, sampling, queues, outputs, stats."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, precision_score, recall_score

from bench.core.errors import ConfigError
from bench.data.custom import load_custom
from bench.studio import queue
from bench.studio.app import create_app
from bench.studio.outputs import majority
from bench.studio.sampling import TOP, UNIFORM, sample_pairs
from bench.studio.services import split_lines
from bench.studio.settings import LabelSettings
from bench.studio.stats import _binary_scores, cohen_kappa, label_stats, render_stats
from tests.studio_fixtures import INPUT_LABELS, SENTINEL, fake_rank_top_k, services, settings, studio_dataset


# ---- settings ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"top_share": 1.5}, "label.top_share"),
        ({"overlap": -0.1}, "label.overlap"),
        ({"top_k": 0}, "label.top_k"),
        ({"grades": [1, 2]}, "label.grades"),
        ({"grades": [0, 0, 1]}, "label.grades"),
        ({"grades": [0, 10]}, "label.grades"),
        ({"annotator": "a b"}, "label.annotator"),
        ({"port": 70000}, "label.port"),
    ],
)
def test_bad_settings_name_the_key(overrides: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        LabelSettings(**overrides)


def test_scale_and_relevant_grade() -> None:
    assert LabelSettings().scale == [0, 1] and LabelSettings().relevant_grade == 1
    graded = LabelSettings(grades=[3, 0, 1, 2])
    assert graded.scale == [0, 1, 2, 3] and graded.relevant_grade == 1
    assert LabelSettings().loopback and not LabelSettings(host="0.0.0.0").loopback


def test_config_file_builds_the_settings() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {"seed": 7, "label": OmegaConf.load(Path(__file__).parents[1] / "conf/label/default.yaml")}
    )
    built = instantiate(cfg.label)
    assert isinstance(built, LabelSettings)
    assert (built.host, built.port, built.top_share, built.overlap, built.seed, built.grades) == (
        "127.0.0.1",
        0,
        0.5,
        0.2,
        7,
        None,
    )


def test_split_lines() -> None:
    assert split_lines("- Plan the downtime\n\n2. Order bricks\n* Hire\n") == [
        "Plan the downtime",
        "Order bricks",
        "Hire",
    ]


# ---- sampling ------------------------------------------------------------------------------
def test_sample_is_reproducible_and_follows_the_shares() -> None:
    data = studio_dataset()
    pairs = sample_pairs(data, settings(), fake_rank_top_k)
    assert pairs == sample_pairs(data, settings(), fake_rank_top_k)
    assert pairs != sample_pairs(data, settings(seed=4), fake_rank_top_k)
    keys = [(p.task_id, p.employee_id) for p in pairs]
    assert len(keys) == len(set(keys)) == 20
    judged = {(t, e) for t, row in INPUT_LABELS.items() for e in row}
    assert not judged & set(keys)
    top = [p for p in pairs if p.source == TOP]
    assert len(top) == 10 and len([p for p in pairs if p.source == UNIFORM]) == 10
    ranking = fake_rank_top_k([t.id for t in data.tasks], 4)
    assert all(p.employee_id in ranking[p.task_id] for p in top)
    assert len({p.task_id for p in top}) == 4  # spread over the tasks
    assert sum(p.shared for p in pairs) == 4


def test_sample_never_exceeds_the_unjudged_pairs() -> None:
    pairs = sample_pairs(studio_dataset(), settings(n_pairs=500, top_share=0.0), None)
    assert len(pairs) == 48 - 3


def test_large_databases_are_sampled_by_rejection(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.studio import sampling

    monkeypatch.setattr(sampling, "ENUMERATE_LIMIT", 0)
    data = studio_dataset()
    pairs = sample_pairs(data, settings(n_pairs=12, top_share=0.0), None)
    assert pairs == sample_pairs(data, settings(n_pairs=12, top_share=0.0), None)
    keys = {(p.task_id, p.employee_id) for p in pairs}
    assert len(keys) == 12 and not keys & {(t, e) for t, row in INPUT_LABELS.items() for e in row}


def test_top_share_needs_a_ranking() -> None:
    with pytest.raises(ConfigError, match="label.top_share"):
        sample_pairs(studio_dataset(), settings(), None)


# ---- queues --------------------------------------------------------------------------------
def _app(tmp_path: Path, **overrides: object):
    return create_app(studio_dataset(), tmp_path, settings(**overrides), services()).state.studio


def _walk(studio, annotator: str, label: int = 1) -> list[tuple[str, str]]:
    """Answer every pair the annotator gets; the pairs in order."""
    seen = []
    while True:
        with studio.store.write() as conn:
            row = queue.current(conn, annotator)
            if row is None:
                return seen
            seen.append((row["task_id"], row["employee_id"]))
            studio.outputs.after_events(conn, queue.answer(conn, annotator, row["pos"], label))


def test_shared_pairs_go_to_everyone_the_rest_to_one(tmp_path: Path) -> None:
    studio = _app(tmp_path, top_share=0.0)
    ann, bob = _walk(studio, "ann"), _walk(studio, "bob")
    assert len(ann) == len(set(ann)) == 20  # ann came first and took every unshared pair
    with studio.store.connect() as conn:
        shared = {
            (r[0], r[1]) for r in conn.execute("SELECT task_id, employee_id FROM pairs WHERE shared = 1")
        }
    assert set(bob) == shared and len(shared) == 4


def test_interleaved_annotators_split_the_work(tmp_path: Path) -> None:
    studio = _app(tmp_path)
    got: dict[str, list] = {"ann": [], "bob": []}
    for _ in range(40):
        for who in got:
            with studio.store.write() as conn:
                row = queue.current(conn, who)
                if row is not None:
                    got[who].append((row["task_id"], row["employee_id"]))
                    studio.outputs.after_events(conn, queue.answer(conn, who, row["pos"], 1))
    both = set(got["ann"]) & set(got["bob"])
    assert len(both) == 4  # exactly the shared pairs
    assert len(set(got["ann"]) | set(got["bob"])) == 20


def test_skip_undo_and_conflict(tmp_path: Path) -> None:
    studio = _app(tmp_path)
    with studio.store.write() as conn:
        first = queue.current(conn, "ann")["pos"]
        queue.answer(conn, "ann", first, 0)
        with pytest.raises(queue.QueueConflict):
            queue.answer(conn, "ann", first, 1)  # a double submit
        second = queue.current(conn, "ann")["pos"]
        queue.skip(conn, "ann", second)
        assert queue.progress(conn, "ann") == {"judged": 1, "skipped": 1, "left": 18}
        assert queue.undo(conn, "ann")[0]["kind"] == "undo"  # the skip
        assert queue.current(conn, "ann")["pos"] == second
        queue.undo(conn, "ann")  # the answer
        assert queue.current(conn, "ann")["pos"] == first
        assert queue.progress(conn, "ann") == {"judged": 0, "skipped": 0, "left": 20}
        assert queue.undo(conn, "ann") == []


def test_restart_resumes_and_refuses_other_settings(tmp_path: Path) -> None:
    studio = _app(tmp_path)
    with studio.store.write() as conn:
        for _ in range(3):
            queue.answer(conn, "ann", queue.current(conn, "ann")["pos"], 1)
        nxt = queue.current(conn, "ann")["pos"]
    again = _app(tmp_path)
    with again.store.write() as conn:
        assert queue.current(conn, "ann")["pos"] == nxt
        assert queue.progress(conn, "ann")["judged"] == 3
    with pytest.raises(ConfigError, match="label.seed"):
        _app(tmp_path, seed=99)


# ---- outputs -------------------------------------------------------------------------------
def test_majority() -> None:
    assert [majority([1, 1, 0]), majority([1, 0]), majority([0, 2, 2, 1]), majority([3])] == [1, 0, 2, 3]


def test_output_dir_is_a_custom_dataset_with_majority_labels(tmp_path: Path) -> None:
    studio = _app(tmp_path, top_share=0.0, overlap=1.0)
    labels = {"ann": 1, "bob": 0, "cy": 1}
    for who, label in labels.items():
        _walk(studio, who, label)
    with studio.store.write() as conn:  # a team-builder judgement on an input-labelled pair wins
        studio.outputs.after_events(conn, queue.record_team(conn, "ann", [("t1", "sales0", 1)]))
    loaded = load_custom(tmp_path)
    sampled = sum(len(r) for r in loaded.qrels.values()) - 3
    assert sampled == 20
    assert (
        loaded.qrels["t1"]["sales0"] == 1
        and loaded.qrels["t1"]["kiln0"] == 1
        and loaded.qrels["t4"]["sales1"] == 1
    )
    with studio.store.connect() as conn:
        pairs = [(r[0], r[1]) for r in conn.execute("SELECT task_id, employee_id FROM pairs")]
    assert all(loaded.qrels[t][e] == 1 for t, e in pairs)  # 2 of 3 said relevant
    assert [e.aspects for e in loaded.employees] == [e.aspects for e in studio.dataset.employees]
    rows = (tmp_path / "labels.csv").read_text().splitlines()
    assert len(rows) == len(set(rows)) == 1 + 23
    assert SENTINEL.encode() not in (tmp_path / "annotations.jsonl").read_bytes()
    assert SENTINEL.encode() not in (tmp_path / "studio.sqlite").read_bytes()


def test_works_on_data_without_labels(tmp_path: Path) -> None:
    data = studio_dataset()
    data.qrels = {}
    studio = create_app(data, tmp_path, settings(), services()).state.studio
    assert len(_walk(studio, "ann")) == 20
    assert sum(len(r) for r in load_custom(tmp_path).qrels.values()) == 20


# ---- stats ---------------------------------------------------------------------------------
def test_kappa_and_scores_match_scikit_learn() -> None:
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(2, 30)
        a, b = [rng.randint(0, 2) for _ in range(n)], [rng.randint(0, 2) for _ in range(n)]
        if len(set(a)) == len(set(b)) == 1 and a[0] == b[0]:
            assert cohen_kappa(a, b) is None
            continue
        assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
        t, p = [int(x > 0) for x in a], [int(x > 0) for x in b]
        got = _binary_scores(t, p)
        assert got["accuracy"] == pytest.approx(accuracy_score(t, p))
        assert got["precision"] == pytest.approx(precision_score(t, p, zero_division=0))
        assert got["recall"] == pytest.approx(recall_score(t, p, zero_division=0))
        assert got["f1"] == pytest.approx(f1_score(t, p, zero_division=0))
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx((3 / 4 - 1 / 2) / (1 - 1 / 2))


def test_label_stats(tmp_path: Path) -> None:
    studio = _app(tmp_path, top_share=0.0, overlap=1.0, n_pairs=10)
    _walk(studio, "ann", 1)
    _walk(studio, "bob", 1)
    with studio.store.write() as conn:  # bob changes his mind on one pair through an undo
        studio.outputs.after_events(conn, queue.undo(conn, "bob"))
        row = queue.current(conn, "bob")
        studio.outputs.after_events(conn, queue.answer(conn, "bob", row["pos"], 0))
    calls = []

    def labeller(pairs):
        calls.append(pairs)
        return [int(task.id == "t1") for task, _ in pairs]

    stats = label_stats(tmp_path, labeller)
    assert stats["pairs"] == 10
    assert stats["annotators"]["ann"] == {"answers": 10, "skips": 0, "undos": 0, "labels": {"1": 10}}
    assert (
        stats["annotators"]["bob"]["labels"] == {"0": 1, "1": 9} and stats["annotators"]["bob"]["undos"] == 1
    )
    agreement = stats["agreement"][0]
    assert agreement["annotators"] == ["ann", "bob"] and agreement["shared"] == 10
    assert agreement["agreement"] == pytest.approx(0.9)
    assert agreement["kappa"] == pytest.approx(cohen_kappa_score([1] * 10, [1] * 9 + [0]))
    assert len(calls[0]) == 10 and all(hasattr(t, "query") and hasattr(e, "aspects") for t, e in calls[0])
    truth = [1] * 9 + [0]  # the tie on bob's changed pair goes to 0
    assert stats["synthetic"]["n"] == 10 and 0 <= stats["synthetic"]["f1"] <= 1
    assert sum(stats["by_source"]["uniform"].values()) == 10 and stats["by_source"]["uniform"][
        "0"
    ] == truth.count(0)
    text = render_stats(stats)
    assert "ann vs bob: 10 shared" in text and "f1" in text and SENTINEL not in text
