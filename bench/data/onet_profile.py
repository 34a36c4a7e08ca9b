"""The profile aspects of an O*NET occupation: role, abilities, behavior and tools.

``role`` is the title and description (``Occupation Data.txt``); ``abilities`` the most important
skills and knowledge areas (``Skills.txt``, ``Knowledge.txt``); ``behavior`` the most important
work styles (``Work Styles.txt``), all ranked by the importance scale ``IM`` with estimates the
release recommends suppressing left out; ``tools`` the technology skills
(``Technology Skills.txt``), hot and in-demand ones first. The ``experience`` aspect (task
statements) is built in :mod:`bench.data.onet`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bench.data.onet_tables import CODE, number, read_table


def profile_aspects(
    root: Path, kept: list[str], top_skills: int, top_knowledge: int, top_work_styles: int, max_tools: int
) -> dict[str, dict[str, str]]:
    """``code -> aspect -> text`` for every kept occupation (aspects without data are absent).

    Args:
        root: directory of the O*NET text release.
        kept: the occupations (O*NET-SOC codes) that play employees.
        top_skills: how many skills go into ``abilities``.
        top_knowledge: how many knowledge areas go into ``abilities``.
        top_work_styles: how many work styles go into ``behavior``.
        max_tools: at most this many technology examples go into ``tools``.

    Returns:
        For example ``{"11-1011.00": {"role": "Chief Executives. Determine ...", "abilities":
        "Most important skills: Judgment and Decision Making, ... Most important knowledge: ...",
        "behavior": "Most important work styles: Leadership, ...", "tools": "Technology used:
        Microsoft Excel, ..."}}``.
    """
    wanted = set(kept)
    rows = read_table(root, "occupations", [CODE, "Title", "Description"])
    profile = {code: {"role": f"{title}. {text}"} for _, (code, title, text) in rows if code in wanted}
    skills = _ranked(root, "skills", wanted, top_skills)
    knowledge = _ranked(root, "knowledge", wanted, top_knowledge)
    styles = _ranked(root, "work_styles", wanted, top_work_styles)
    tools = _tools(root, wanted, max_tools)
    for code, aspects in profile.items():
        parts = []
        if skills.get(code):
            parts.append(f"Most important skills: {', '.join(skills[code])}.")
        if knowledge.get(code):
            parts.append(f"Most important knowledge: {', '.join(knowledge[code])}.")
        if parts:
            aspects["abilities"] = " ".join(parts)
        if styles.get(code):
            aspects["behavior"] = f"Most important work styles: {', '.join(styles[code])}."
        if tools.get(code):
            aspects["tools"] = f"Technology used: {', '.join(tools[code])}."
    return profile


def _ranked(root: Path, table: str, kept: set[str], top: int) -> dict[str, list[str]]:
    """``code -> element names`` by importance, highest first (ties by element id)."""
    columns = [CODE, "Element ID", "Element Name", "Scale ID", "Data Value", "Recommend Suppress"]
    scored: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for line, (code, element, name, scale, value, suppress) in read_table(root, table, columns):
        if code in kept and scale == "IM" and suppress != "Y":
            scored[code].append((-number(root, table, line, "Data Value", value), element, name))
    return {code: [name for *_, name in sorted(items)[:top]] for code, items in scored.items()}


def _tools(root: Path, kept: set[str], cap: int) -> dict[str, list[str]]:
    """``code -> technology examples``: hot and in-demand first, then file order; no repeats."""
    columns = [CODE, "Example", "Hot Technology", "In Demand"]
    ranked: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for line, (code, example, hot, demand) in read_table(root, "technology", columns):
        if code in kept and example.strip():
            ranked[code].append((-(hot == "Y") - (demand == "Y"), line, example.strip()))
    return {
        code: list(dict.fromkeys(name for *_, name in sorted(items)))[:cap] for code, items in ranked.items()
    }
