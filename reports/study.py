"""The study the grid runs: research questions, their tables, and the metrics they show.

This is the one place the report's sections are named. Each experiment overlay
(``conf/experiment/*.yaml``) says under ``study.tables`` which of these tables its systems go to
and which views (``concat``, an aspect, an aggregator, or ``*``) it contributes.
"""

from __future__ import annotations

from dataclasses import dataclass

# Metric columns of the paper's tables (Drummond and Veloso (2024), Table 1) plus MRR; names as in
# bench.metrics.
REPORT_METRICS: tuple[str, ...] = ("ap", "ndcg@1", "ndcg@5", "hit@5", "mrr", "auc")
METRIC_TITLES: dict[str, str] = {
    "ap": "AP",
    "ndcg@1": "nDCG@1",
    "ndcg@5": "nDCG@5",
    "hit@5": "Hit@5",
    "mrr": "MRR",
    "auc": "AUC",
}
# The metric that picks "the best baseline" and "the best fine-tuned model".
KEY_METRIC = "ndcg@5"


@dataclass(frozen=True)
class Section:
    """One research question: a table in the report."""

    id: str
    title: str
    question: str
    source: str


SECTIONS: tuple[Section, ...] = (
    Section(
        "rq1",
        "RQ1: fine-tuned models against baselines",
        "Do models fine-tuned on synthetic data beat lexical and pre-trained baselines?",
        "paper Table 1; thesis Table 5.1",
    ),
    Section(
        "rq2",
        "RQ2: which synthetic data",
        "Full data, curriculums only, or labels only?",
        "paper Table 1; thesis 5.2",
    ),
    Section(
        "rq3",
        "RQ3: rank aggregation",
        (
            "Does aggregating per-aspect rankings beat the concatenated profile, "
            "and which aggregator is best on the best fine-tuned model?"
        ),
        "paper section 4.3; thesis 4.4",
    ),
    Section(
        "rq4",
        "RQ4: Eureka-optimised labelling prompt",
        "Do labels from the Eureka-optimised prompt train a better model than the base prompt?",
        "thesis Table 5.2",
    ),
    Section(
        "rq5",
        "RQ5: specialised vs global adapters",
        "One adapter per aspect, or one global adapter?",
        "thesis Table 5.3",
    ),
    Section(
        "rq6",
        "RQ6: leave-one-aspect-out ablation",
        "What happens when one aspect is removed from training and aggregation?",
        "paper Table 2; thesis Table 5.4",
    ),
    Section(
        "negatives",
        "Hard-negative schedules",
        "Coarse-to-fine curriculum against reverse, random and fixed-level schedules.",
        "Negative Matters (2025), section 4.1",
    ),
    Section(
        "pooling",
        "Pooling: mean against anchor-token-aware",
        (
            "Does anchor-token-aware (ATA) pooling beat the model's own pooling, zero-shot and "
            "fine-tuned with the same recipe?"
        ),
        "Negative Matters (2025), Table 3",
    ),
    Section(
        "influence",
        "Influence of the synthetic subsets",
        (
            "Mean score of runs trained with a subset minus mean of those without it, "
            "over all 2^3 combinations of {labels, curriculums, negatives}."
        ),
        "Springer et al. (2025), section 3",
    ),
    Section(
        "search",
        "Hyper-parameter search",
        (
            "Which LoRA rank and alpha, learning rate, temperature and number of steps, "
            "chosen on the dev tasks only?"
        ),
        "Hydra's Optuna sweeper; the defaults: Drummond and Veloso (2024), section 4.3",
    ),
    Section(
        "rq7",
        "RQ7: the embedding space before and after fine-tuning",
        "How does contrastive fine-tuning reshape the embedding space?",
        "thesis Figure 5.1",
    ),
)
SECTION_BY_ID: dict[str, Section] = {s.id: s for s in SECTIONS}
