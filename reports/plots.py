"""PNG plots of the report: main comparison, Eureka history, embedding picture, training curves.

Every plot is drawn from numbers stored in the jobs' ``results.json`` (``extras``); none shows text.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.core.io import atomic_write_bytes  # noqa: E402
from reports.grid import table_rows  # noqa: E402
from reports.study import KEY_METRIC, METRIC_TITLES  # noqa: E402


def _save(fig, path: Path) -> Path:  # noqa: ANN001
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    plt.close(fig)
    return atomic_write_bytes(path, buffer.getvalue())


def main_comparison(directory: Path, jobs: list, reference: tuple[str, dict] | None) -> Path | None:
    """Bar chart of the key metric for every system of the RQ1 table."""

    entries = table_rows(jobs, "rq1")
    if not entries:
        return None
    names = [f"{job.study.get('label', job.experiment)}: {name}" for job, name, _ in entries]
    values = [system["mean"].get(KEY_METRIC, 0.0) for _, _, system in entries]
    order = sorted(range(len(values)), key=values.__getitem__)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(values) + 1.2))
    ax.barh([names[i] for i in order], [values[i] for i in order], color="#4C72B0")
    if reference:
        ax.axvline(
            reference[1]["mean"].get(KEY_METRIC, 0.0),
            color="#C44E52",
            linestyle="--",
            label=f"reference ({reference[0]})",
        )
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(METRIC_TITLES.get(KEY_METRIC, KEY_METRIC))
    ax.tick_params(axis="y", labelsize=8)
    return _save(fig, directory / "plots" / "main_comparison.png")


def eureka_history(directory: Path, jobs: list) -> Path | None:
    """F1 of every candidate prompt per Eureka generation, and the best so far."""
    history = next(
        (j.results["extras"]["eureka"] for j in jobs if j.results.get("extras", {}).get("eureka")), None
    )
    if not history:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    gens = [h["generation"] for h in history]
    ax.scatter(gens, [h["f1"] for h in history], s=14, alpha=0.6, label="candidate")
    best, running = [], -1.0
    for g in sorted(set(gens)):
        running = max(running, max(h["f1"] for h in history if h["generation"] == g))
        best.append((g, running))
    ax.plot([b[0] for b in best], [b[1] for b in best], color="#C44E52", label="best so far")
    ax.set_xlabel("generation")
    ax.set_ylabel("F1 on the development pairs")
    ax.legend(fontsize=8)
    return _save(fig, directory / "plots" / "eureka_history.png")


def embedding_picture(directory: Path, jobs: list) -> Path | None:
    """Queries and employees before and after fine-tuning, as the job laid them out (thesis Figure 5.1).

    Employees are dots coloured by skill area, queries black crosses; older results (PCA of
    employees only) draw as before.
    """
    data = next(
        (j.results["extras"]["embedding"] for j in jobs if j.results.get("extras", {}).get("embedding")), None
    )
    if not data:
        return None
    kinds = data.get("kinds") or ["employee"] * len(data["before"])
    groups = data.get("groups") or [0] * len(kinds)
    separation = data.get("separation", {})
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
    for ax, key in zip(axes, ("before", "after"), strict=True):
        points = data[key]
        emp = [i for i, k in enumerate(kinds) if k == "employee"]
        qry = [i for i, k in enumerate(kinds) if k == "query"]
        ax.scatter(
            [points[i][0] for i in emp],
            [points[i][1] for i in emp],
            c=[groups[i] for i in emp],
            cmap="tab20",
            s=6,
            label="employees",
        )
        if qry:
            ax.scatter(
                [points[i][0] for i in qry],
                [points[i][1] for i in qry],
                c="black",
                marker="x",
                s=14,
                label="task queries",
            )
        title = f"{key} fine-tuning ({data.get('method', 'PCA')})"
        if key in separation:
            other = "unjudged" if data.get("separation_against") == "unjudged" else "non-relevant"
            title += f"\nrelevant - {other} cosine: {separation[key]:+.3f}"
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(fontsize=7, loc="lower right")
    return _save(fig, directory / "plots" / "embedding_space.png")


def training_curves(directory: Path, jobs: list) -> Path | None:
    """Training loss per step of every job that trained an adapter."""
    curves = [
        (j.study.get("label", j.experiment), j.results["extras"]["train_curve"])
        for j in jobs
        if j.results.get("extras", {}).get("train_curve")
    ]
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for label, curve in curves:
        ax.plot([p["step"] for p in curve], [p["loss"] for p in curve], label=label, linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("InfoNCE loss")
    if len(curves) <= 12:
        ax.legend(fontsize=7)
    return _save(fig, directory / "plots" / "training_curves.png")


def render_all(
    directory: Path, jobs: list, tasks: list[str], reference: tuple[str, dict] | None
) -> dict[str, Path]:
    """Render every plot the stored results allow; keys are report sections or plot names."""
    out: dict[str, Any] = {
        "main": main_comparison(directory, jobs, reference),
        "eureka": eureka_history(directory, jobs),
        "rq7": embedding_picture(directory, jobs),
        "training": training_curves(directory, jobs),
    }
    return {k: v for k, v in out.items() if v is not None}
