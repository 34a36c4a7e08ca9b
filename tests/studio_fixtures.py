"""A tiny enterprise and deterministic service doubles for the label studio tests.

Three trades of four employees and four evaluation tasks: 48 pairs, 3 of them judged in the input
labels. Employee ``glaze1`` has planted HTML and script in a profile; every experience text holds
:data:`SENTINEL`, to check that no employee text reaches logs or state. The doubles rank and
propose teams by a fixed rule, so every test knows what the pages will show.
"""

from __future__ import annotations

import re

import httpx

from bench.core.dataset import Dataset, Employee, Task
from bench.studio.services import StudioServices
from bench.studio.settings import LabelSettings

PLANTED = (
    '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
    "<b>bold</b> & 'quotes' \"double\""
)
SENTINEL = "Zqvx-PERSONAL-Sentinel"
ASPECTS = ["role", "abilities", "experience"]
TRADES = {
    "kiln": ("kiln operator", "firing curves, kiln maintenance", "tunnel kilns"),
    "glaze": ("glaze technician", "colour matching, glaze recipes", "tile glaze lab"),
    "sales": ("sales manager", "retail contracts, forecasting", "bathroom fixtures"),
}
TASKS = [
    Task("t1", "Kiln line", "Stop the cracks after firing"),
    Task("t2", "Kiln line", "Tune the firing curve of kiln 3"),
    Task("t3", "Glaze lab", "Match the new glaze colour"),
    Task("t4", "Retail", "Close the contract with the retailer"),
]
INPUT_LABELS = {"t1": {"kiln0": 1, "sales0": 0}, "t4": {"sales1": 1}}


def studio_dataset(planted: bool = True) -> Dataset:
    """12 employees x 4 tasks = 48 pairs, 3 of them judged in the input labels."""
    employees = []
    for trade, (role, abilities, experience) in TRADES.items():
        for k in range(4):
            aspects = {
                "role": f"{role} {k}",
                "abilities": abilities,
                "experience": f"{experience}, {SENTINEL} {trade}{k}",
            }
            if trade == "glaze" and k == 1 and planted:
                aspects["abilities"] = PLANTED
            if trade == "sales" and k == 3:
                del aspects["experience"]
            employees.append(Employee(f"{trade}{k}", aspects))
    return Dataset(
        "custom", employees, list(TASKS), {t: dict(r) for t, r in INPUT_LABELS.items()}, aspects=list(ASPECTS)
    )


def fake_rank_top_k(task_ids: list[str], k: int) -> dict[str, list[str]]:
    """Each task's trade first (kiln for t1/t2, glaze for t3, sales for t4), then the others."""
    trade_of = {"t1": "kiln", "t2": "kiln", "t3": "glaze", "t4": "sales"}
    ranking = {}
    for task_id in task_ids:
        first = trade_of.get(task_id, "kiln")
        order = [first] + [t for t in TRADES if t != first]
        ranking[task_id] = [f"{t}{i}" for t in order for i in range(4)][:k]
    return ranking


def fake_propose_team(project: str, tasks: list[str]) -> dict:
    """Task i gets ``kiln{i % 4}``; the next three are the glaze employees (a team.json dict)."""
    rows = []
    for i, text in enumerate(tasks):
        pick = f"kiln{i % 4}"
        rows.append(
            {
                "task": f"x{i}",
                "text": text,
                "assigned": [
                    {
                        "employee_id": pick,
                        "fused_score": 0.9 - i / 100,
                        "aspects": {
                            "role": {"rank": 1, "score": 0.8},
                            "abilities": {"rank": 2, "score": 0.6},
                        },
                    }
                ],
                "next": [{"employee_id": f"glaze{j}", "fused_score": 0.5 - j / 10} for j in range(3)],
                "displaced": None,
            }
        )
    return {
        "project": project,
        "system": "fake/condorcet",
        "solver": "greedy",
        "objective": "sum",
        "tasks": rows,
    }


def services() -> StudioServices:
    return StudioServices(rank_top_k=fake_rank_top_k, propose_team=fake_propose_team)


def settings(**overrides: object) -> LabelSettings:
    """Small sample: 20 pairs, half top-k, a fifth shared."""
    values = {"n_pairs": 20, "top_k": 4, "seed": 3, **overrides}
    return LabelSettings(**values)


def sign_in(client: httpx.Client, login_url: str) -> str:
    """Open the access link with ``client`` (keeping the cookie); returns the page's CSRF token."""
    page = client.get(login_url, follow_redirects=True)
    page.raise_for_status()
    match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    if match is None:
        raise AssertionError("no CSRF token on the annotate page")
    return match.group(1)
