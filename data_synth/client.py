"""The LLM client every synthesis stage talks to: cache, concurrency, retries, repair, budget.

:class:`LLMClient` wraps any :class:`data_synth.backend.Backend`. For each request it

1. answers from the on-disk cache when the same call finished before (:mod:`data_synth.call_cache`);
2. otherwise stops if the budget (``budget_usd`` dollars or ``max_tokens_total`` tokens spent by
   this client) is used up, waits for one of ``concurrency`` slots and calls the backend;
3. retries transient failures (429, 5xx, 408/409, timeouts, connection errors) up to
   ``max_retries`` times with exponential backoff, jitter and the server's ``Retry-After``;
4. sends a reply that does not validate back with the error, asking for corrected JSON, up to
   ``repair_retries`` times;
5. prices the tokens from the table in ``conf/llm/*.yaml`` and writes the finished call to the
   cache (atomic, so ``kill -9`` loses only calls in flight).

:meth:`LLMClient.map` runs many requests with a progress bar (rate, ETA, spend) and returns
results in order, ``None`` where the budget ran out; the stage writes its partial artifact and
then calls :meth:`LLMClient.check_budget`, which raises :class:`BudgetExceeded`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from bench.core.errors import ConfigError, TeamformError
from data_synth.backend import Backend, BackendError, LLMReply, LLMRequest, ReplyParseError, parse_reply
from data_synth.call_cache import CallCache, call_key
from data_synth.usage import Usage, call_cost, check_prices

T = TypeVar("T")
ON_INVALID = ("raise", "skip")
REPAIR_PROMPT = (
    "Your previous reply could not be used: {error}. Reply again with only the corrected JSON "
    "object, valid for the required schema, and nothing else."
)


class BudgetExceeded(TeamformError):
    """The LLM budget ran out; finished calls are cached and a rerun with a larger budget resumes."""


class InvalidReply(TeamformError):
    """A reply stayed invalid for its schema after every repair retry."""


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: 408, 409, 429, 5xx, timeouts, connection errors."""
    import openai

    if isinstance(exc, openai.APIConnectionError | asyncio.TimeoutError | ConnectionError):
        return True  # openai.APITimeoutError is an APIConnectionError
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return False


def retry_after_s(exc: BaseException | None) -> float:
    """The server's ``Retry-After`` (seconds) on an HTTP error, else 0."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return float(value) * scale
            except ValueError:
                return 0.0
    return 0.0


class LLMClient:
    """Cached, concurrent, retried, budgeted structured LLM calls over a backend.

    Args:
        backend: a built backend (``OpenAIBackend``, ``LocalServerBackend``, the simulated one).
        cache_dir: where finished calls are stored (one ``0o600`` file per call).
        concurrency: calls in flight at once.
        max_retries: retries of one call after transient failures (so ``max_retries + 1`` tries).
        repair_retries: times an invalid reply is sent back for correction.
        budget_usd: dollars this client may spend (cache hits are free); ``None``: no limit.
        max_tokens_total: tokens (prompt + completion) this client may use; ``None``: no limit.
        prices: ``{model: {input_per_1m, output_per_1m}}`` in dollars per million tokens.
        progress: show a tqdm bar in :meth:`map`.
        on_invalid: ``raise`` (an invalid reply after repairs stops :meth:`map`) or ``skip``
            (it becomes ``None`` and counts in ``usage.invalid``).
        backoff_initial_s, backoff_max_s: the exponential backoff's first and largest wait.

    Example:
        >>> from data_synth.backend import OpenAIBackend
        >>> import tempfile
        >>> client = LLMClient(OpenAIBackend("gpt-4o-mini"), cache_dir=tempfile.mkdtemp(),
        ...                    budget_usd=1.0,
        ...                    prices={"gpt-4o-mini": {"input_per_1m": 0.15, "output_per_1m": 0.6}})
        >>> client.usage.calls
        0
    """

    def __init__(
        self,
        backend: Backend,
        cache_dir: str | Path,
        concurrency: int = 8,
        max_retries: int = 6,
        repair_retries: int = 2,
        budget_usd: float | None = None,
        max_tokens_total: int | None = None,
        prices: dict[str, dict[str, float]] | None = None,
        progress: bool = True,
        on_invalid: str = "raise",
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        if int(concurrency) < 1:
            raise ConfigError(f"llm.concurrency={concurrency} must be at least 1")
        if int(max_retries) < 0 or int(repair_retries) < 0:
            raise ConfigError("llm.max_retries and llm.repair_retries must be 0 or more")
        if on_invalid not in ON_INVALID:
            raise ConfigError(
                f"llm.on_invalid={on_invalid!r} is unknown; choose one of: {', '.join(ON_INVALID)}"
            )
        self.backend = backend
        self.prices = check_prices(prices)
        if budget_usd is not None and backend.model not in self.prices:
            raise ConfigError(
                f"llm.budget_usd={budget_usd} is set but llm.prices has no entry for model "
                f"{backend.model!r}; add llm.prices.{backend.model}.input_per_1m / output_per_1m "
                "or set llm.budget_usd=null"
            )
        self.cache = CallCache(cache_dir)
        self.concurrency, self.max_retries, self.repair_retries = (
            int(concurrency),
            int(max_retries),
            int(repair_retries),
        )
        self.budget_usd = None if budget_usd is None else float(budget_usd)
        self.max_tokens_total = None if max_tokens_total is None else int(max_tokens_total)
        self.progress, self.on_invalid = bool(progress), on_invalid
        self.backoff_initial_s, self.backoff_max_s = float(backoff_initial_s), float(backoff_max_s)
        self.usage = Usage()
        self._semaphore: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._budget_stop: str | None = None

    # ------------------------------------------------------------------ keys, budget
    def key(self, request: LLMRequest) -> str:
        """The cache key of ``request`` on this client's backend and model."""
        return call_key(self.backend.name, self.backend.model, request)

    def _budget_reason(self) -> str | None:
        """Why no new call may start, or ``None`` while budget is left."""
        if self.budget_usd is not None and self.usage.cost_usd >= self.budget_usd:
            return f"spent ${self.usage.cost_usd:.4f} of llm.budget_usd={self.budget_usd:g}"
        if self.max_tokens_total is not None and self.usage.tokens >= self.max_tokens_total:
            return f"used {self.usage.tokens} tokens of llm.max_tokens_total={self.max_tokens_total}"
        return None

    @property
    def budget_exceeded(self) -> bool:
        """True once a call was skipped because the budget ran out."""
        return self._budget_stop is not None

    def check_budget(self) -> None:
        """Raise :class:`BudgetExceeded` if any call was skipped for budget (call it after writing
        the partial artifact)."""
        if self._budget_stop is not None:
            raise BudgetExceeded(self._budget_stop)

    def _stop_message(
        self, stage: str, reason: str, skipped: int | None = None, total: int | None = None
    ) -> str:
        done = "" if skipped is None else f"; {total - skipped} of {total} calls finished, {skipped} not made"
        return (
            f"LLM budget reached in stage {stage!r}: {reason}{done}. Finished calls are cached; rerun with a "
            "larger llm.budget_usd (or llm.max_tokens_total) to complete without paying for them again"
        )

    # ------------------------------------------------------------------ one call
    def _slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._semaphore[0] is not loop:
            self._semaphore = (loop, asyncio.Semaphore(self.concurrency))
        return self._semaphore[1]

    def _from_cache(self, key: str, request: LLMRequest) -> LLMReply | None:
        entry = self.cache.get(key)
        if entry is None:
            return None
        try:
            parsed = parse_reply(entry["raw"], request.schema)
        except ReplyParseError:
            return None
        self.usage.add(request.stage, cache_hits=1)
        return LLMReply(
            parsed=parsed,
            raw=entry["raw"],
            prompt_tokens=int(entry.get("prompt_tokens", 0)),
            completion_tokens=int(entry.get("completion_tokens", 0)),
            cost_usd=float(entry.get("cost_usd", 0.0)),
            cached=True,
        )

    async def ask(self, request: LLMRequest) -> LLMReply:
        """One call: from the cache, else from the backend (retried, repaired, priced, cached).

        Raises:
            BudgetExceeded: the budget is used up and the call is not cached.
            InvalidReply: the reply stayed invalid after ``repair_retries`` repairs.
            BackendError: a non-transient API error, or transient ones past ``max_retries``.
        """
        key = self.key(request)
        cached = self._from_cache(key, request)
        if cached is not None:
            return cached
        async with self._slots():
            reason = self._budget_reason()
            if reason is not None:
                self.usage.add(request.stage, skipped_budget=1)
                self._budget_stop = self._budget_stop or self._stop_message(request.stage, reason)
                raise BudgetExceeded(self._stop_message(request.stage, reason))
            reply = await self._ask_with_repair(request)
        self.cache.put(
            key,
            {
                "backend": self.backend.name,
                "model": self.backend.model,
                "stage": request.stage,
                "raw": reply.raw,
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "cost_usd": reply.cost_usd,
            },
        )
        return reply

    def _account(self, stage: str, prompt_tokens: int, completion_tokens: int) -> float:
        cost = call_cost(self.prices, self.backend.model, prompt_tokens, completion_tokens)
        self.usage.add(
            stage, calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, cost_usd=cost
        )
        return cost

    async def _ask_with_repair(self, request: LLMRequest) -> LLMReply:
        messages = list(request.messages)
        spent = [0, 0, 0.0]  # prompt tokens, completion tokens, dollars over all repair rounds
        for round_ in range(self.repair_retries + 1):
            attempt = dataclasses.replace(request, messages=messages)
            try:
                reply = await self._ask_with_retry(attempt)
            except ReplyParseError as exc:
                spent[2] += self._account(request.stage, exc.prompt_tokens, exc.completion_tokens)
                spent[0] += exc.prompt_tokens
                spent[1] += exc.completion_tokens
                if round_ == self.repair_retries:
                    self.usage.add(request.stage, invalid=1)
                    raise InvalidReply(
                        f"llm backend {self.backend.name!r} ({self.backend.model}) gave an invalid "
                        f"{request.stage!r} reply {self.repair_retries + 1} times: {exc.error}; "
                        "use a stronger model, raise llm.repair_retries, or set llm.on_invalid=skip"
                    ) from None
                self.usage.add(request.stage, repairs=1)
                messages = [
                    *messages,
                    {"role": "assistant", "content": exc.raw},
                    {"role": "user", "content": REPAIR_PROMPT.format(error=exc.error)},
                ]
                continue
            spent[2] += self._account(request.stage, reply.prompt_tokens, reply.completion_tokens)
            return dataclasses.replace(
                reply,
                prompt_tokens=reply.prompt_tokens + spent[0],
                completion_tokens=reply.completion_tokens + spent[1],
                cost_usd=spent[2],
                cached=False,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: Any) -> float:
        base = wait_exponential_jitter(
            initial=self.backoff_initial_s, max=self.backoff_max_s, jitter=self.backoff_initial_s
        )
        exc = state.outcome.exception() if state.outcome else None
        return min(max(base(state), retry_after_s(exc)), self.backoff_max_s)

    async def _ask_with_retry(self, request: LLMRequest) -> LLMReply:
        def count_retry(state: Any) -> None:
            self.usage.add(request.stage, retries=1)

        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(is_transient),
                stop=stop_after_attempt(self.max_retries + 1),
                wait=self._wait,
                before_sleep=count_retry,
                reraise=True,
            ):
                with attempt:
                    return await self.backend.ask(request)
        except ReplyParseError:
            raise
        except TeamformError:
            raise
        except Exception as exc:
            raise self._backend_error(request, exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _backend_error(self, request: LLMRequest, exc: Exception) -> BackendError:
        import openai

        where = f"llm backend {self.backend.name!r} ({self.backend.model}), stage {request.stage!r}"
        if is_transient(exc):
            return BackendError(
                f"{where}: still failing after {self.max_retries + 1} tries ({type(exc).__name__}); finished "
                "calls are cached, so rerun later or raise llm.max_retries"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendError(f"{where}: the server refused the API key (HTTP {exc.status_code}); check it")
        if isinstance(exc, openai.APIStatusError):
            return BackendError(
                f"{where}: HTTP {exc.status_code}: {exc.message}; check llm.backend.model and the server"
            )
        return BackendError(f"{where}: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ many calls
    async def map(self, requests: list[LLMRequest], desc: str) -> list[LLMReply | None]:
        """Run ``requests`` ``concurrency`` at a time, with a progress bar (rate, ETA, spend).

        Returns:
            One reply per request, in order; ``None`` where the budget ran out (then
            :meth:`check_budget` raises) or, with ``on_invalid=skip``, where the reply stayed invalid.

        Raises:
            InvalidReply, BackendError: after cancelling the calls not finished (finished ones stay
                cached).
        """
        from tqdm.auto import tqdm

        results: list[LLMReply | None] = [None] * len(requests)
        skipped = 0
        start_cost = self.usage.cost_usd
        bar = tqdm(total=len(requests), desc=desc, unit="call", disable=not self.progress, dynamic_ncols=True)

        async def one(index: int, request: LLMRequest) -> None:
            nonlocal skipped
            try:
                results[index] = await self.ask(request)
            except BudgetExceeded:
                skipped += 1
            except InvalidReply:
                if self.on_invalid == "raise":
                    raise
            bar.update(1)
            bar.set_postfix(
                spend=f"${self.usage.cost_usd - start_cost:.4f}", hits=self.usage.cache_hits, refresh=False
            )

        tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(requests)]
        try:
            if tasks:
                done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        raise task.exception()
        finally:
            for task in tasks:
                task.cancel()
            bar.close()
        if skipped:
            stage = requests[0].stage if requests else desc
            reason = self._budget_reason() or "budget reached"
            self._budget_stop = self._stop_message(stage, reason, skipped, len(requests))
        return results

    # ------------------------------------------------------------------ sync helpers
    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine of this client from synchronous code, on one event loop kept for the
        client's life (the backend's HTTP connections belong to it).

        Example:
            >>> # replies = client.run(client.map(requests, desc="labels")); client.close()
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coro.close()
            raise RuntimeError("LLMClient.run is for synchronous code; inside a coroutine, await the call")
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    async def aclose(self) -> None:
        """Close the backend (HTTP connections, a local server subprocess)."""
        await self.backend.aclose()

    def close(self) -> None:
        """Synchronous :meth:`aclose`; also closes the client's event loop."""
        self.run(self.aclose())
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def summary(self) -> dict[str, Any]:
        """Backend, model and usage as plain values for a manifest."""
        return {"backend": self.backend.name, "model": self.backend.model, **self.usage.as_dict()}
