"""Personal data: employee text never reaches W&B, logs, reports, results or TREC files, unless the
user opts in with ``report.show_examples=true`` (and then the report says so at its top).

A sentinel is planted in every aspect text of every employee of a custom dataset. ``teamform
eval``, ``train`` (on a fixture synthetic artifact, ``train.synth_dir``), a ``grid`` (baselines
and a LoRA experiment) and ``report`` run on it with W&B offline logging; ``synth`` sends the
text to a loopback OpenAI API (the configured LLM endpoint is where it may go) and caches the
calls owner-only. The eval-only check of the same kind is in ``test_eval_pipeline.py``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bench.core.dataset import Dataset, Employee, Task
from bench.data.export import export_custom
from tests.cli_helpers import env_for, files_under, last_line, make_tiny_bert, teamform, tiny_model_args
from tests.loopback_openai import LoopbackOpenAI
from tests.train_fixtures import tiny_dataset, write_artifact

pytestmark = pytest.mark.slow

SENTINEL = "Qxzvy-PERSONAL-Sentinel"
TRAIN = [
    "train=quick",
    "train.max_steps=4",
    "train.batch_size=4",
    "train.num_threads=1",
    "train.checkpoint_every_n_steps=2",
]
EXTRA_TASKS = [
    Task("t3", "Glaze lab", "Audit the recipes of the reactive glazes"),
    Task("t4", "Sawmill", "Train operators on band saw safety"),
    Task("t5", "Fixtures fair", "Plan the stand at the bathroom trade fair"),
]
EXTRA_LABELS = {
    "t3": {"glaze0": 1, "glaze1": 2, "saw1": 0},
    "t4": {"saw0": 1, "saw2": 1, "kiln1": 0},
    "t5": {"sales0": 2, "sales2": 1, "glaze2": 0},
}


def sentinel_dataset(root: Path) -> Path:
    """The training fixtures' enterprise with the sentinel in every aspect text, in the custom format."""
    base = tiny_dataset()
    employees = [
        Employee(e.id, {a: f"{t}; {SENTINEL} {e.id}" for a, t in e.aspects.items()}) for e in base.employees
    ]
    dataset = Dataset(
        "custom",
        employees,
        base.tasks + EXTRA_TASKS,
        {**base.qrels, **EXTRA_LABELS},
        aspects=list(base.aspects),
    )
    return export_custom(dataset, root)


def has_sentinel(path: Path) -> bool:
    return SENTINEL.encode() in path.read_bytes()


def test_employee_text_stays_out_unless_opted_in(tmp_path: Path) -> None:
    bert = make_tiny_bert(tmp_path / "tiny-bert")
    data = sentinel_dataset(tmp_path / "data")
    synth = write_artifact(tmp_path / "synth").path
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = env_for(
        work, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CACHE_HOME=str(home / ".cache")
    )
    custom = ["data=custom", f"data.root={data}", *tiny_model_args(bert)]
    logs: list[str] = []

    def run(*args: str, extra_env: dict[str, str] | None = None) -> Path:
        proc = teamform(list(args), {**env, **(extra_env or {})}, work, timeout=1200)
        assert proc.returncode == 0, (args[0], proc.stderr[-3000:])
        logs.extend([proc.stdout, proc.stderr])
        return last_line(proc)

    run_dir = run("eval", *custom, "eval.encoders=[bm25,tfidf,base]", "logger=wandb")
    run("train", *custom, f"train.synth_dir={synth}", *TRAIN, "logger=wandb")
    grid = run(
        "grid",
        "profile=quick",
        "experiment=baselines,ft_labels",
        *custom,
        f"train.synth_dir={synth}",
        *TRAIN,
        "logger=wandb",
    )
    run("report", str(grid))
    run("report", str(run_dir))
    old_umask = os.umask(0o022)  # files would be world-readable without explicit modes
    try:
        with LoopbackOpenAI() as api:
            synth_dir = run(
                "synth",
                "llm=openai",
                "synth=quick",
                *custom,
                "llm.progress=false",
                extra_env={"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": api.base_url},
            )
            prompts = [m["content"] for body in api.chat.bodies for m in body.get("messages", [])]
    finally:
        os.umask(old_umask)

    # the configured LLM endpoint got the text (that is where it may go) ...
    assert any(SENTINEL in p for p in prompts)
    # ... and nothing written outside the caches holds it: W&B, logs, results, TREC files, reports
    outputs = files_under(work / "outputs", home)
    suffixes = {p.suffix for p in outputs}
    assert {".wandb", ".trec", ".json", ".yaml", ".md", ".log"} <= suffixes, suffixes
    leaked = [p for p in outputs if has_sentinel(p)]
    assert not leaked, leaked
    for text in logs:
        assert SENTINEL not in text
    for sub in ("embeddings", "adapters"):  # hashes, vectors, weights and ids only
        assert not [p for p in files_under(work / "cache" / sub) if has_sentinel(p)], sub
    assert (synth_dir / "manifest.json").exists()

    # caches that hold prompts or replies about employees are owner-only
    llm_cache = work / "cache" / "llm"
    entries = files_under(llm_cache)
    assert entries
    for path in entries:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [llm_cache, *(p for p in llm_cache.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path

    # opting in shows real employee text, and the report says so at the top
    for directory in (grid, run_dir):
        before = {p: p.read_bytes() for p in files_under(directory) if p.name != "REPORT.md"}
        shown = teamform(["report", str(directory), "report.show_examples=true"], env, work)
        assert shown.returncode == 0, shown.stderr[-3000:]
        report = (directory / "REPORT.md").read_text()
        head = report.split("\n| provenance", 1)[0]
        assert "shows employee text" in head and "report.show_examples=true" in head
        assert SENTINEL in report and "## Examples" in report
        after = {p: p.read_bytes() for p in files_under(directory) if p.name != "REPORT.md" and p in before}
        assert after == {p: b for p, b in before.items() if p in after}  # nothing else changed
        assert not [p for p in files_under(directory) if p.name != "REPORT.md" and has_sentinel(p)]
        again = teamform(["report", str(directory)], env, work)  # back to the default: no text
        assert again.returncode == 0 and not has_sentinel(directory / "REPORT.md")
        assert "shows employee text" not in (directory / "REPORT.md").read_text()
