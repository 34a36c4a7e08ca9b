"""Hydra's Optuna sweeper (``hydra-optuna-sweeper``), usable with hydra-core 1.3.8.

hydra-core 1.3.8 instantiates sweeper plugins non-recursively, and the Optuna plugin (1.2, 1.3)
expects its ``sampler`` already built from the ``hydra/sweeper/sampler`` config: the first trial
fails with ``Key 'infer_relative_search_space' not in 'SamplerConfig'``. This subclass builds the
sampler from its config and changes nothing else, so every option of ``hydra/sweeper=optuna``
(``direction``, ``n_trials``, ``params``, ``storage``, the samplers) works as Hydra documents it.
``conf/sweep/search.yaml`` selects it.
"""

from __future__ import annotations

from typing import Any

from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper as HydraOptunaSweeper
from omegaconf import DictConfig


class OptunaSweeper(HydraOptunaSweeper):
    """:class:`hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper` with its sampler built."""

    def __init__(self, sampler: Any, **kwargs: Any) -> None:
        if isinstance(sampler, DictConfig):  # a config (GridSampler's is _partial_): build it here
            sampler = instantiate(sampler)
        super().__init__(sampler=sampler, **kwargs)
