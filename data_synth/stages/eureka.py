"""Stage 5: Eureka optimisation of the labelling prompt (paper Algorithm 1, Figures 3-4).

Fitness is F1 on the judged pairs (qrels; grade > 0 is 1) of the dev tasks of the declared split
``eval.dev_split`` (:class:`bench.data.splits.DevSplit`), at most ``eureka_max_dev_pairs`` of them,
sampled keeping the share of positives. Evaluation never scores those tasks (it draws the same
split), so the prompt is never tuned on a task the report scores; the dev task ids are recorded
in the manifest. With no dev tasks (``eval.dev_split.fraction=0``) the stage is skipped, saying
so. The whole history goes to ``eureka.jsonl``; the labels stage then uses the best prompt. A
backend that cannot play the reviewer (``llm=simulated``) makes the stage record itself as
skipped, with the reason.
"""

from __future__ import annotations

from bench.core.io import write_jsonl
from data_synth.eureka import OUTCOMES, Evaluation, classification_metrics, outcome, run_eureka
from data_synth.prompts import base_label_prompt, load_template, prompt_id, render_label_prompt
from data_synth.schemas import RelevanceLabel, ReviewerReply
from data_synth.stages.common import StageContext, clip, usage_delta, usage_snapshot

NAME = "eureka"
NO_DEV_REASON = (
    "Eureka tunes the labelling prompt on the judged pairs of dev tasks, and eval.dev_split.fraction is 0 "
    "(no dev tasks); set eval.dev_split.fraction=0.3, say: those tasks are then left out of every score"
)
SKIP_REASON = (
    "the simulated backend labels with fixed error rates whatever the prompt says, so prompt optimisation "
    "has nothing to optimise; run Eureka with a real LLM (llm=openai, llm=openai_compatible or llm=local)"
)
OUTCOME_NAMES = {"tp": "true positive", "tn": "true negative", "fp": "false positive", "fn": "false negative"}


def dev_split(ctx: StageContext) -> tuple[list[tuple[str, str, int]], list[str]]:
    """``([(task_id, employee_id, truth 0/1), ...], dev task ids)`` from the judged pairs."""
    settings, qrels = ctx.settings, ctx.dataset.qrels
    dev_tasks, _ = settings.dev_split.split_dataset(ctx.dataset)
    pairs = [(t, e, int(g > 0)) for t in dev_tasks for e, g in sorted(qrels[t].items())]
    cap = settings.eureka_max_dev_pairs
    if len(pairs) > cap:
        rng = ctx.rng("eureka-dev-pairs")
        positives = [p for p in pairs if p[2] == 1]
        negatives = [p for p in pairs if p[2] == 0]
        n_pos = min(len(positives), max(1, round(cap * len(positives) / len(pairs))))
        pairs = sorted(rng.sample(positives, n_pos) + rng.sample(negatives, min(len(negatives), cap - n_pos)))
    return pairs, dev_tasks


class Fitness:
    """Labels the development pairs with candidate prompts through the client and scores them."""

    def __init__(self, ctx: StageContext, pairs: list[tuple[str, str, int]]) -> None:
        self.ctx, self.pairs = ctx, pairs
        self.tasks = ctx.dataset.task_by_id
        self.profiles = ctx.dataset.concat_texts()

    def resume(self, index: int) -> str:
        return self.profiles[self.pairs[index][1]]

    def __call__(self, prompts: list[str]) -> list[Evaluation]:
        ctx, settings = self.ctx, self.ctx.settings
        requests = []
        for template in prompts:
            pid = prompt_id(template)
            for task_id, employee_id, _ in self.pairs:
                task = self.tasks[task_id]
                text = render_label_prompt(
                    template, ctx.context, task.project, task.task, self.profiles[employee_id]
                )
                payload = {
                    "project": task.project,
                    "task": task.task,
                    "employee_id": employee_id,
                    "prompt_id": pid,
                }
                requests.append(
                    ctx.request(
                        "label",
                        text,
                        RelevanceLabel,
                        payload,
                        temperature=settings.label_temperature,
                        seed=settings.seed,
                    )
                )
        replies = ctx.ask_all(requests, desc=f"eureka fitness ({len(prompts)} prompt(s))")
        ctx.client.check_budget()  # a partial fitness is no fitness: stop here, resume later
        truth = [p[2] for p in self.pairs]
        out, n = [], len(self.pairs)
        for i, template in enumerate(prompts):
            chunk = replies[i * n : (i + 1) * n]
            predictions = [None if r is None else int(r.parsed.label) for r in chunk]
            reasonings = ["" if r is None else r.parsed.reasoning for r in chunk]
            out.append(
                Evaluation(template, classification_metrics(truth, predictions), predictions, reasonings)
            )
        return out


class Reviewer:
    """Asks the reviewer prompt (paper Figure 4) for new labelling prompts."""

    def __init__(self, ctx: StageContext, fitness: Fitness) -> None:
        self.ctx, self.fitness = ctx, fitness

    def example(self, best: Evaluation, kind: str, generation: int) -> str:
        indices = [
            i for i, (_, _, t) in enumerate(self.fitness.pairs) if outcome(t, best.predictions[i]) == kind
        ]
        if not indices:
            return "(no such case on the test set)"
        i = self.ctx.rng("eureka-example", generation, kind).choice(indices)
        task_id, _, _ = self.fitness.pairs[i]
        task = self.fitness.tasks[task_id]
        return (
            f"Project: {task.project}\nTask: {task.task}\n"
            f"Employee record:\n{clip(self.fitness.resume(i), 1500)}\n"
            f"Model's reasoning: {clip(best.reasonings[i] or '(no valid reply)', 800)}\n"
            f"Model's label: {best.predictions[i] if best.predictions[i] is not None else 'none'}"
        )

    def __call__(self, best: Evaluation, generation: int, k: int) -> list[str]:
        ctx = self.ctx
        values = {kind: self.example(best, kind, generation) for kind in OUTCOMES}
        text = load_template("eureka_review").render(
            enterprise_context=ctx.context,
            best_prompt=best.prompt,
            n_prompts=k,
            **{m: f"{best.metrics[m]:.3f}" for m in ("accuracy", "precision", "recall", "f1")},
            **values,
        )
        request = ctx.request(
            "eureka_review",
            text,
            ReviewerReply,
            {"generation": generation, "best": best.prompt_id, "k": k},
            seed=ctx.settings.seed + generation,
        )
        reply = ctx.ask_all([request], desc=f"eureka review (generation {generation})")[0]
        ctx.client.check_budget()
        return [] if reply is None else list(reply.parsed.prompts)


def run(ctx: StageContext) -> dict:
    """Run Algorithm 1 (or record the skip); returns the stage's counts."""
    if not ctx.eureka_served:
        return {"count": 0, "skipped": True, "reason": SKIP_REASON}
    if ctx.settings.dev_split.fraction == 0:
        return {"count": 0, "skipped": True, "reason": NO_DEV_REASON}
    before = usage_snapshot(ctx.client)
    pairs, dev_tasks = dev_split(ctx)
    if not pairs or not any(t for _, _, t in pairs):
        return {
            "count": 0,
            "skipped": True,
            "reason": "the dataset has no judged pairs with a positive label to measure a prompt's F1 on",
        }
    fitness = Fitness(ctx, pairs)
    history: list[dict] = []
    try:
        result = run_eureka(
            base_label_prompt(),
            fitness,
            Reviewer(ctx, fitness),
            ctx.settings.eureka_generations,
            ctx.settings.eureka_candidates,
            history,
        )
    finally:
        write_jsonl(ctx.path("eureka.jsonl"), history)  # the history so far, also when the budget stops it
    base_f1 = history[0]["f1"]
    return {
        "count": len(history),
        "generations": ctx.settings.eureka_generations,
        "dev_pairs": len(pairs),
        "dev_positives": sum(t for _, _, t in pairs),
        "dev_task_ids": dev_tasks,
        "base_f1": base_f1,
        "best_f1": round(result.best.f1, 6),
        "best_prompt": result.best.prompt_id,
        **usage_delta(before, ctx.client),
    }
