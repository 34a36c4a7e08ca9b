"""Hydra's joblib launcher with a dispatch order: the longest grid jobs first.

Two workers that take a sweep's jobs in sweep order end unevenly when a long job comes late: in
``profile=default`` the influence job (7 LoRA runs, 300 s on one core) was dispatched twelfth and
ran alone for its last 120 s while the other core idled (docs/performance.md). Dispatching the
longest jobs first (Graham's LPT rule) evens the two workers' ends. ``first`` lists overrides,
``experiment=influence``, in the order their jobs go out; the other jobs follow in sweep order.

Only the dispatch order changes: every job keeps its sweep number (its folder, ``hydra.job.num``,
its row of ``grid.json``), the returns come back in sweep order, and every other option of
``hydra/launcher=joblib`` works as Hydra documents it. Jobs that need the same adapter set or
synthetic data share it through the cache's lock whichever runs first, with the same numbers.
Select it with ``hydra/launcher=teamform_joblib``; ``conf/hydra/launcher/two_jobs.yaml`` (what
``profile=default`` selects) is it with two jobs at once and the default grid's order.
"""

# No `from __future__ import annotations`: Hydra's plugin scan executes this module without
# registering it in sys.modules, and dataclasses then cannot resolve string annotations.
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List  # noqa: UP035 - OmegaConf's structured configs take typing.List

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra_plugins.hydra_joblib_launcher._core import execute_job, process_joblib_cfg
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from joblib import Parallel, delayed

log = logging.getLogger(__name__)


@dataclass
class OrderedJoblibLauncherConf(JobLibLauncherConf):
    """``hydra/launcher=joblib``'s options and ``first``: the overrides whose jobs go out first."""

    _target_: str = "hydra_plugins.teamform_launcher.launcher.OrderedJoblibLauncher"
    first: List[str] = field(default_factory=list)  # noqa: UP006


ConfigStore.instance().store(
    group="hydra/launcher", name="teamform_joblib", node=OrderedJoblibLauncherConf, provider="teamform"
)


def dispatch_order(job_overrides: Sequence[Sequence[str]], first: Sequence[str]) -> list[int]:
    """The positions of ``job_overrides`` in dispatch order.

    A job that carries ``first[k]`` among its overrides goes out k-th (the first match wins when
    it carries several); the others follow in their sweep order.
    """
    rank = {override: k for k, override in reversed(list(enumerate(first)))}

    def key(position: int) -> tuple[int, int]:
        ranks = [rank[o] for o in job_overrides[position] if o in rank]
        return (min(ranks) if ranks else len(first), position)

    return sorted(range(len(job_overrides)), key=key)


class OrderedJoblibLauncher(JoblibLauncher):
    """:class:`JoblibLauncher` that dispatches the jobs of ``first`` before the rest."""

    def __init__(self, first: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first = [str(o) for o in first]

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Hydra's joblib ``launch`` with the dispatch order of :func:`dispatch_order`."""
        setup_globals()
        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        joblib_cfg = self.joblib
        joblib_cfg["backend"] = "loky"  # as Hydra's: the threading backend is incompatible with Hydra
        process_joblib_cfg(joblib_cfg)
        order = dispatch_order(job_overrides, self.first)
        log.info(
            "Joblib.Parallel(%s) is launching %d jobs, in the order %s",
            ",".join(f"{k}={v}" for k, v in joblib_cfg.items()),
            len(job_overrides),
            " ".join(f"#{initial_job_idx + p}" for p in order),
        )
        log.info("Launching jobs, sweep output dir : %s", sweep_dir)
        for position, overrides in enumerate(job_overrides):
            log.info("\t#%d : %s", initial_job_idx + position, " ".join(filter_overrides(overrides)))
        singleton_state = Singleton.get_state()
        runs = Parallel(**joblib_cfg)(
            delayed(execute_job)(
                initial_job_idx + position,
                job_overrides[position],
                self.hydra_context,
                self.config,
                self.task_function,
                singleton_state,
            )
            for position in order
        )
        returns: list[JobReturn | None] = [None] * len(job_overrides)
        for position, run in zip(order, runs, strict=True):
            assert isinstance(run, JobReturn)
            returns[position] = run
        return returns  # type: ignore[return-value]  # every position filled above
