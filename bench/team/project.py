"""Project files for ``teamform team``: a JSON task list or a plain-text description.

``team.project=FILE`` names either a JSON file ``{"project": "...", "tasks": ["...", ...]}`` or a
text description. When no LLM splits a text into tasks (``llm=simulated``),
:func:`split_text_tasks` does: the first line is the title, then one task per line or bullet.
:func:`write_tasks_json` saves the tasks as an editable ``tasks.json`` that a person can fix and
pass back as ``team.project=tasks.json``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bench.core.errors import DataError
from bench.core.io import write_json

_BULLET = re.compile(r"^(?:[-*•]|\d+[.)])\s+")  # "- ", "* ", "• ", "1. ", "1) "
_HEADING = re.compile(r"^#+\s*|^project\s*:\s*", re.IGNORECASE)  # "# Title", "Project: Title"
_TASKS_LABEL = re.compile(r"^(?:tasks?|to-?dos?)\s*:?$", re.IGNORECASE)  # a "Tasks:" line
_JSON_FIX = 'write {"project": "<title>", "tasks": ["<task>", ...]}'


@dataclass(frozen=True)
class ProjectSpec:
    """A project: its title, its task texts, and whether it came from JSON or from text."""

    project: str
    tasks: list[str]
    source: Literal["json", "text"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def split_text_tasks(text: str) -> tuple[str, list[str]]:
    """Split a plain-text description into a project title and tasks (no LLM needed).

    The first non-empty line is the title when more lines follow and it is not a bullet; every
    other non-empty line or bullet is a task, with its ``-``, ``*``, ``•``, ``1.`` or ``1)``
    prefix removed. An indented line under a bullet continues that bullet; a bare ``Tasks:``
    line is skipped.

    Args:
        text: the description.

    Returns:
        ``(title, tasks)``; the title is ``""`` when the text has a single line or starts with a bullet.

    Example:
        >>> split_text_tasks("Coffee app\\n\\n- design the menu\\n  and the cart\\n2) build the API")
        ('Coffee app', ['design the menu and the cart', 'build the API'])
    """
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    title = ""
    if len(lines) > 1 and not _BULLET.match(lines[0].strip()):
        title, lines = _one_line(_HEADING.sub("", lines[0].strip())), lines[1:]
    tasks: list[str] = []
    bulleted = False
    for line in lines:
        stripped = line.strip()
        bullet = _BULLET.match(stripped)
        if bullet:
            tasks.append(stripped[bullet.end() :])
            bulleted = True
        elif bulleted and line[:1].isspace() and tasks:
            tasks[-1] += " " + stripped
        elif not _TASKS_LABEL.match(stripped):
            tasks.append(stripped)
            bulleted = False
    return title, [_one_line(task) for task in tasks if task.strip()]


def _json_tasks(path: Path, data: object) -> ProjectSpec:
    if not isinstance(data, dict):
        raise DataError(path, f"expected a JSON object, got {type(data).__name__}", fix=_JSON_FIX)
    unknown = sorted(set(data) - {"project", "tasks"})
    if unknown:
        raise DataError(path, f"unknown key {unknown[0]!r}", fix='use only "project" and "tasks"')
    if "tasks" not in data:
        raise DataError(path, 'missing "tasks"', fix='add "tasks": ["<task>", ...]')
    project, tasks = data.get("project"), data["tasks"]
    if not isinstance(project, str) or not project.strip():
        raise DataError(path, '"project" must be a non-empty string', fix='add "project": "<one-line title>"')
    if not isinstance(tasks, list):
        raise DataError(path, f'"tasks" must be a list of strings, got {type(tasks).__name__}', fix=_JSON_FIX)
    if not tasks:
        raise DataError(path, '"tasks" is empty', fix="add at least one task")
    for i, task in enumerate(tasks):
        if not isinstance(task, str):
            raise DataError(path, f'"tasks"[{i}] is a {type(task).__name__}, not a string', fix=_JSON_FIX)
        if not task.strip():
            raise DataError(path, f'"tasks"[{i}] is empty', fix="write the task text or remove the entry")
    return ProjectSpec(project=_one_line(project), tasks=[_one_line(t) for t in tasks], source="json")


def read_project(path: str | Path) -> ProjectSpec:
    """Read ``team.project``: JSON when the name ends in ``.json`` or the text starts with ``{``.

    Args:
        path: the project file.

    Returns:
        The :class:`ProjectSpec`. A text file without a title line gets the file's stem as title.

    Raises:
        DataError: one line naming the file, the problem and the fix.

    Example:
        >>> import tempfile
        >>> f = Path(tempfile.mkdtemp()) / "p.json"
        >>> _ = f.write_text('{"project": "App", "tasks": ["UI", "API"]}')
        >>> read_project(f)
        ProjectSpec(project='App', tasks=['UI', 'API'], source='json')
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "no such project file", fix="set team.project to a .json or text file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(path, "not UTF-8 text", fix="save the file as UTF-8") from None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DataError(path, f"not valid JSON (line {err.lineno}: {err.msg})", fix=_JSON_FIX) from None
        return _json_tasks(path, data)
    title, tasks = split_text_tasks(text)
    if not tasks:
        raise DataError(
            path,
            "no tasks in the project description",
            fix="write the project title on the first line and one task per line",
        )
    return ProjectSpec(project=title or path.stem, tasks=tasks, source="text")


def write_tasks_json(directory: str | Path, spec: ProjectSpec) -> Path:
    """Write ``directory/tasks.json`` in the project JSON shape (atomically), to edit and rerun.

    Returns:
        The path written; pass it back as ``team.project=<path>``.

    Example:
        >>> import tempfile
        >>> out = write_tasks_json(tempfile.mkdtemp(), ProjectSpec("App", ["UI"], "text"))
        >>> read_project(out)
        ProjectSpec(project='App', tasks=['UI'], source='json')
    """
    return write_json(Path(directory) / "tasks.json", {"project": spec.project, "tasks": list(spec.tasks)})


def task_ids(n: int) -> list[str]:
    """Stable ids of a project's tasks, in order: ``p1 ... pn``.

    Example:
        >>> task_ids(3)
        ['p1', 'p2', 'p3']
    """
    return [f"p{i}" for i in range(1, n + 1)]
