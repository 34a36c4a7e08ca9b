"""Turn what Hydra and OmegaConf raise for a broken command line into one-line user errors.

Hydra reports an unknown ``group=option``, a key that is not in the config or an override it
cannot parse as several lines and exit code 1; an error inside a ``_target_`` comes wrapped in
an :class:`hydra.errors.InstantiationException`. :func:`config_error` maps each of them to a
:class:`bench.core.errors.TeamformError` whose message names the bad key or option and the valid
choices, so the CLI can print it on one line with exit code 2. Anything else is a bug and is
left alone (its traceback is what a bug report needs).
"""

from __future__ import annotations

import re

from bench.app.groups import config_groups
from bench.core.errors import ConfigError, TeamformError

FULL_TRACE_HINT = "HYDRA_FULL_ERROR=1 shows the traceback"


def user_cause(error: BaseException) -> TeamformError | None:
    """The :class:`TeamformError` that ``error`` is, or that caused it (Hydra wraps them)."""
    seen: set[int] = set()
    node: BaseException | None = error
    while node is not None and id(node) not in seen:
        if isinstance(node, TeamformError):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def config_error(error: BaseException) -> TeamformError | None:
    """The one-line user error behind ``error``, or ``None`` when it is not a configuration problem.

    Args:
        error: what composing the config or running the command raised.

    Returns:
        ``error`` itself (or its cause) when it is a :class:`TeamformError`; a
        :class:`ConfigError` for an unknown config option, an unknown key, an unparsable
        override, a mandatory value left unset, an unresolvable interpolation or a ``_target_``
        that cannot be built; else ``None``.

    Example:
        >>> from hydra.errors import MissingConfigException
        >>> str(config_error(MissingConfigException("x", "model/foo", ["minilm", "e5"])))
        "unknown model option 'foo' (model=foo); choose one of: e5, minilm"
    """
    from hydra.errors import (
        ConfigCompositionException,
        InstantiationException,
        MissingConfigException,
        OverrideParseException,
    )
    from omegaconf.errors import ConfigKeyError, InterpolationResolutionError, MissingMandatoryValue

    found = user_cause(error)
    if found is not None:
        return found
    if isinstance(error, MissingConfigException):
        return _missing_option(error)
    if isinstance(error, OverrideParseException):
        first = error.message.split("\n", 1)[0]
        return ConfigError(
            f"cannot parse the override {error.override!r} ({first}); write key=value, group=option or "
            "key=[a,b] (https://hydra.cc/docs/advanced/override_grammar/basic/)"
        )
    cause = error.__cause__
    if isinstance(error, ConfigCompositionException):
        if isinstance(cause, ConfigKeyError | AttributeError) and getattr(cause, "full_key", None):
            return _unknown_key(cause)
        return ConfigError(one_line(f"{error} {cause or ''}"))
    if isinstance(error, InstantiationException):
        return _not_built(error)
    if isinstance(error, MissingMandatoryValue):
        key = error.full_key or "a value"
        return ConfigError(f"{key} is not set; pass {key}=... on the command line")
    if isinstance(error, InterpolationResolutionError):
        return ConfigError(f"{error.full_key}: {one_line(error.msg)}")
    return None


def _missing_option(error: BaseException) -> ConfigError:
    missing = getattr(error, "missing_cfg_file", None) or ""
    group, _, name = missing.rpartition("/")
    if not group:
        return ConfigError(one_line(str(error)))
    options = list(getattr(error, "options", None) or config_groups().get(group, []))
    choices = ", ".join(sorted(options)) if options else f"the files in conf/{group}/"
    return ConfigError(f"unknown {group} option {name!r} ({group}={name}); choose one of: {choices}")


def _unknown_key(cause: BaseException) -> ConfigError:
    full_key: str = cause.full_key  # type: ignore[attr-defined]
    parent = getattr(cause, "parent_node", None)
    where, _, _ = full_key.rpartition(".")
    keys = []
    if parent is not None and hasattr(parent, "keys"):
        keys = sorted(str(k) for k in parent.keys() if not str(k).startswith("_"))
    known = f"; {where or 'the config'} has: {', '.join(keys)}" if keys else ""
    return ConfigError(f"{full_key} is not a config key{known} (to add a new key, write +{full_key}=...)")


def _not_built(error: BaseException) -> ConfigError:
    text = str(error)
    key = re.search(r"full_key: (\S+)", text)
    target = re.search(r"target '([^']+)'", text)
    cause = error.__cause__
    what = key.group(1) if key else (target.group(1) if target else "a config object")
    if text.startswith("Error locating target"):
        return ConfigError(
            f"{what}._target_ {target.group(1) if target else ''!r} cannot be imported; check its spelling "
            f"or pick another {what.split('.', 1)[0]} option"
        )
    reason = f"{type(cause).__name__}: {one_line(str(cause))}" if cause is not None else one_line(text)
    return ConfigError(
        f"cannot build {what} ({target.group(1) if target else '?'}): {reason}; "
        f"check the {what}.* values ({FULL_TRACE_HINT})"
    )
