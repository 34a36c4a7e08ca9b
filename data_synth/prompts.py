"""Versioned prompt templates of the synthesis stages (files under ``data_synth/prompts/``).

Each template is a Markdown file whose first line is a header comment::

    <!-- template: label_base | version: 1 | variables: enterprise_context, project_description, ... -->

The body is rendered with :func:`render`: ``{name}`` is replaced by the value of ``name``,
``{{name}}`` stands for a literal ``{name}`` (how the Eureka reviewer prompt names the
placeholders new prompts must keep), and any other brace is left alone, so JSON examples and
prompts written by an LLM need no escaping. A template's version is ``{header version}+{sha256 of
the file, 8 hex}``: editing a prompt changes its version and therefore the artifact key.

The prompt structure follows the sources (written in our own words): two-stage task generation
(Drummond and Veloso (2024), section 4.2 and Figure 7), one ideal-employee curriculum per
task with the data's aspect sections (Lima (2024, thesis), section 4.3.3), the chain-of-thought
labelling prompt that weighs strengths and weaknesses and ends with 0 or 1 (paper Figure 3), the
Eureka review prompt (paper Figure 4, Algorithm 1) and four negatives ordered from most to least
similar (Negative Matters (2025), section 2.1, Figure 2). Every template starts with
``{enterprise_context}``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.core.errors import ConfigError

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"

# The one list of template names (file stems).
TEMPLATES = ("projects", "tasks", "curriculum", "label_base", "eureka_review", "negatives")

# Placeholders of a labelling prompt (the base one and every Eureka candidate).
LABEL_INPUTS = ("project_description", "task_description", "employee_resume")

# Short descriptions of common aspect names, used when listing the sections of a profile. Aspect
# names come from the data; an unknown aspect is listed by its name alone.
ASPECT_HINTS = {
    "role": "job title and main responsibilities",
    "abilities": "professional abilities and skills",
    "experience": "previous professional experience, within or outside the company",
    "goals": "professional goals and what the person wants to develop",
    "behavior": "behaviour and soft skills, as a manager's yearly evaluation describes them",
    "tools": "tools, software and technologies the person works with",
}

_HEADER = re.compile(r"^<!--\s*(.*?)\s*-->\s*\n", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")


@dataclass(frozen=True)
class PromptTemplate:
    """One loaded template.

    Attributes:
        name: the file stem (one of :data:`TEMPLATES`).
        version: ``{header version}+{sha8}``.
        variables: the names :func:`render` must receive.
        body: the text after the header line.
    """

    name: str
    version: str
    variables: tuple[str, ...]
    body: str

    def render(self, **values: object) -> str:
        """Fill the template (see :func:`render`); every declared variable is required."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ConfigError(f"prompt template {self.name!r} needs values for: {', '.join(missing)}")
        return render(self.body, **values)


def render(text: str, **values: object) -> str:
    """Replace ``{name}`` by ``values[name]`` and ``{{name}}`` by a literal ``{name}``.

    Placeholders without a value and all other braces are left as they are; inserted values are
    not rendered again. Leading blank lines (an empty enterprise context) are dropped.

    Example:
        >>> render('{a} {{b}} {c} {"k": 1}', a="x")
        'x {b} {c} {"k": 1}'
    """

    def fill(match: re.Match[str]) -> str:
        literal, name = match.group(1), match.group(2)
        if literal is not None:
            return "{" + literal + "}"
        return str(values[name]) if name in values else match.group(0)

    return _PLACEHOLDER.sub(fill, text).lstrip("\n")


def _parse_header(name: str, text: str) -> tuple[dict[str, str], str]:
    match = _HEADER.match(text)
    if not match:
        raise ConfigError(
            f"{PROMPT_DIR / (name + '.md')}: the first line must be a '<!-- template: ... -->' header"
        )
    fields = {}
    for part in match.group(1).split("|"):
        key, _, value = part.partition(":")
        fields[key.strip()] = value.strip()
    return fields, text[match.end() :]


@cache
def load_template(name: str) -> PromptTemplate:
    """Load ``data_synth/prompts/{name}.md``.

    Example:
        >>> load_template("label_base").variables[0]
        'enterprise_context'
    """
    if name not in TEMPLATES:
        raise ConfigError(f"unknown prompt template {name!r}; choose one of: {', '.join(TEMPLATES)}")
    path = PROMPT_DIR / f"{name}.md"
    raw = path.read_text(encoding="utf-8")
    fields, body = _parse_header(name, raw)
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:8]
    variables = tuple(v.strip() for v in fields.get("variables", "").split(",") if v.strip())
    return PromptTemplate(
        name=name, version=f"{fields.get('version', '0')}+{digest}", variables=variables, body=body
    )


def prompt_versions() -> dict[str, str]:
    """``template name -> version`` for every template (part of the artifact key and manifest)."""
    return {name: load_template(name).version for name in TEMPLATES}


def prompt_id(text: str) -> str:
    """A short stable id of a labelling prompt's text (``p`` + 10 hex digits).

    Example:
        >>> prompt_id("x") == prompt_id("x") and prompt_id("x").startswith("p")
        True
    """
    return "p" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def aspect_sections(aspects: list[str]) -> str:
    """The list of profile sections for the curriculum / negatives prompts.

    Example:
        >>> aspect_sections(["role", "hobbies"])
        '- role: job title and main responsibilities\\n- hobbies'
    """
    return "\n".join(f"- {a}: {ASPECT_HINTS[a]}" if a in ASPECT_HINTS else f"- {a}" for a in aspects)


def render_label_prompt(template: str, context: str, project: str, task: str, resume: str) -> str:
    """Fill a labelling prompt (the base one or an Eureka candidate).

    A candidate written by an LLM may have lost some input placeholders; the missing inputs are
    then appended at the end, so every prompt sees the project, the task and the record.
    """
    values = {
        "enterprise_context": context,
        "project_description": project,
        "task_description": task,
        "employee_resume": resume,
    }
    text = render(template, **values)
    labels = {
        "project_description": "Project",
        "task_description": "Task",
        "employee_resume": "Employee record",
    }
    missing = [k for k in LABEL_INPUTS if "{" + k + "}" not in template]
    if missing:
        text += "\n\n" + "\n".join(f"{labels[k]}: {values[k]}" for k in missing)
    return text


def base_label_prompt() -> str:
    """The hand-written labelling prompt (paper Figure 3 structure), the start of Eureka."""
    return load_template("label_base").body
