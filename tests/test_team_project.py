"""Project files: JSON task lists, one-line refusals of bad ones, the plain-text splitter, tasks.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.core.errors import DataError, TeamformError
from bench.team.project import ProjectSpec, read_project, split_text_tasks, task_ids, write_tasks_json


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_a_json_project(tmp_path):
    path = write(
        tmp_path, "p.json", json.dumps({"project": " Coffee  app ", "tasks": ["Design\nthe UI", "API"]})
    )
    assert read_project(path) == ProjectSpec("Coffee app", ["Design the UI", "API"], "json")


def test_json_is_detected_by_content_too(tmp_path):
    path = write(tmp_path, "project.txt", '\n  {"project": "App", "tasks": ["UI"]}')
    assert read_project(path).source == "json"


def refusal(path: Path) -> str:
    with pytest.raises(DataError) as err:
        read_project(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert isinstance(err.value, TeamformError) and err.value.exit_code == 2
    return message


def test_bad_json_names_the_line(tmp_path):
    path = write(tmp_path, "p.json", '{"project": "App",\n "tasks": ["UI",]\n}')
    assert refusal(path).startswith(f"{path}: not valid JSON (line 2: ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"project": "App"}, 'missing "tasks"; add "tasks"'),
        ({"project": "App", "tasks": "UI"}, '"tasks" must be a list of strings, got str'),
        ({"project": "App", "tasks": []}, '"tasks" is empty'),
        (
            {"project": "App", "tasks": ["UI", "  "]},
            '"tasks"[1] is empty; write the task text or remove the entry',
        ),
        ({"project": "App", "tasks": ["UI", 3]}, '"tasks"[1] is a int, not a string'),
        ({"tasks": ["UI"]}, '"project" must be a non-empty string'),
        ({"project": "App", "tasks": ["UI"], "taks": []}, "unknown key 'taks'"),
        (["UI"], "expected a JSON object, got list"),
    ],
)
def test_invalid_json_projects_are_refused_in_one_line(tmp_path, data, expected):
    assert expected in refusal(write(tmp_path, "p.json", json.dumps(data)))


def test_missing_and_empty_files(tmp_path):
    assert "no such project file" in refusal(tmp_path / "nope.json")
    assert "no tasks" in refusal(write(tmp_path, "empty.txt", "\n  \n"))
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 app\n- menu".encode("latin-1"))
    assert "not UTF-8" in refusal(tmp_path / "latin1.txt")


def test_text_with_bullets_and_numbers():
    text = (
        "# Coffee ordering app\n\nTasks:\n- design the menu\n* build the API\n• test payments\n"
        "1. write docs\n2) ship it\n"
    )
    assert split_text_tasks(text) == (
        "Coffee ordering app",
        ["design the menu", "build the API", "test payments", "write docs", "ship it"],
    )


def test_text_plain_lines_and_continuations():
    text = "Project: Warehouse robots\nplan the routes\n- wire the sensors\n  and the motors\nwrite a report"
    assert split_text_tasks(text) == (
        "Warehouse robots",
        ["plan the routes", "wire the sensors and the motors", "write a report"],
    )


def test_text_without_a_title():
    assert split_text_tasks("- one\n- two") == ("", ["one", "two"])
    assert split_text_tasks("  build a mobile app  \n\n") == ("", ["build a mobile app"])
    assert split_text_tasks("") == ("", [])


def test_read_text_project_titles_from_the_stem_when_needed(tmp_path):
    assert read_project(write(tmp_path, "kiosk.txt", "build a kiosk")) == ProjectSpec(
        "kiosk", ["build a kiosk"], "text"
    )
    spec = read_project(write(tmp_path, "p.md", "Kiosk\n1. screen\n2. printer"))
    assert spec == ProjectSpec("Kiosk", ["screen", "printer"], "text")


def test_write_tasks_json_round_trips_and_leaves_no_temp_files(tmp_path):
    spec = ProjectSpec("Kiosk", ["screen | touch", "printer"], "text")
    path = write_tasks_json(tmp_path / "run", spec)
    assert path == tmp_path / "run" / "tasks.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "project": "Kiosk",
        "tasks": ["screen | touch", "printer"],
    }
    assert read_project(path) == ProjectSpec("Kiosk", ["screen | touch", "printer"], "json")
    assert sorted(p.name for p in path.parent.iterdir()) == ["tasks.json"]


def test_task_ids_are_stable():
    assert task_ids(3) == ["p1", "p2", "p3"]
    assert task_ids(0) == []
    assert len(set(task_ids(250))) == 250
