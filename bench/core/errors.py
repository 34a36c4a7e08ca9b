"""User-facing errors: one sentence naming the file, row or key and the fix, exit code 2."""

from __future__ import annotations


class TeamformError(Exception):
    """An error caused by the user's input or configuration.

    The command-line entry catches it, prints ``error: <message>`` on one line to stderr and
    exits with :attr:`exit_code`, without a traceback. Raise it with a message that names the
    bad file / line / key and says how to fix it.
    """

    exit_code = 2


class DataError(TeamformError):
    """A dataset file is missing or malformed."""

    def __init__(self, path: object, problem: str, line: int | None = None, fix: str = "") -> None:
        where = f"{path}" if line is None else f"{path}:{line}"
        message = f"{where}: {problem}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)
        self.path, self.line, self.problem = path, line, problem


class ConfigError(TeamformError):
    """A configuration value is invalid (unknown name, bad combination)."""


class SystemUnavailable(TeamformError):
    """One system of a job cannot be used (an API unreachable after retries, a key refused, weights
    missing offline, out of memory). The job skips that system with this message as the reason
    and keeps every other one."""


class ModelUnavailable(SystemUnavailable, ConfigError):
    """A model's files cannot be found or fetched (offline without a cached copy, a wrong path)."""


def one_line(error: BaseException) -> str:
    """``Type: message`` of an exception on one line (for skip reasons and ``job.json``)."""
    text = " ".join(str(error).split())
    return text if isinstance(error, TeamformError) else f"{type(error).__name__}: {text}"


def unknown_choice(kind: str, name: str, choices: object) -> ConfigError:
    """Build the error for an unknown registry name, listing the valid choices.

    Example:
        >>> str(unknown_choice("aggregator", "cond", ["borda", "condorcet"]))
        "unknown aggregator 'cond'; choose one of: borda, condorcet"
    """
    return ConfigError(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(choices))}")


def exit_with(error: TeamformError) -> None:
    """Print ``error`` as one ``error: ...`` line on stderr and exit with its code (no traceback)."""
    import sys

    message = " ".join(str(error).split("\n"))
    print(f"error: {message}", file=sys.stderr)
    sys.exit(error.exit_code)
