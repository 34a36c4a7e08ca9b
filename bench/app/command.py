"""Run a command as a Hydra app: argv handling, secret refusal, one-line errors.

:func:`hydra_command` composes ``conf/config.yaml`` with the user's overrides, runs the command's
``run(cfg)``, and turns user errors (:class:`bench.core.errors.TeamformError`, and what Hydra
and OmegaConf raise for a broken command line) into one ``error: ...`` line on stderr with exit
code 2, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable

from bench.app.config_errors import config_error, user_cause
from bench.app.groups import CONF_DIR
from bench.core.errors import ConfigError, exit_with
from bench.core.redact import SECRET_KEY

fail = exit_with


# Hydra's flags that take a value (argparse cannot mix them between positional overrides).
VALUE_FLAGS = {
    "--cfg",
    "-c",
    "--package",
    "-p",
    "--config-path",
    "-cp",
    "--config-name",
    "-cn",
    "--config-dir",
    "-cd",
    "--experimental-rerun",
}


def split_flags(argv: list[str]) -> tuple[list[str], list[str]]:
    """Hydra flags (with their values) first, overrides after, whatever order the user typed.

    Example:
        >>> split_flags(["data=demo", "--cfg", "job", "seed=1"])
        (['--cfg', 'job'], ['data=demo', 'seed=1'])
    """
    flags, overrides, i = [], [], 0
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-"):
            flags.append(arg)
            if arg in VALUE_FLAGS and i + 1 < len(argv):
                flags.append(argv[i + 1])
                i += 1
        else:
            overrides.append(arg)
        i += 1
    return flags, overrides


def quiet_libraries() -> None:
    """Keep the libraries' chatter (tips, loader probes, weight-loading bars) out of the output."""
    import warnings

    # Lightning sets its package loggers back to INFO when first imported (lazily, after this), so
    # its device and tip lines are quieted at the child logger that emits them.
    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
        "faiss.loader",
        "httpx",
        "urllib3",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def refuse_secrets(overrides: list[str]) -> None:
    """Stop when an override sets a key, token or password: Hydra would save it in logs and configs.

    Example:
        >>> refuse_secrets(["llm.backend.api_key_env=MY_KEY"])  # naming the variable is fine
    """
    for override in overrides:
        key, sep, value = override.partition("=")
        if sep and value and SECRET_KEY.search(key.lstrip("+~")):
            raise ConfigError(
                f"{key.lstrip('+~')} is a secret: pass it through an environment variable "
                "(e.g. OPENAI_API_KEY), not on the command line, where it would be saved in logs and configs"
            )


def hydra_command(name: str, task: Callable, argv: list[str], config_name: str = "config") -> None:
    """Run ``task(cfg)`` as a Hydra app named ``name`` with ``argv`` as its overrides.

    ``argv`` may hold ``--multirun``, ``--cfg job`` and the other Hydra flags.
    """
    import hydra  # deferred: Hydra's import is most of the start-up time of `teamform --help`

    # Hydra's own report of a bad command line is several lines and exit code 1; with
    # HYDRA_FULL_ERROR=1 it raises instead, and config_error() makes the error one line (exit 2).
    full_error = os.environ.get("HYDRA_FULL_ERROR") == "1"

    @functools.wraps(task)
    def guarded(cfg):  # noqa: ANN001 - Hydra passes a DictConfig
        quiet_libraries()
        try:
            return task(cfg)
        except Exception as error:  # noqa: BLE001 - user errors become one line, bugs re-raise
            user_error = user_cause(error) if full_error else config_error(error)
            if user_error is None:
                raise
            fail(user_error)

    entry = hydra.main(config_path=str(CONF_DIR), config_name=config_name, version_base="1.3")(guarded)
    flags, overrides = split_flags(argv)
    refuse_secrets(overrides)
    saved = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = [f"teamform {name}", *flags, *overrides, f"hydra.job.name={name}"]
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        entry()
    except Exception as error:  # noqa: BLE001 - composition errors: one line; bugs keep their traceback
        user_error = None if full_error else config_error(error)
        if user_error is None:
            raise
        fail(user_error)
    finally:
        sys.argv = saved[0]
        if saved[1] is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved[1]
