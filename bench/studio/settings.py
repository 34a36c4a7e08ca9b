"""The ``label.*`` settings of ``teamform label serve`` (``conf/label/default.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.core.errors import ConfigError

# Annotator names end up in annotations.jsonl and labels: letters, digits and ``_.@-``.
ANNOTATOR_NAME = re.compile(r"[\w.@-]{1,64}")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class LabelSettings:
    """What the label studio samples, shows and accepts.

    Attributes:
        annotator: the name the printed URL logs in as; ``None`` asks each browser for a name
            (one URL for several annotators).
        host: the address to bind; anything but loopback exposes personal data to the network.
        port: the port; 0 takes any free one.
        top_share: share of the sampled pairs drawn from the top-k of :attr:`system` (the paper's
            annotation design), the rest uniformly from every task-employee pair.
        top_k: how deep the system's ranking is that the top share is drawn from.
        overlap: share of the sampled pairs shown to every annotator (to measure agreement); the
            others are handed out once, to whoever comes first.
        grades: the answer scale; ``None`` is binary (0 = not relevant, 1 = relevant), otherwise
            a list of distinct integer grades from 0 to 9 that includes 0.
        n_pairs: how many pairs to sample (fewer when the data has fewer unjudged pairs).
        seed: seeds the sample and its order.
        system: the system whose top-k feeds the top share (``encoder/view``, e.g.
            ``base/condorcet``); read by the orchestration that builds ``rank_top_k``.
        out: the output directory; ``None`` uses the command's run directory.
        max_body_bytes: requests with a larger body are refused with 413.
        session_hours: a browser session expires after this many hours without a request.
    """

    annotator: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    top_share: float = 0.5
    top_k: int = 10
    overlap: float = 0.2
    grades: list[int] | None = None
    n_pairs: int = 200
    seed: int = 0
    system: str = "base/condorcet"
    out: str | None = None
    max_body_bytes: int = 65536
    session_hours: float = 12.0

    def __post_init__(self) -> None:
        for key in ("top_share", "overlap"):
            value = getattr(self, key)
            if not 0.0 <= float(value) <= 1.0:
                raise ConfigError(f"label.{key}={value} must be between 0 and 1")
        for key, low in (("top_k", 1), ("n_pairs", 0), ("max_body_bytes", 1024), ("port", 0)):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"label.{key}={value!r} must be an integer of at least {low}")
        if self.port > 65535:
            raise ConfigError(f"label.port={self.port} must be at most 65535 (0 takes any free port)")
        if self.session_hours <= 0:
            raise ConfigError(f"label.session_hours={self.session_hours} must be positive")
        if self.annotator is not None and not ANNOTATOR_NAME.fullmatch(str(self.annotator)):
            raise ConfigError(
                f"label.annotator={self.annotator!r} is not a valid name; use 1-64 letters, digits or _.@-"
            )
        if self.grades is not None:
            self.grades = _check_grades(self.grades)

    @property
    def scale(self) -> list[int]:
        """The grades an annotator may answer, ascending (``[0, 1]`` when binary)."""
        return list(self.grades) if self.grades is not None else [0, 1]

    @property
    def relevant_grade(self) -> int:
        """The grade the team builder records for a relevant pick: the lowest positive grade."""
        return min(g for g in self.scale if g > 0)

    @property
    def loopback(self) -> bool:
        """Whether :attr:`host` is a loopback address (the safe default)."""
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")


def _check_grades(grades: object) -> list[int]:
    if not isinstance(grades, (list, tuple)) or len(grades) < 2:
        raise ConfigError(
            f"label.grades={grades!r} must be null (binary) or a list of at least two integer grades, "
            "e.g. [0,1,2]"
        )
    values = []
    for g in grades:
        if isinstance(g, bool) or not isinstance(g, int) or not 0 <= g <= 9:
            raise ConfigError(f"label.grades={list(grades)!r}: grade {g!r} is not an integer from 0 to 9")
        values.append(g)
    if len(set(values)) != len(values) or 0 not in values:
        raise ConfigError(
            f"label.grades={list(grades)!r} must list distinct grades including 0 (not relevant)"
        )
    return sorted(values)
