"""Dataset loaders (custom format, simulated demo enterprise, O*NET), export and leakage checks."""

from __future__ import annotations

from omegaconf import DictConfig

from bench.core.dataset import Dataset
from bench.core.errors import ConfigError, TeamformError


def load_dataset(data_cfg: DictConfig) -> Dataset:
    """Build the dataset a ``data=...`` config describes (its ``_target_`` does the work).

    User errors raised by a loader come out as themselves, not wrapped by Hydra.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf.errors import MissingMandatoryValue

    try:
        return instantiate(data_cfg, _convert_="all")
    except MissingMandatoryValue as error:  # e.g. data=custom without data.root
        key = error.full_key or "a value"
        raise ConfigError(f"{key} is not set; pass {key}=... on the command line") from None
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, TeamformError):
            raise cause from None
        raise
