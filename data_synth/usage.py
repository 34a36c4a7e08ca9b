"""Token usage and spend of LLM calls, per stage, and the price table that turns tokens into dollars."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.core.errors import ConfigError

PRICE_KEYS = ("input_per_1m", "output_per_1m")


@dataclass
class StageUsage:
    """Counts of one stage (or of all stages together).

    Attributes:
        calls: requests the backend answered (repair requests included).
        cache_hits: calls answered from the on-disk cache (free, no request).
        prompt_tokens, completion_tokens: tokens of the answered requests.
        cost_usd: their price from the table in ``conf/llm/*.yaml``.
        retries: transient failures (429, 5xx, timeouts, connection errors) that were retried.
        repairs: replies that did not validate and were sent back to be corrected.
        invalid: calls whose reply stayed invalid after every repair retry.
        skipped_budget: calls not made because the budget ran out.
    """

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    retries: int = 0
    repairs: int = 0
    invalid: int = 0
    skipped_budget: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class Usage(StageUsage):
    """Totals plus a :class:`StageUsage` per stage; :meth:`add` updates both."""

    stages: dict[str, StageUsage] = field(default_factory=dict)

    def add(self, stage: str, **deltas: float) -> None:
        """Add ``deltas`` (e.g. ``calls=1, prompt_tokens=120``) to the totals and to ``stage``."""
        per_stage = self.stages.setdefault(stage, StageUsage())
        for name, value in deltas.items():
            setattr(self, name, getattr(self, name) + value)
            setattr(per_stage, name, getattr(per_stage, name) + value)

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers for manifests and reports (no prompt text)."""
        out = {k: v for k, v in asdict(self).items() if k != "stages"}
        out["cost_usd"] = round(self.cost_usd, 6)
        out["stages"] = {
            s: {**asdict(u), "cost_usd": round(u.cost_usd, 6)} for s, u in sorted(self.stages.items())
        }
        return out


def check_prices(prices: dict[str, dict[str, float]] | None) -> dict[str, dict[str, float]]:
    """Validate a price table ``{model: {input_per_1m, output_per_1m}}`` (dollars per 1M tokens).

    Raises:
        ConfigError: naming the model and key that is missing or negative.
    """
    table: dict[str, dict[str, float]] = {}
    for model, entry in (prices or {}).items():
        if not isinstance(entry, dict) or set(entry) != set(PRICE_KEYS):
            raise ConfigError(
                f"llm.prices.{model} must have exactly the keys {', '.join(PRICE_KEYS)} "
                "(dollars per 1M tokens)"
            )
        for key in PRICE_KEYS:
            value = float(entry[key])
            if value < 0:
                raise ConfigError(
                    f"llm.prices.{model}.{key}={value} is negative; prices are dollars per 1M tokens"
                )
        table[str(model)] = {k: float(entry[k]) for k in PRICE_KEYS}
    return table


def call_cost(
    prices: dict[str, dict[str, float]], model: str, prompt_tokens: int, completion_tokens: int
) -> float:
    """Dollars for one call: ``prompt * input_per_1m / 1e6 + completion * output_per_1m / 1e6``.

    A model missing from the table costs 0 (local servers, the simulated backend).

    Example:
        >>> round(call_cost({"m": {"input_per_1m": 0.15, "output_per_1m": 0.6}}, "m", 1_000_000, 500_000), 6)
        0.45
    """
    entry = prices.get(model)
    if entry is None:
        return 0.0
    return prompt_tokens * entry["input_per_1m"] / 1e6 + completion_tokens * entry["output_per_1m"] / 1e6
