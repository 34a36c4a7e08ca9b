"""What a synthesis run would cost before it runs: LLM calls, tokens and dollars per stage.

``teamform synth synth.dry_run=true`` prints these numbers and stops. Nothing here calls an LLM,
loads a model or writes a file; it reads the dataset, the synth settings and the prompt templates.

How each number is made:

* **Calls** are counted as the stages (:mod:`data_synth.stages`) issue their requests: projects =
  ``n_brainstorms``; tasks = one per project; curriculums = one per task (at most
  ``n_curriculums``); eureka = ``P * (1 + N * K) + N``: the base prompt and the K candidates of
  each of the N generations label the P dev pairs (the judged pairs of the ``eval.dev_split`` dev
  tasks, at most ``eureka_max_dev_pairs``, drawn as the stage draws them), and each generation
  asks the reviewer once (paper Algorithm 1); labels = ``n_labels`` (at most tasks x employees);
  negatives = one per task with a curriculum (at most ``n_negatives``). Eureka is skipped, as the
  stage skips it, with the simulated backend or without dev tasks. Counts that depend on what the
  LLM returns are the *requested* ones: ``n_brainstorms * projects_per_brainstorm`` projects with
  ``tasks_per_project`` tasks each (de-duplication, the leakage guard and invalid replies make
  the real ones smaller, and a reviewer that proposes fewer new prompts makes Eureka cheaper), or
  the counts a finished run produced when they are given (``produced``).
* **Input tokens** are the characters of each stage's real prompt (``data_synth/prompts/*.md``
  rendered by :mod:`data_synth.prompts`) divided by :data:`CHARS_PER_TOKEN` = 4, the usual rule of
  thumb for English text under OpenAI's tokenizers (no tokenizer is available offline; the
  simulated backend counts the same way). The project prompts and Eureka's fitness prompts are
  rendered exactly (the same ability samples and dev pairs the stages draw). A field a run has not
  written yet takes the mean length of its counterpart in the dataset: a synthetic project name or
  task is as long as the dataset's (seed and evaluation) ones, an ideal curriculum as the mean
  concatenated employee record, an Eureka candidate as the base labelling prompt, and a reviewer
  example's reasoning as its 800-character cut.
* **Output tokens** are ``synth.reply_tokens`` of the stage's request per call: the reply limit, so
  an upper bound (real replies are usually shorter), and so is the dollar figure it gives.
* **Dollars** are tokens times ``llm.prices[model]`` (dollars per 1M tokens,
  :func:`data_synth.usage.call_cost`). Calls already in the on-disk call cache would be free; the
  estimate assumes none are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bench.core.dataset import Dataset
from data_synth.pipeline import REQUEST_STAGE
from data_synth.prompts import aspect_sections, base_label_prompt, load_template, render_label_prompt
from data_synth.settings import SynthConfig
from data_synth.stages.common import StageContext
from data_synth.stages.eureka import NO_DEV_REASON, SKIP_REASON, dev_split
from data_synth.stages.projects import ability_phrases
from data_synth.usage import call_cost, check_prices

CHARS_PER_TOKEN = 4
TOKEN_RULE = (
    "in tokens = characters of each stage's rendered prompt / 4 (rule of thumb, no tokenizer offline); "
    "out tokens (max) = synth.reply_tokens per call, an upper bound, and so is the cost"
)
REQUESTED_NOTE = (
    "calls after projects count the requested projects and tasks: de-duplication, the leakage guard and "
    "invalid replies make the real ones fewer; calls already in the call cache are free"
)
NO_POSITIVES_REASON = "the dataset has no judged pairs with a positive label to measure a prompt's F1 on"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
# What Reviewer.example (data_synth.stages.eureka) writes for each outcome, the inputs left empty.
_REVIEW_EXAMPLE = "Project: \nTask: \nEmployee record:\n\nModel's reasoning: \nModel's label: 0"
_REVIEW_RECORD_CHARS, _REVIEW_REASONING_CHARS = 1500, 800  # the example's cuts


@dataclass(frozen=True)
class StageEstimate:
    """The LLM work of one synthesis stage.

    Attributes:
        stage: the stage name (:data:`data_synth.settings.STAGE_ORDER`).
        calls: requests the stage would send.
        input_tokens: estimated prompt tokens of those calls (characters / 4).
        output_tokens: reply tokens at most (``synth.reply_tokens`` per call).
        basis: how the calls were counted, for the reader (e.g. ``1 per task (400 x 10 x 8 requested)``).
        skipped: why the stage would not call the LLM (``None``: it would).
    """

    stage: str
    calls: int
    input_tokens: int
    output_tokens: int
    basis: str
    skipped: str | None = None


@dataclass(frozen=True)
class Price:
    """Dollars per 1M tokens of the configured model, or why there is no price.

    Attributes:
        model: the model name (``llm.backend.model``).
        input_per_1m, output_per_1m: dollars per 1M input / output tokens (``None``: unknown).
        note: one line for the reader: where the price comes from, or why it is free or unknown.
    """

    model: str
    input_per_1m: float | None
    output_per_1m: float | None
    note: str

    @property
    def known(self) -> bool:
        return self.input_per_1m is not None and self.output_per_1m is not None

    def cost_usd(self, estimate: StageEstimate) -> float | None:
        """Dollars of ``estimate`` at this price (``None`` when the price is unknown and calls are made).

        Example:
            >>> price = Price("m", 0.15, 0.60, "")
            >>> round(price.cost_usd(StageEstimate("labels", 2, 1_000_000, 500_000, "n_labels")), 6)
            0.45
        """
        if estimate.calls == 0:
            return 0.0
        if not self.known:
            return None
        table = {self.model: {"input_per_1m": self.input_per_1m, "output_per_1m": self.output_per_1m}}
        return call_cost(table, self.model, estimate.input_tokens, estimate.output_tokens)


def free_reason(backend_target: str, base_url: str | None = None) -> str | None:
    """Why a backend costs nothing (simulated, a local server), or ``None`` (it may be paid).

    Example:
        >>> free_reason("data_synth.simulated.SimulatedBackend")
        'the simulated backend'
        >>> free_reason("data_synth.backend.OpenAIBackend", "http://127.0.0.1:8000/v1")
        'a local server (http://127.0.0.1:8000/v1)'
        >>> free_reason("data_synth.backend.OpenAIBackend") is None
        True
    """
    name = backend_target.rsplit(".", 1)[-1]
    if name == "SimulatedBackend":
        return "the simulated backend"
    if name == "LocalServerBackend":
        return "a local llama.cpp server"
    if base_url and urlparse(str(base_url)).hostname in LOOPBACK_HOSTS:
        return f"a local server ({base_url})"
    return None


def price_for(prices: Mapping[str, Mapping[str, float]] | None, model: str | None, free: str | None) -> Price:
    """The price of ``model`` in ``llm.prices``; free when ``free`` says why; else unknown.

    Raises:
        ConfigError: a malformed price table (:func:`data_synth.usage.check_prices`).

    Example:
        >>> price_for({"m": {"input_per_1m": 0.15, "output_per_1m": 0.6}}, "m", None).known
        True
        >>> price_for({}, "gpt-9", None).note.startswith("price unknown for model 'gpt-9'")
        True
    """
    table = check_prices({str(k): dict(v) for k, v in (prices or {}).items()})
    name = "(backend default)" if model is None else str(model)
    entry = table.get(name)
    if entry is not None:
        rate = f"${entry['input_per_1m']:g} input / ${entry['output_per_1m']:g} output per 1M tokens"
        return Price(
            name, entry["input_per_1m"], entry["output_per_1m"], f"price: llm.prices.{name} = {rate}"
        )
    if free is not None:
        return Price(name, 0.0, 0.0, f"no price: {free}, free/local ($0)")
    where = (
        " in the llm= config's prices table (the dot in the name stops a command-line override)"
        if "." in name
        else f", e.g. '+llm.prices.{name}={{input_per_1m: X, output_per_1m: Y}}'"
    )
    return Price(
        name,
        None,
        None,
        f"price unknown for model {name!r}: set llm.prices.{name} (input_per_1m, output_per_1m: "
        f"dollars per 1M tokens){where}",
    )


def estimate_synthesis(
    dataset: Dataset,
    settings: SynthConfig,
    eureka_served: bool = True,
    produced: Mapping[str, int] | None = None,
) -> list[StageEstimate]:
    """Calls, input tokens and output tokens (at most) of each selected stage, in running order.

    Args:
        dataset: the dataset synthesised for (its employees, tasks, judged pairs and context).
        settings: the synth settings (``synth.stages`` picks the stages).
        eureka_served: whether the backend can play the Eureka reviewer (not ``llm=simulated``).
        produced: counts a run already made (``projects``, ``tasks``, ``curriculums``) to count the
            later stages' calls from, instead of the requested ones.

    Returns:
        One :class:`StageEstimate` per stage of ``settings.ordered_stages``.

    Example:
        >>> from bench.data.demo import build_demo
        >>> data = build_demo(n_employees=20, n_eval_tasks=4, n_train_tasks=4, judged_pairs=16)
        >>> plan = estimate_synthesis(data, SynthConfig(n_brainstorms=3, projects_per_brainstorm=2))
        >>> [(e.stage, e.calls) for e in plan][:3]
        [('projects', 3), ('tasks', 6), ('curriculums', 36)]
    """
    plan = _Plan(dataset, settings, dict(produced or {}))
    builders = {
        "projects": plan.projects,
        "tasks": plan.tasks,
        "curriculums": plan.curriculums,
        "eureka": lambda: plan.eureka(eureka_served),
        "labels": plan.labels,
        "negatives": plan.negatives,
    }
    return [builders[name]() for name in settings.ordered_stages]


def tokens(chars: float) -> int:
    """Tokens of ``chars`` characters by the rule of thumb (:data:`CHARS_PER_TOKEN`).

    Example:
        >>> tokens(4000)
        1000
    """
    return round(chars / CHARS_PER_TOKEN)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


class _Plan:
    """The counts and representative lengths the stage estimates share."""

    def __init__(self, dataset: Dataset, settings: SynthConfig, produced: dict[str, int]) -> None:
        self.dataset, self.settings = dataset, settings
        # No client and no directory: the estimate only uses the context's dataset, settings and rng.
        self.ctx = StageContext(dataset, client=None, settings=settings, directory=Path(os.devnull))  # type: ignore[arg-type]
        s = settings
        requested_projects = s.n_brainstorms * s.projects_per_brainstorm
        self.n_projects = produced.get("projects", requested_projects)
        self.n_tasks = produced.get("tasks", self.n_projects * s.tasks_per_project)
        limit = self.n_tasks if s.n_curriculums is None else s.n_curriculums
        self.n_curriculum_calls = min(self.n_tasks, limit)
        self.n_curriculums = produced.get("curriculums", self.n_curriculum_calls)
        self.projects_basis = (
            f"{self.n_projects} made"
            if "projects" in produced
            else f"{s.n_brainstorms} x {s.projects_per_brainstorm} requested"
        )
        self.tasks_basis = (
            f"{self.n_tasks} made"
            if "tasks" in produced
            else f"{self.n_projects} x {s.tasks_per_project} requested"
        )
        seeds = [*dataset.train_tasks, *dataset.tasks]
        self.project_chars = _mean(len(p) for p in {t.project for t in seeds})
        self.task_chars = _mean(len(t.task) for t in seeds)
        self.profiles = dataset.concat_texts()
        self.record_chars = _mean(len(text) for text in self.profiles.values())
        self.sections = aspect_sections(list(dataset.aspects))

    def _estimate(self, stage: str, calls: int, chars_per_call: float, basis: str) -> StageEstimate:
        reply = self.settings.reply_tokens.get(REQUEST_STAGE[stage], 0)
        return StageEstimate(stage, calls, tokens(calls * chars_per_call), calls * reply, basis)

    def projects(self) -> StageEstimate:
        """Every brainstorm prompt rendered with the ability sample the stage draws."""
        s, ctx = self.settings, self.ctx
        template, phrases = load_template("projects"), ability_phrases(ctx)
        chars = 0
        for i in range(s.n_brainstorms):
            sample = ctx.rng("abilities", i).sample(phrases, min(s.n_abilities, len(phrases)))
            chars += len(
                template.render(
                    enterprise_context=ctx.context,
                    n_projects=s.projects_per_brainstorm,
                    abilities="\n".join(f"- {p}" for p in sample) or "- (no abilities recorded)",
                )
            )
        return self._estimate("projects", s.n_brainstorms, chars / max(s.n_brainstorms, 1), "n_brainstorms")

    def tasks(self) -> StageEstimate:
        empty = load_template("tasks").render(
            enterprise_context=self.ctx.context, project="", n_tasks=self.settings.tasks_per_project
        )
        basis = f"1 per project ({self.projects_basis})"
        return self._estimate("tasks", self.n_projects, len(empty) + self.project_chars, basis)

    def curriculums(self) -> StageEstimate:
        empty = load_template("curriculum").render(
            enterprise_context=self.ctx.context, project="", task="", aspect_sections=self.sections
        )
        basis = f"1 per task ({self.tasks_basis})"
        if self.settings.n_curriculums is not None:
            basis += f", at most n_curriculums={self.settings.n_curriculums}"
        chars = len(empty) + self.project_chars + self.task_chars
        return self._estimate("curriculums", self.n_curriculum_calls, chars, basis)

    def labels(self) -> StageEstimate:
        calls = min(self.settings.n_labels, self.n_tasks * len(self.dataset.employees))
        empty = render_label_prompt(base_label_prompt(), self.ctx.context, "", "", "")
        chars = len(empty) + self.project_chars + self.task_chars + self.record_chars
        basis = "n_labels" if calls == self.settings.n_labels else "n_labels, at most tasks x employees"
        return self._estimate("labels", calls, chars, basis)

    def negatives(self) -> StageEstimate:
        limit = self.n_curriculums if self.settings.n_negatives is None else self.settings.n_negatives
        calls = min(self.n_curriculums, limit)
        empty = load_template("negatives").render(
            enterprise_context=self.ctx.context,
            project="",
            task="",
            aspect_sections=self.sections,
            ideal_profile="",
        )
        chars = len(empty) + self.project_chars + self.task_chars + self.record_chars
        basis = "1 per task with a curriculum"
        if self.settings.n_negatives is not None:
            basis += f", at most n_negatives={self.settings.n_negatives}"
        return self._estimate("negatives", calls, chars, basis)

    def eureka(self, served: bool) -> StageEstimate:
        """Fitness: every dev pair rendered with the base prompt, for it and each candidate; reviews."""
        s, ctx = self.settings, self.ctx
        reason = None if served else SKIP_REASON
        if reason is None and s.dev_split.fraction == 0:
            reason = NO_DEV_REASON
        pairs = dev_split(ctx)[0] if reason is None else []
        if reason is None and not any(truth for _, _, truth in pairs):
            reason = NO_POSITIVES_REASON
        if reason is not None:
            return StageEstimate("eureka", 0, 0, 0, "skipped", skipped=reason)
        n, k = s.eureka_generations, s.eureka_candidates
        prompts = 1 + n * k
        tasks, base = self.dataset.task_by_id, base_label_prompt()
        fitness_chars = sum(
            len(render_label_prompt(base, ctx.context, tasks[t].project, tasks[t].task, self.profiles[e]))
            for t, e, _ in pairs
        )
        record = min(_mean(len(self.profiles[e]) for _, e, _ in pairs), _REVIEW_RECORD_CHARS)
        example = (
            len(_REVIEW_EXAMPLE) + self.project_chars + self.task_chars + record + _REVIEW_REASONING_CHARS
        )
        review = load_template("eureka_review").render(
            enterprise_context=ctx.context,
            best_prompt=base,
            n_prompts=k,
            **{m: "0.000" for m in ("accuracy", "precision", "recall", "f1")},
            **{kind: "" for kind in ("tp", "tn", "fp", "fn")},
        )
        review_chars = len(review) + 4 * example
        label_calls = len(pairs) * prompts
        reply = s.reply_tokens
        return StageEstimate(
            "eureka",
            label_calls + n,
            tokens(fitness_chars * prompts + n * review_chars),
            label_calls * reply.get("label", 0) + n * reply.get("eureka_review", 0),
            f"{len(pairs)} dev pairs x (1 + {n} x {k}) prompts + {n} reviews, at most",
        )
