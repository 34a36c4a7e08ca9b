"""What ``conf/synth/*.yaml`` builds: the sizes, seeds and switches of the synthesis stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.core.errors import ConfigError
from bench.data.splits import DevSplit

# The stages in the order they run. Eureka runs before labels, because the labels stage uses the
# best prompt Eureka found (Drummond and Veloso (2024), section 4.2 and Algorithm 1).
STAGE_ORDER = ("projects", "tasks", "curriculums", "eureka", "labels", "negatives")
LABEL_PROMPTS = ("auto", "base", "eureka")
POOL_ENCODERS = ("base", "tfidf")

# Reply token limits per LLM request stage (see data_synth.backend.STAGES).
DEFAULT_REPLY_TOKENS = {
    "projects": 600,
    "tasks": 600,
    "curriculum": 900,
    "label": 500,
    "eureka_review": 3000,
    "negatives": 2400,
}


@dataclass
class SynthConfig:
    """Settings of ``teamform synth`` (``conf/synth/default.yaml`` documents each value).

    Attributes:
        stages: the stages to run (a subset of :data:`STAGE_ORDER`; run in that order).
        n_brainstorms: project brainstorms, each with another sample of abilities (paper 4.2).
        projects_per_brainstorm: projects asked for in one brainstorm.
        n_abilities: ability phrases sampled from the employee data for one brainstorm.
        abilities_aspect: the aspect the abilities are sampled from (first aspect if absent).
        tasks_per_project: tasks asked for per project.
        n_curriculums: tasks that get an ideal curriculum (``None``: every task).
        n_labels: labelled (task, employee) pairs.
        label_top_k: size of the base encoder's candidate pool per task (paper: 20).
        label_top_share: probability that the employee comes from that pool (paper: 1/2).
        label_pool_encoder: ``base`` (the configured embedding model) or ``tfidf`` (fast, for tests).
        label_prompt: ``auto`` (Eureka's best when Eureka ran, else the base prompt), ``base``, ``eureka``.
        eureka_generations: Algorithm 1's N.
        eureka_candidates: Algorithm 1's K (new prompts per generation).
        dev_split: the dev tasks of ``eval.dev_split`` (:class:`bench.data.splits.DevSplit`): Eureka's
            fitness reads only their judged pairs, and evaluation never scores them.
        eureka_max_dev_pairs: cap on the development pairs (cost control).
        n_negatives: tasks that get four negatives (``None``: every task with a curriculum).
        leakage_threshold: word-Jaccard at or above which a synthetic task counts as a near copy of
            an evaluation task and is dropped.
        temperature: sampling temperature of the generating stages.
        label_temperature: sampling temperature of labelling (fitness and labels).
        reply_tokens: reply token limit per request stage.
        seed: seeds every sample.
        dry_run: print each stage's calls, tokens and price (:mod:`data_synth.estimate`) and stop,
            calling no LLM and writing nothing (not part of the artifact key).
    """

    stages: list[str] = field(default_factory=lambda: list(STAGE_ORDER))
    n_brainstorms: int = 8
    projects_per_brainstorm: int = 5
    n_abilities: int = 12
    abilities_aspect: str = "abilities"
    tasks_per_project: int = 6
    n_curriculums: int | None = None
    n_labels: int = 1500
    label_top_k: int = 20
    label_top_share: float = 0.5
    label_pool_encoder: str = "base"
    label_prompt: str = "auto"
    eureka_generations: int = 10
    eureka_candidates: int = 4
    dev_split: DevSplit = field(default_factory=DevSplit)
    eureka_max_dev_pairs: int = 150
    n_negatives: int | None = None
    leakage_threshold: float = 0.8
    temperature: float = 0.8
    label_temperature: float = 0.0
    reply_tokens: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_REPLY_TOKENS))
    seed: int = 0
    dry_run: bool = False

    def __post_init__(self) -> None:
        self.stages = list(self.stages)
        self.dev_split = DevSplit.of(self.dev_split)
        unknown = [s for s in self.stages if s not in STAGE_ORDER]
        if unknown:
            raise ConfigError(
                f"synth.stages has unknown stage(s) {unknown}; choose from: {', '.join(STAGE_ORDER)}"
            )
        if self.label_pool_encoder not in POOL_ENCODERS:
            raise ConfigError(
                f"synth.label_pool_encoder={self.label_pool_encoder!r} is unknown; "
                f"choose one of: {', '.join(POOL_ENCODERS)}"
            )
        if self.label_prompt not in LABEL_PROMPTS:
            raise ConfigError(
                f"synth.label_prompt={self.label_prompt!r} is unknown; "
                f"choose one of: {', '.join(LABEL_PROMPTS)}"
            )
        for name in ("label_top_share", "leakage_threshold"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ConfigError(f"synth.{name}={getattr(self, name)} must be in [0, 1]")
        for name in (
            "n_brainstorms",
            "projects_per_brainstorm",
            "tasks_per_project",
            "n_labels",
            "label_top_k",
            "eureka_generations",
            "eureka_candidates",
            "eureka_max_dev_pairs",
            "n_abilities",
        ):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"synth.{name}={getattr(self, name)} must be 0 or more")
        self.reply_tokens = {**DEFAULT_REPLY_TOKENS, **dict(self.reply_tokens)}

    @property
    def ordered_stages(self) -> list[str]:
        """The selected stages in running order."""
        return [s for s in STAGE_ORDER if s in self.stages]

    def key_fields(self) -> dict[str, Any]:
        """Everything that decides the artifact's content (``stages`` does not: one artifact grows;
        ``dry_run`` writes no artifact)."""
        values = asdict(self)
        values.pop("stages")
        values.pop("dry_run")
        return values
