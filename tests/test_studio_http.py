"""Label studio over real HTTP on loopback: access control, limits, concurrency, team builder, serve."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench.core.errors import ConfigError
from bench.data.custom import load_custom
from bench.studio.app import create_app
from bench.studio.server import StudioServer
from tests.studio_fixtures import SENTINEL, services, settings, sign_in, studio_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("studio-http")
    app = create_app(studio_dataset(), out, settings(n_pairs=30), services())
    with StudioServer(app) as running:
        yield running


def _client(server: StudioServer, annotator: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=server.base_url, timeout=10)
    csrf = sign_in(client, server.login_url(annotator))
    return client, {"X-CSRF-Token": csrf}


# ---- access --------------------------------------------------------------------------------
def test_requests_without_the_token_are_refused(server: StudioServer) -> None:
    bare = httpx.Client(base_url=server.base_url)
    page = bare.get("/annotate")
    assert page.status_code == 403 and "the URL printed by `teamform label serve`" in page.text
    assert bare.get("/team").status_code == 403
    assert bare.get("/api/annotate/state").status_code == 403
    assert bare.get("/api/annotate/state").json()["fix"].startswith("open the URL printed")
    assert bare.post("/api/annotate/answer", json={"pair": 0, "label": 1}).status_code == 403
    assert bare.get("/static/annotate.js").status_code == 403
    assert bare.get("/static/studio.css").status_code == 200  # the error page's style, no data
    wrong = bare.get("/login", params={"token": "not-the-token"})
    assert wrong.status_code == 403 and "expired" in wrong.text and "teamform label serve" in wrong.text
    assert bare.get("/annotate", cookies={"studio_x": "forged"}).status_code == 403


def test_the_link_opens_a_strict_session(server: StudioServer) -> None:
    first = httpx.get(server.login_url("ann"))
    assert first.status_code == 303 and first.headers["location"] == "/annotate"
    cookie = first.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    client, _ = _client(server, "ann")
    page = client.get("/annotate")
    assert page.status_code == 200 and 'data-testid="progress"' in page.text
    assert SENTINEL not in page.text  # profiles come as JSON, set as text by the script


def test_security_headers(server: StudioServer) -> None:
    client, _ = _client(server, "headers")
    for path in ("/annotate", "/api/annotate/state", "/static/annotate.js"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_writes_need_the_csrf_token_and_the_same_origin(server: StudioServer) -> None:
    client, csrf = _client(server, "csrf")
    pair = client.get("/api/annotate/state").json()["pair"]["id"]
    body = {"pair": pair, "label": 1}
    assert client.post("/api/annotate/answer", json=body).status_code == 403
    assert (
        client.post("/api/annotate/answer", json=body, headers={"X-CSRF-Token": "stale"}).status_code == 403
    )
    evil = {**csrf, "Origin": "http://evil.example"}
    assert client.post("/api/annotate/answer", json=body, headers=evil).status_code == 403
    cross = {**csrf, "Sec-Fetch-Site": "cross-site"}
    assert client.post("/api/annotate/answer", json=body, headers=cross).status_code == 403
    own = {**csrf, "Origin": server.base_url, "Sec-Fetch-Site": "same-origin"}
    assert client.post("/api/annotate/answer", json=body, headers=own).status_code == 200
    assert client.post("/api/annotate/answer", json=body, headers=own).status_code == 409  # a double submit


def test_foreign_host_and_large_bodies_are_refused(server: StudioServer) -> None:
    client, csrf = _client(server, "limits")
    assert client.get("/annotate", headers={"Host": "evil.example"}).status_code == 400
    big = b'{"text": "' + b"x" * 70_000 + b'"}'
    headers = {**csrf, "Content-Type": "application/json"}
    assert client.post("/api/team/split", content=big, headers=headers).status_code == 413
    chunks = (big[i : i + 8192] for i in range(0, len(big), 8192))  # no Content-Length: chunked
    assert client.post("/api/team/split", content=chunks, headers=headers).status_code == 413
    assert client.post("/api/team/split", json={"text": "a\nb"}, headers=csrf).json() == {"tasks": ["a", "b"]}


def test_per_annotator_sign_in_form(server: StudioServer) -> None:
    token = server.app.state.studio.token
    client = httpx.Client(base_url=server.base_url)
    form = client.get("/login", params={"token": token})
    assert form.status_code == 200 and 'name="annotator"' in form.text
    signed = client.post("/login", data={"token": token, "annotator": "dana"})
    assert signed.status_code == 303 and signed.headers["location"] == "/annotate"
    assert client.get("/api/annotate/state").json()["annotator"] == "dana"
    assert (
        httpx.post(server.base_url + "/login", data={"token": "wrong", "annotator": "eve"}).status_code == 403
    )
    assert (
        httpx.post(server.base_url + "/login", data={"token": token, "annotator": "<b>"}).status_code == 400
    )
    cross = httpx.post(
        server.base_url + "/login",
        data={"token": token, "annotator": "eve"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status_code == 403


def test_graded_scale(tmp_path: Path) -> None:
    app = create_app(studio_dataset(), tmp_path, settings(grades=[0, 1, 2, 3]), services())
    with StudioServer(app) as running:
        client, csrf = _client(running, "ann")
        page = client.get("/annotate").text
        assert all(f'data-testid="label-{g}"' in page for g in range(4))
        pair = client.get("/api/annotate/state").json()["pair"]
        bad = client.post("/api/annotate/answer", json={"pair": pair["id"], "label": 4}, headers=csrf)
        assert bad.status_code == 400
        client.post(
            "/api/annotate/answer", json={"pair": pair["id"], "label": 3}, headers=csrf
        ).raise_for_status()
        judge = {"task_id": "t2", "employee_id": "kiln3", "action": "accept"}
        client.post("/api/team/judge", json=judge, headers=csrf).raise_for_status()
    qrels = load_custom(tmp_path).qrels
    assert qrels[pair["task"]["id"]][pair["employee"]["id"]] == 3 and qrels["t2"]["kiln3"] == 1


def test_a_taken_port_names_the_key(server: StudioServer) -> None:
    with pytest.raises(ConfigError, match="label.port"):
        StudioServer(server.app, "127.0.0.1", server.port)


# ---- concurrency ---------------------------------------------------------------------------
def test_two_concurrent_annotators_lose_nothing(tmp_path: Path) -> None:
    app = create_app(studio_dataset(), tmp_path, settings(n_pairs=30, overlap=0.3), services())
    answered: dict[str, list[tuple[str, str]]] = {}
    errors: list[BaseException] = []
    with StudioServer(app) as running:

        def annotate(name: str) -> None:
            try:
                client, csrf = _client(running, name)
                state = client.get("/api/annotate/state").json()
                answered[name] = []
                for _ in range(60):  # bounded: at most 30 pairs each
                    if state["pair"] is None:
                        return
                    pair = state["pair"]
                    reply = client.post(
                        "/api/annotate/answer", json={"pair": pair["id"], "label": 1}, headers=csrf
                    )
                    reply.raise_for_status()
                    answered[name].append((pair["task"]["id"], pair["employee"]["id"]))
                    state = reply.json()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=annotate, args=(n,)) for n in ("ann", "bob")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    events = [json.loads(line) for line in (tmp_path / "annotations.jsonl").read_text().splitlines()]
    assert len(events) == sum(len(v) for v in answered.values())
    assert Counter(e["annotator"] for e in events) == {n: len(v) for n, v in answered.items()}
    both = set(answered["ann"]) & set(answered["bob"])
    assert len(both) == 9  # the shared pairs only: nobody duplicated the other's work
    assert len(set(answered["ann"]) | set(answered["bob"])) == 30
    rows = (tmp_path / "labels.csv").read_text().splitlines()[1:]
    assert len(rows) == len(set(rows)) == 30 + 3
    assert len(load_custom(tmp_path).qrels) == 4


# ---- team builder --------------------------------------------------------------------------
def test_team_builder_records_picks_and_new_tasks(server: StudioServer) -> None:
    client, csrf = _client(server, "lead")
    out = server.app.state.out_dir
    team = client.post(
        "/api/team/propose",
        json={"project": "Kiln line", "tasks": ["Stop the cracks after firing", "Order new kiln bricks"]},
        headers=csrf,
    ).json()
    assert [t["task_id"] for t in team["tasks"]] == ["t1", "studio-t1"]  # known task kept, new one fresh
    assert team["tasks"][0]["picks"][0]["employee"]["id"] == "kiln0"
    assert team["tasks"][0]["picks"][0]["explanation"][0] == ["role", 1, 0.8]
    again = client.post(
        "/api/team/propose", json={"project": "Kiln line", "tasks": ["Order new kiln bricks"]}, headers=csrf
    ).json()
    assert again["tasks"][0]["task_id"] == "studio-t1"
    judge = "/api/team/judge"
    client.post(
        judge, json={"task_id": "studio-t1", "employee_id": "kiln1", "action": "accept"}, headers=csrf
    )
    client.post(
        judge,
        json={"task_id": "t1", "employee_id": "kiln0", "action": "replace", "replacement": "glaze2"},
        headers=csrf,
    ).raise_for_status()
    assert (
        client.post(
            judge, json={"task_id": "t1", "employee_id": "kiln0", "action": "replace"}, headers=csrf
        ).status_code
        == 400
    )
    assert (
        client.post(
            judge, json={"task_id": "t9", "employee_id": "kiln0", "action": "accept"}, headers=csrf
        ).status_code
        == 400
    )
    loaded = load_custom(out)
    assert loaded.task_by_id["studio-t1"].task == "Order new kiln bricks"
    assert loaded.qrels["studio-t1"]["kiln1"] == 1
    assert loaded.qrels["t1"]["kiln0"] == 0 and loaded.qrels["t1"]["glaze2"] == 1
    tasks = client.get("/api/team/tasks", params={"project": "Kiln line"}).json()["tasks"]
    assert [t["id"] for t in tasks] == ["t1", "t2", "studio-t1"]


# ---- serve ---------------------------------------------------------------------------------
SERVE = """
import sys
sys.path.insert(0, {root!r})
from bench.studio.server import serve
from bench.studio.services import StudioServices
from tests.studio_fixtures import SENTINEL, fake_rank_top_k, settings, studio_dataset

def boom(project, tasks):
    raise RuntimeError(SENTINEL + " leaked into an error message")

serve(studio_dataset(), {out!r}, settings(annotator="ann"), \
StudioServices(rank_top_k=fake_rank_top_k, propose_team=boom))
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_the_url_first_and_the_directory_last(tmp_path: Path, stop: signal.Signals) -> None:
    out = tmp_path / "label-out"
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(root=str(ROOT), out=str(out))],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        url = re.search(r"http://\S+", first).group(0)
        assert "token=" in url and url.startswith("http://127.0.0.1:")
        client = httpx.Client(timeout=10)
        page = client.get(url, follow_redirects=True)
        csrf = {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)}
        base = url.split("/login")[0]
        assert SENTINEL in client.get(base + "/api/annotate/state").text
        failed = client.post(base + "/api/team/propose", json={"project": "P", "tasks": ["T"]}, headers=csrf)
        assert failed.status_code == 500 and SENTINEL not in failed.text
        proc.send_signal(stop)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    lines = (first + stdout).strip().splitlines()
    assert lines[-1] == str(out)
    assert re.findall(r"http://\S+", first + stdout)[0] == url
    assert "internal error (RuntimeError) on POST /api/team/propose" in stderr
    assert SENTINEL not in stdout + stderr and "Uvicorn running" not in stdout + stderr
    assert (out / "labels.csv").exists() and (out / "studio.sqlite").exists()
