"""Pydantic models of the replies each synthesis stage asks the LLM for.

The models are closed, flat and free of ``minItems``-style keywords, so OpenAI's strict structured
output accepts them (see :func:`data_synth.backend.strict_json_schema`). Profiles (curriculums and
negatives) have one string field per aspect of the dataset; their model is built per aspect list
with :func:`profile_schema` (aspect names come from the data, so they are field aliases). The four
negatives are four named fields rather than a list, which fixes their number and their order
(most similar first, as Negative Matters (2025), Figure 2 asks).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import pydantic


class ProjectList(pydantic.BaseModel):
    """Stage 1, project brainstorm (paper Figure 7, left): a list of project names."""

    projects: list[str]


class TaskList(pydantic.BaseModel):
    """Stage 2, tasks of one project (paper Figure 7, right)."""

    project: str = ""
    tasks: list[str]


class RelevanceLabel(pydantic.BaseModel):
    """Stage 4, chain-of-thought relevance label: the reasoning first, then 0 or 1 (paper Figure 3)."""

    reasoning: str
    label: Literal[0, 1]


class ReviewerReply(pydantic.BaseModel):
    """Stage 5, Eureka review (paper Figure 4): an analysis and the new candidate prompts."""

    reasoning: str = ""
    prompts: list[str]


NEGATIVE_FIELDS = ("most_similar", "similar", "less_similar", "least_similar")
# Level of each field in the artifact (docs/synthetic-data.md): 4 = most similar = hardest.
NEGATIVE_LEVELS = {"most_similar": 4, "similar": 3, "less_similar": 2, "least_similar": 1}


def _field_name(aspect: str, index: int) -> str:
    name = re.sub(r"\W+", "_", aspect).strip("_").lower() or "aspect"
    return f"a{index}_{name}" if name[0].isdigit() or name.startswith("model_") else name


@lru_cache(maxsize=64)
def profile_schema(aspects: tuple[str, ...]) -> type[pydantic.BaseModel]:
    """A model with one required string field per aspect, named (by alias) exactly as the aspect.

    ``model_dump(by_alias=True)`` gives ``{aspect: text}``.

    Example:
        >>> Profile = profile_schema(("role", "job title"))
        >>> Profile.model_validate({"role": "r", "job title": "t"}).model_dump(by_alias=True)
        {'role': 'r', 'job title': 't'}
    """
    fields: dict[str, object] = {}
    used: set[str] = set()
    for index, aspect in enumerate(aspects):
        name = _field_name(aspect, index)
        if name in used:
            name = f"{name}_{index}"
        used.add(name)
        fields[name] = (str, pydantic.Field(alias=aspect))
    return pydantic.create_model(
        "Profile", __config__=pydantic.ConfigDict(populate_by_name=True, extra="ignore"), **fields
    )


@lru_cache(maxsize=64)
def negatives_schema(aspects: tuple[str, ...]) -> type[pydantic.BaseModel]:
    """Stage 6: four profiles ordered from the most to the least similar to the ideal one.

    Example:
        >>> list(negatives_schema(("role",)).model_fields)
        ['most_similar', 'similar', 'less_similar', 'least_similar']
    """
    profile = profile_schema(aspects)
    return pydantic.create_model("NegativeProfiles", **{f: (profile, ...) for f in NEGATIVE_FIELDS})


def profile_dict(profile: pydantic.BaseModel, aspects: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``{aspect: text}`` of a parsed profile, in the aspects' order, empty sections dropped."""
    dumped = profile.model_dump(by_alias=True)
    return {a: " ".join(str(dumped[a]).split()) for a in aspects if str(dumped.get(a, "")).strip()}
