"""Eureka prompt optimisation for the labelling prompt (Drummond and Veloso (2024), Alg. 1).

Algorithm 1 (with elite size R = 1, as the paper uses it: "the Reflection function uses the best
prompt globally"):

1. evaluate the initial prompt (generation 0);
2. for N generations: ask the reviewer LLM for K new labelling prompts given the best prompt so
   far, its accuracy / precision / recall / F1 and one true-positive, true-negative,
   false-positive and false-negative example (paper Figure 4); evaluate every candidate by
   (re-)labelling the development pairs; the fitness is F1 (appendix B);
3. a candidate replaces the best only when its F1 is strictly higher (elitism: "if neither
   individual outperformed the prompt, it is replicated to the next generation");
4. the output is the best prompt after N generations.

This module is the algorithm over two callables, so it can be tested with a scripted LLM;
:mod:`data_synth.stages.eureka` wires it to the client and the dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from data_synth.prompts import prompt_id

OUTCOMES = ("tp", "tn", "fp", "fn")


def classification_metrics(truth: Sequence[int], predicted: Sequence[int | None]) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of binary predictions (positive class 1).

    An unanswered pair (``None``) counts as a prediction of 0; a ratio with a zero denominator is 0.

    Example:
        >>> m = classification_metrics([1, 1, 0, 0], [1, 0, 1, 0])
        >>> m["accuracy"], m["precision"], m["recall"], m["f1"]
        (0.5, 0.5, 0.5, 0.5)
    """
    tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 1 and p == 1)
    fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 0 and p == 1)
    fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == 1 and p != 1)
    n = len(truth)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(1 for t, p in zip(truth, predicted, strict=True) if (p == 1) == (t == 1)) / n if n else 0.0
    return {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1}


def outcome(truth: int, predicted: int | None) -> str:
    """``tp``, ``tn``, ``fp`` or ``fn`` of one pair (unanswered = predicted 0)."""
    said = predicted == 1
    return ("t" if said == (truth == 1) else "f") + ("p" if said else "n")


@dataclass
class Evaluation:
    """A labelling prompt scored on the development pairs.

    Attributes:
        prompt: the prompt text; ``prompt_id`` its id.
        metrics: ``accuracy``, ``precision``, ``recall``, ``f1``.
        predictions: one label per development pair (``None``: no valid reply).
        reasonings: the labeller's reasoning per pair (``""`` when unanswered).
    """

    prompt: str
    metrics: dict[str, float]
    predictions: list[int | None] = field(default_factory=list)
    reasonings: list[str] = field(default_factory=list)

    @property
    def prompt_id(self) -> str:
        return prompt_id(self.prompt)

    @property
    def f1(self) -> float:
        return self.metrics["f1"]


@dataclass
class EurekaResult:
    """The best prompt and the whole search history (one row per evaluated prompt per generation)."""

    best: Evaluation
    history: list[dict]


def history_row(generation: int, evaluation: Evaluation, best: bool, elite: bool = False) -> dict:
    """One line of ``eureka.jsonl`` (``docs/synthetic-data.md``)."""
    return {
        "generation": generation,
        "prompt_id": evaluation.prompt_id,
        "prompt": evaluation.prompt,
        **{k: round(evaluation.metrics[k], 6) for k in ("accuracy", "precision", "recall", "f1")},
        "best": best,
        "elite": elite,
        "n_dev": len(evaluation.predictions),
    }


def run_eureka(
    initial_prompt: str,
    evaluate: Callable[[list[str]], list[Evaluation]],
    propose: Callable[[Evaluation, int, int], list[str]],
    generations: int,
    candidates: int,
    history: list[dict] | None = None,
) -> EurekaResult:
    """Algorithm 1 with elitism.

    Args:
        initial_prompt: the hand-written labelling prompt (paper Figure 3).
        evaluate: scores a list of prompts on the development pairs (one :class:`Evaluation` each).
        propose: ``(best, generation, k) -> new prompts`` (the reviewer, paper Figure 4); it may
            return fewer or more than ``k``; the first ``k`` prompts never evaluated before are
            used (a prompt seen in an earlier generation carries no new information).
        generations: N.
        candidates: K.
        history: a list to append the history rows to as they are made (so a caller that is
            interrupted, e.g. by the budget, keeps what was done).

    Returns:
        The best evaluation and the history. In every generation exactly one row has
        ``best = True``: the candidate that became the new best, or, when none beat it, an extra
        row for the retained best with ``elite = True``.
    """
    history = [] if history is None else history
    best = evaluate([initial_prompt])[0]
    history.append(history_row(0, best, best=True))
    evaluated = {best.prompt_id}
    for generation in range(1, generations + 1):
        proposed = []
        for text in propose(best, generation, candidates):
            text = str(text).strip()
            if text and prompt_id(text) not in evaluated:
                evaluated.add(prompt_id(text))
                proposed.append(text)
            if len(proposed) == candidates:
                break
        evaluations = evaluate(proposed) if proposed else []
        winner = max(evaluations, key=lambda e: e.f1, default=None)  # first of equal F1s wins
        improved = winner is not None and winner.f1 > best.f1
        for evaluation in evaluations:
            history.append(history_row(generation, evaluation, best=improved and evaluation is winner))
        if improved:
            best = winner
        else:
            history.append(history_row(generation, best, best=True, elite=True))
    return EurekaResult(best=best, history=history)
