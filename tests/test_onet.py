"""``data=onet``: the O*NET loader on a tiny hand-written release and on the real 29.3 release.

The real release is read from ``../shared/data/onet`` (relative to the repository root) and is
never copied into the repository; those tests are skipped, with the reason, when it is absent.
The tiny release below is made-up text in the official layout, small enough to compute every
expected value by hand.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bench.core.errors import ConfigError, DataError
from bench.data import load_dataset
from bench.data.onet import ATTRIBUTION, load_onet
from bench.data.onet_tables import FILES, read_table
from bench.data.textmatch import normalise_text

REPO = Path(__file__).resolve().parents[1]
ONET = (REPO / ".." / "shared" / "data" / "onet").resolve()
needs_onet = pytest.mark.skipif(
    not (ONET / "Task Statements.txt").is_file(),
    reason=f"the O*NET text release is not at {ONET} "
    "(get the 'text' zip from https://www.onetcenter.org/database.html)",
)

# ---- a tiny release in the official layout --------------------------------------------------
HEADERS = {
    "occupations": ["O*NET-SOC Code", "Title", "Description"],
    "job_zones": ["O*NET-SOC Code", "Title", "Job Zone", "Date", "Domain Source"],
    "tasks": [
        "O*NET-SOC Code",
        "Title",
        "Task ID",
        "Task",
        "Task Type",
        "Incumbents Responding",
        "Date",
        "Domain Source",
    ],
    "task_dwas": [
        "O*NET-SOC Code",
        "Title",
        "Task ID",
        "Task",
        "DWA ID",
        "DWA Title",
        "Date",
        "Domain Source",
    ],
    "related": [
        "O*NET-SOC Code",
        "Title",
        "Related O*NET-SOC Code",
        "Related Title",
        "Relatedness Tier",
        "Index",
    ],
    "skills": [
        "O*NET-SOC Code",
        "Title",
        "Element ID",
        "Element Name",
        "Scale ID",
        "Scale Name",
        "Data Value",
        "N",
        "Standard Error",
        "Lower CI Bound",
        "Upper CI Bound",
        "Recommend Suppress",
        "Not Relevant",
        "Date",
        "Domain Source",
    ],
    "work_styles": [
        "O*NET-SOC Code",
        "Title",
        "Element ID",
        "Element Name",
        "Scale ID",
        "Scale Name",
        "Data Value",
        "N",
        "Standard Error",
        "Lower CI Bound",
        "Upper CI Bound",
        "Recommend Suppress",
        "Date",
        "Domain Source",
    ],
    "technology": [
        "O*NET-SOC Code",
        "Title",
        "Example",
        "Commodity Code",
        "Commodity Title",
        "Hot Technology",
        "In Demand",
    ],
}
HEADERS["knowledge"] = HEADERS["skills"]
A, B, C, D = "11-0001.00", "11-0002.00", "11-0003.00", "11-0004.00"  # C is filtered out (zone 2)
SHARED = "Present quarterly results to the board."
TASKS = [  # (code, task id, text as written in the file)
    (A, "101", "Plan the annual kiln maintenance budget."),
    (A, "102", '"Check ""fire"" alarms in the warehouse."'),
    (A, "103", "Negotiate supplier contracts for glaze."),
    (A, "104", "Review safety audits of the press line."),  # no DWA: never a query
    (A, "105", SHARED),
    (B, "201", "Model demand for ceramic tiles."),
    (B, "202", "Build dashboards of sales margins."),
    (B, "203", "Forecast energy costs of kilns."),
    (B, "204", "Clean transactional data from stores."),
    (B, "205", "present quarterly  results to the Board."),  # SHARED, other case and spacing
    (C, "301", "Sweep the factory floor."),
    (C, "302", SHARED),
    (D, "401", "Design conveyor layouts for tile packing."),
    (D, "402", "Test tensile strength of panels."),
    (D, "403", "Write maintenance manuals for presses."),
    (D, "404", "Calibrate sensors and negotiate supplier contracts for glaze."),  # contains task 103
]
DWAS = [  # (task id, DWA id, DWA title); 101 has two: "Prepare budgets." is linked to more tasks
    ("101", "4.A.1", "Prepare budgets."),
    ("101", "4.A.2", "Manage kiln upkeep."),
    ("102", "4.A.3", "Inspect safety equipment."),
    ("103", "4.A.4", "Negotiate contracts."),
    ("105", "4.A.5", "Present information to executives."),
    ("201", "4.A.6", "Analyze market data."),
    ("202", "4.A.7", "Create data visualizations."),
    ("203", "4.A.1", "Prepare budgets."),
    ("204", "4.A.8", "Clean data."),
    ("205", "4.A.5", "Present information to executives."),
    ("301", "4.A.9", "Clean facilities."),
    ("302", "4.A.5", "Present information to executives."),
    ("401", "4.A.10", "Design material handling systems."),
    ("402", "4.A.11", "Test materials."),
    ("403", "4.A.12", "Write technical documents."),
    ("404", "4.A.13", "Calibrate equipment."),
]
# Hand-computed: owners 2; Primary-Short related of owners 1 (A->B, B->D; A->C is filtered out,
# A->D is Primary-Long and D->A Supplemental, so neither counts).
EXPECTED = {
    **{t: {A: 2, B: 1} for t in ("T101", "T102", "T103")},
    **{t: {B: 2, D: 1} for t in ("T201", "T202", "T203", "T204")},
    **{t: {A: 2, B: 2, D: 1} for t in ("T105", "T205")},
    **{t: {D: 2} for t in ("T401", "T402", "T403", "T404")},
}
PROJECTS = {
    "T101": "Prepare budgets",
    "T102": "Inspect safety equipment",
    "T103": "Negotiate contracts",
    "T105": "Present information to executives",
    "T205": "Present information to executives",
    "T201": "Analyze market data",
    "T202": "Create data visualizations",
    "T203": "Prepare budgets",
    "T204": "Clean data",
    "T401": "Design material handling systems",
    "T402": "Test materials",
    "T403": "Write technical documents",
    "T404": "Calibrate equipment",
}


def _rating(code: str, element: str, name: str, scale: str, value: str, suppress: str = "N") -> list[str]:
    return [
        code,
        "t",
        element,
        name,
        scale,
        scale,
        value,
        "8",
        "0.1",
        "1",
        "5",
        suppress,
        "",
        "08/2023",
        "Analyst",
    ]


def tiny_rows() -> dict[str, list[list[str]]]:
    titles = {A: "Alpha Managers", B: "Beta Analysts", C: "Gamma Helpers", D: "Delta Engineers"}
    text = {tid: t for _, tid, t in TASKS}
    return {
        "occupations": [[c, t, f"{t} run the {t.split()[0].lower()} unit."] for c, t in titles.items()],
        "job_zones": [
            [A, "t", "4", "08/2023", "Analyst"],
            [B, "t", "5", "08/2023", "Analyst"],
            [C, "t", "2", "08/2023", "Analyst"],
            [D, "t", "4", "08/2023", "Analyst"],
        ],
        "tasks": [[c, "t", tid, t, "Core", "50.0", "08/2023", "Incumbent"] for c, tid, t in TASKS],
        "task_dwas": [
            [next(c for c, i, _ in TASKS if i == tid), "t", tid, text[tid], did, title, "07/2014", "Analyst"]
            for tid, did, title in DWAS
        ],
        "related": [
            [A, "t", B, "t", "Primary-Short", "1"],
            [A, "t", C, "t", "Primary-Short", "2"],
            [A, "t", D, "t", "Primary-Long", "3"],
            [B, "t", D, "t", "Primary-Short", "1"],
            [D, "t", A, "t", "Supplemental", "1"],
        ],
        "skills": [
            _rating(A, "2.A.1", "Speaking", "IM", "3.5"),
            _rating(A, "2.A.2", "Writing", "IM", "4.0"),
            _rating(A, "2.A.3", "Reading", "IM", "4.5", suppress="Y"),
            _rating(A, "2.A.4", "Listening", "IM", "3.0"),
            _rating(A, "2.A.4", "Listening", "LV", "6.0"),
            _rating(D, "2.A.1", "Speaking", "IM", "2.0"),
        ],
        "knowledge": [
            _rating(A, "2.C.1", "Economics", "IM", "4.2"),
            _rating(A, "2.C.2", "Design", "IM", "2.0"),
            _rating(A, "2.C.3", "Physics", "IM", "1.0"),
        ],
        "work_styles": [
            _rating(A, "1.C.1", "Integrity", "IM", "4.9")[:12] + ["08/2023", "Analyst"],
            _rating(A, "1.C.2", "Dependability", "IM", "4.1")[:12] + ["08/2023", "Analyst"],
        ],
        "technology": [
            [A, "t", "Zeta Suite", "1", "x", "N", "N"],
            [A, "t", "Alpha CAD", "2", "x", "Y", "Y"],
            [A, "t", "Beta ERP", "3", "x", "Y", "N"],
            [A, "t", "Alpha CAD", "4", "y", "N", "N"],
            [B, "t", "Gamma BI", "5", "x", "N", "N"],
        ],
    }


def write_release(root: Path, rows: dict[str, list[list[str]]]) -> Path:
    """Write tab-separated tables (rows are written as given: fields are pre-quoted)."""
    root.mkdir(parents=True, exist_ok=True)
    for table, name in FILES.items():
        lines = ["\t".join(HEADERS[table])] + ["\t".join(r) for r in rows[table]]
        (root / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_release(tmp_path / "onet", tiny_rows())


def load_tiny(root: Path, seed: int = 0, **kw):
    args = dict(
        n_eval_tasks=2,
        n_train_tasks=2,
        seed=seed,
        top_skills=2,
        top_knowledge=2,
        top_work_styles=1,
        max_tools=5,
    )
    return load_onet(root, **(args | kw))


def word_leaks(queries: list[str], texts: list[str]) -> list[str]:
    """Queries that occur word for word (after normalise_text) inside any text."""
    blob = "\0".join(f" {normalise_text(t)} " for t in texts)
    return [q for q in queries if f" {normalise_text(q)} " in blob]


def plain_leaks(queries: list[str], texts: list[str]) -> list[str]:
    """Queries that occur inside any text after lower-casing and collapsing whitespace."""
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    blob = "\0".join(norm(t) for t in texts)
    return [q for q in queries if norm(q) in blob]


# ---- tiny release: every value by hand ------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_tiny_relevance_projects_and_leakage(tiny: Path, seed: int) -> None:
    ds = load_tiny(tiny, seed)
    assert ds.employee_ids == [A, B, D]
    assert "3 of 4 occupations kept (job zone >= 4" in ds.notes[0]
    tasks = ds.tasks + ds.train_tasks
    assert len(ds.tasks) == 2 and len(ds.train_tasks) == 2
    assert len({normalise_text(t.task) for t in tasks}) == 4  # the shared text is drawn at most once
    assert "T104" not in {t.id for t in tasks}  # no DWA
    assert set(ds.truth.relevance) == {t.id for t in tasks}
    for t in tasks:
        assert ds.truth.relevance[t.id] == EXPECTED[t.id], t.id
        assert t.project == PROJECTS[t.id]
    assert ds.qrels == {t.id: EXPECTED[t.id] for t in ds.tasks}
    texts = [x for e in ds.employees for x in e.aspects.values()]
    assert word_leaks([t.task for t in tasks], texts) == []
    assert plain_leaks([t.task for t in tasks], texts) == []
    # A shared text sits on the same side for every owner.
    shared_in = {
        e.id
        for e in ds.employees
        if normalise_text(SHARED) in normalise_text(e.aspects.get("experience", ""))
    }
    assert shared_in in (set(), {A, B})


def test_tiny_quotes_profile_aspects_and_missing_aspects(tiny: Path) -> None:
    ds = load_tiny(tiny)
    a = {e.id: e for e in ds.employees}[A]
    assert a.aspects["role"] == "Alpha Managers. Alpha Managers run the alpha unit."
    assert (
        a.aspects["abilities"]
        == "Most important skills: Writing, Speaking. Most important knowledge: Economics, Design."
    )
    assert a.aspects["behavior"] == "Most important work styles: Integrity."
    assert a.aspects["tools"] == "Technology used: Alpha CAD, Beta ERP, Zeta Suite."
    b = {e.id: e for e in ds.employees}[B]
    assert "abilities" not in b.aspects and "behavior" not in b.aspects  # no ratings: aspect absent
    texts = [values[0] for _, values in read_table(tiny, "tasks", ["Task"])]
    assert texts[1] == 'Check "fire" alarms in the warehouse.'  # a quoted field of the text release
    everything = [x for e in ds.employees for x in e.aspects.values()] + [
        t.task for t in ds.tasks + ds.train_tasks
    ]
    assert all('Check "fire" alarms in the warehouse.' in x for x in everything if "fire" in x)
    assert ATTRIBUTION in ds.context and ds.aspects == [
        "role",
        "experience",
        "abilities",
        "behavior",
        "tools",
    ]


def test_tiny_drops_experience_that_contains_a_query(tiny: Path) -> None:
    drawn = 0
    for seed in range(40):
        ds = load_tiny(tiny, seed)
        if "T103" in {t.id for t in ds.tasks + ds.train_tasks}:
            drawn += 1
            d = {e.id: e for e in ds.employees}[D]
            assert "Calibrate sensors" not in d.aspects.get("experience", "")
    assert drawn, "task 103 is never drawn; widen the seed range"


def test_tiny_parameter_errors(tiny: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.n_eval_tasks \+ data\.n_train_tasks = 50"):
        load_tiny(tiny, n_eval_tasks=40, n_train_tasks=10)
    with pytest.raises(ConfigError, match=r"data\.min_job_zone=6"):
        load_tiny(tiny, min_job_zone=6)
    assert load_tiny(tiny, min_job_zone=5, n_eval_tasks=1, n_train_tasks=0).employee_ids == [B]


def test_malformed_rows_name_file_line_and_column(tmp_path: Path) -> None:
    rows = tiny_rows()
    rows["job_zones"][1] = [B, "t", "5"]  # 3 fields, header has 5: line 3
    root = write_release(tmp_path / "a", rows)
    with pytest.raises(DataError) as error:
        load_tiny(root)
    assert str(error.value).startswith(
        f"{root / 'Job Zones.txt'}:3: 3 tab-separated fields where the header has 5"
    )
    rows = tiny_rows()
    rows["skills"][1][6] = "high"
    root = write_release(tmp_path / "b", rows)
    with pytest.raises(DataError, match=r"Skills\.txt:3: column 'Data Value' holds 'high', not a number"):
        load_tiny(root)
    rows = tiny_rows()
    root = write_release(tmp_path / "c", rows)
    (root / "Related Occupations.txt").write_text("O*NET-SOC Code\tTitle\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"Related Occupations\.txt:1: header lacks column\(s\) 'Related O\*NET-SOC Code'"
    ):
        load_tiny(root)


def test_missing_directory_and_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_onet(tmp_path / "nowhere")
    message = str(error.value)
    assert "\n" not in message and "nowhere" in message and "Occupation Data.txt" in message
    assert "https://www.onetcenter.org/database.html" in message and "data.root=DIR" in message
    root = write_release(tmp_path / "onet", tiny_rows())
    (root / "Tasks to DWAs.txt").unlink()
    with pytest.raises(DataError) as error:
        load_onet(root)
    message = str(error.value)
    assert "\n" not in message and "missing O*NET file 'Tasks to DWAs.txt'" in message
    assert '"text" zip' in message


# ---- the real release -----------------------------------------------------------------------
def _read(name: str) -> list[dict[str, str]]:
    with (ONET / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="session")
def onet():
    return load_onet(ONET)


@pytest.fixture(scope="session")
def reference() -> dict:
    """Kept occupations, statement owners, Primary-Short relations and DWAs, read independently."""
    zones = _read("Job Zones.txt")
    kept = {r["O*NET-SOC Code"] for r in zones if int(r["Job Zone"]) >= 4}
    owners, text = defaultdict(set), {}
    for r in _read("Task Statements.txt"):
        text[r["Task ID"]] = r["Task"]
        if r["O*NET-SOC Code"] in kept:
            owners[normalise_text(r["Task"])].add(r["O*NET-SOC Code"])
    related = defaultdict(set)
    for r in _read("Related Occupations.txt"):
        if r["Relatedness Tier"] == "Primary-Short":
            related[r["O*NET-SOC Code"]].add(r["Related O*NET-SOC Code"])
    dwas = defaultdict(set)
    for r in _read("Tasks to DWAs.txt"):
        dwas[r["Task ID"]].add(r["DWA Title"])
    return {
        "n_zones": len(zones),
        "kept": kept,
        "owners": owners,
        "text": text,
        "related": related,
        "dwas": dwas,
    }


@needs_onet
def test_onet_counts(onet, reference) -> None:
    ds = onet
    kept = reference["kept"]
    assert 200 <= len(kept) <= 600 and len(ds.employees) == len(kept) and set(ds.employee_ids) == kept
    assert f"{len(kept)} of {reference['n_zones']} occupations kept (job zone >= 4" in ds.notes[0]
    assert len(ds.tasks) == 300 and len(ds.train_tasks) == 600
    ids = [t.id for t in ds.tasks + ds.train_tasks]
    assert len(set(ids)) == 900
    assert len({normalise_text(t.task) for t in ds.tasks + ds.train_tasks}) == 900
    owners = {min(c for c, g in ds.qrels[t.id].items() if g == 2) for t in ds.tasks}
    assert len(owners) > 250  # spread across occupations
    coverage = ds.stats()["aspect_coverage"]
    assert coverage["role"] == coverage["tools"] == coverage["experience"] == len(kept)
    assert coverage["abilities"] > 0.9 * len(kept) and coverage["behavior"] > 0.9 * len(kept)
    assert ATTRIBUTION in ds.context


@needs_onet
def test_onet_zero_leakage(onet) -> None:
    ds = onet
    queries = [t.task for t in ds.tasks + ds.train_tasks]
    texts = [x for e in ds.employees for x in e.aspects.values()]
    assert plain_leaks(queries, texts) == []
    assert word_leaks(queries, texts) == []


@needs_onet
def test_onet_grades_owners_2_related_1(onet, reference) -> None:
    ds = onet
    kept, owners, related = reference["kept"], reference["owners"], reference["related"]
    shared = 0
    for t in ds.tasks + ds.train_tasks:
        task_id = t.id.removeprefix("T")
        assert t.task == reference["text"][task_id]
        assert t.project + "." in reference["dwas"][task_id] or t.project in reference["dwas"][task_id]
        own = owners[normalise_text(t.task)]
        shared += len(own) > 1
        expected = {c: 1 for o in own for c in related[o] if c in kept} | {c: 2 for c in own}
        assert ds.truth.relevance[t.id] == expected, t.id
    assert shared > 0  # some query texts belong to several occupations: all graded 2
    assert ds.qrels == {t.id: ds.truth.relevance[t.id] for t in ds.tasks}
    grades = [g for d in ds.qrels.values() for g in d.values()]
    assert set(grades) == {1, 2}


@needs_onet
def test_onet_hash_is_deterministic_per_seed(onet) -> None:
    ds = onet
    again = load_onet(ONET, seed=0)
    assert again.hash == ds.hash
    other = load_onet(ONET, seed=1)
    assert other.hash != ds.hash
    assert {t.id for t in other.tasks} != {t.id for t in ds.tasks}


@needs_onet
def test_onet_config_builds_the_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAMFORM_ONET", raising=False)
    monkeypatch.delenv("TEAMFORM_ROOT", raising=False)
    monkeypatch.chdir(REPO)
    cfg = OmegaConf.create(
        {
            "paths": OmegaConf.load(REPO / "conf/paths/default.yaml"),
            "data": OmegaConf.load(REPO / "conf/data/onet.yaml"),
        }
    )
    assert Path(cfg.data.root).resolve() == ONET  # the default finds ../shared/data/onet
    cfg.data.n_eval_tasks, cfg.data.n_train_tasks, cfg.data.min_job_zone = 20, 10, 5
    ds = load_dataset(cfg.data)
    assert ds.name == "onet" and len(ds.tasks) == 20 and len(ds.train_tasks) == 10
    assert "occupations kept (job zone >= 5" in ds.notes[0]


def test_simulated_backend_writes_onet_curriculums_and_negatives_from_real_profiles(onet) -> None:
    """The simulated LLM serves every synthesis stage on O*NET (relevance-only truth): excerpts."""
    import asyncio

    from data_synth.backend import LLMRequest
    from data_synth.schemas import negatives_schema, profile_schema
    from data_synth.simulated import SimulatedBackend
    from data_synth.simulated_excerpts import sentences, soc_closeness

    backend = SimulatedBackend(onet)
    assert all(
        backend.cannot_serve(stage) is None
        for stage in ("projects", "tasks", "curriculum", "label", "negatives")
    )
    aspects = tuple(onet.aspects)
    by_id = {e.id: e.aspects for e in onet.employees}
    for task in onet.train_tasks[:20]:
        payload = {"project": task.project, "task": task.task, "aspects": list(aspects)}
        ideal = asyncio.run(
            backend.ask(LLMRequest("curriculum", [], profile_schema(aspects), payload))
        ).parsed.model_dump(by_alias=True)
        grades = onet.truth.relevance[task.id]
        owners = [e for e, g in grades.items() if g == max(grades.values())]
        # most of the role sentences come from one owner's real profile
        role = sentences(ideal["role"])
        assert max(sum(s in by_id[o].get("role", "") for s in role) for o in owners) >= len(role) - 1
        negatives = asyncio.run(
            backend.ask(LLMRequest("negatives", [], negatives_schema(aspects), payload))
        ).parsed
        hardest, easiest = (
            negatives.most_similar.model_dump(by_alias=True),
            negatives.least_similar.model_dump(by_alias=True),
        )
        source = {
            lvl: next(
                e for e, a in by_id.items() if set(sentences(p["role"])) <= set(sentences(a.get("role", "")))
            )
            for lvl, p in ((4, hardest), (1, easiest))
        }
        assert all(grades.get(e, 0) == 0 for e in source.values())  # negatives are never relevant
        assert max(soc_closeness(o, source[4]) for o in owners) >= max(
            soc_closeness(o, source[1]) for o in owners
        )
