"""The LLM backend protocol and the OpenAI-SDK backend.

A *backend* makes exactly one chat call and returns a parsed, schema-valid reply; it knows nothing
about caching, retries, budgets or concurrency (that is :class:`data_synth.client.LLMClient`).
Backends: ``openai`` and ``openai_compatible`` (:class:`OpenAIBackend`), ``local``
(:class:`data_synth.local_server.LocalServerBackend`, a llama.cpp server talked to through
:class:`OpenAIBackend`) and ``simulated`` (:mod:`data_synth.simulated`, answers from the hidden
ground truth).

Structured output: the request's pydantic model is turned into a JSON schema and sent as
``response_format={"type": "json_schema", "json_schema": {...}}``; a server that rejects that
(HTTP 400 naming ``response_format`` / ``json_schema``) is asked again, and from then on, with
``{"type": "json_object", "schema": ...}`` plus the schema written into a system message. The reply
text is validated with pydantic; a reply that does not parse raises :class:`ReplyParseError`, which
the client answers with a bounded repair retry.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pydantic

from bench.core.errors import ConfigError, TeamformError

STAGES = ("projects", "tasks", "curriculum", "label", "eureka_review", "negatives")
RESPONSE_FORMATS = ("json_schema", "json_object", "none")


@dataclass
class LLMRequest:
    """One chat call.

    Args:
        stage: the synthesis stage asking (one of :data:`STAGES`); used for per-stage usage.
        messages: OpenAI chat messages (``{"role": ..., "content": ...}``).
        schema: the pydantic model the reply must validate against.
        payload: structured facts for the simulated backend (ids, hidden truth); never sent to an
            LLM, but part of the cache key.
        temperature: sampling temperature.
        max_tokens: the reply's token limit (``None``: the server default).
        seed: sampling seed, where the server honours one.
    """

    stage: str
    messages: list[dict[str, str]]
    schema: type[pydantic.BaseModel]
    payload: dict[str, Any] = field(default_factory=dict)
    temperature: float = 0.7
    max_tokens: int | None = None
    seed: int | None = None


@dataclass
class LLMReply:
    """A parsed reply and what it cost; a cache hit (``cached=True``) repeats the tokens and
    dollars of the original call, which the client does not count again."""

    parsed: pydantic.BaseModel
    raw: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False


@runtime_checkable
class Backend(Protocol):
    """What :class:`data_synth.client.LLMClient` needs from a backend."""

    name: str  # "openai" | "openai_compatible" | "local" | "simulated"
    model: str

    async def ask(self, request: LLMRequest) -> LLMReply:
        """Make one call; no cache, retry or budget logic. Raise :class:`ReplyParseError` for
        a reply that does not validate, SDK errors (``openai.RateLimitError`` ...) as they come."""
        ...

    async def aclose(self) -> None:
        """Release connections / subprocesses."""
        ...


class ReplyParseError(Exception):
    """The reply text is not JSON valid for the request's schema (the client repairs it).

    Attributes:
        raw: the reply text.
        error: a short description of what is wrong (sent back to the model to repair).
        prompt_tokens, completion_tokens: what the failed call used (it still costs).
    """

    def __init__(self, raw: str, error: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        super().__init__(error)
        self.raw, self.error = raw, error
        self.prompt_tokens, self.completion_tokens = prompt_tokens, completion_tokens


def schema_json(schema: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The JSON schema of a pydantic model (what the cache key and the prompt use)."""
    return schema.model_json_schema()


def strict_json_schema(schema: type[pydantic.BaseModel]) -> dict[str, Any]:
    """A JSON schema that OpenAI's ``strict`` structured output accepts.

    Strict mode wants every object closed (``additionalProperties: false``) with all its
    properties required and no ``default`` keys; fields with defaults become required (the model
    must write them), which pydantic still validates.

    Example:
        >>> class A(pydantic.BaseModel):
        ...     x: int
        ...     y: str = "a"
        >>> s = strict_json_schema(A)
        >>> s["required"], s["additionalProperties"]
        (['x', 'y'], False)
    """
    out = copy.deepcopy(schema_json(schema))

    def close(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("default", None)
            if node.get("type") == "object" and "properties" in node:
                node["additionalProperties"] = False
                node["required"] = list(node["properties"])
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(out)
    return out


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


def parse_reply(raw: str, schema: type[pydantic.BaseModel]) -> pydantic.BaseModel:
    """Validate a reply text against ``schema``; tolerate a Markdown code fence around the JSON.

    Raises:
        ReplyParseError: with pydantic's message when the text is not valid for the schema.

    Example:
        >>> class A(pydantic.BaseModel):
        ...     x: int
        >>> parse_reply('```json\\n{"x": 3}\\n```', A).x
        3
        >>> parse_reply('{"x": 3, "note": "two\\nlines"}', A).x  # a raw newline inside a string
        3
    """
    text = raw or ""
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        # strict=False: accept raw newlines / tabs inside strings, which small local models write
        text = json.dumps(json.loads(text, strict=False))
    except json.JSONDecodeError as exc:
        raise ReplyParseError(
            raw, f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    try:
        return schema.model_validate_json(text)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise ReplyParseError(raw, f"the reply is not valid JSON for the schema ({problems})") from None


def schema_instruction(schema: type[pydantic.BaseModel]) -> str:
    """The system message used when the server cannot enforce a JSON schema itself."""
    return (
        "Reply with one JSON object only, no prose and no code fence, that validates against this "
        f"JSON schema:\n{json.dumps(schema_json(schema), ensure_ascii=False)}"
    )


def _rejects_json_schema(exc: Exception) -> bool:
    """True when the server's error says it does not take ``json_schema`` response formats.

    OpenAI-compatible servers answer 400 or 422; llama-cpp-python's server (0.3.x) answers 500
    with its request-validation message (``loc: body.response_format.type``).
    """
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return False
    text = str(exc).lower()
    if exc.status_code in (400, 422):
        return "response_format" in text or "json_schema" in text or "response format" in text
    return exc.status_code >= 500 and "response_format" in text and "json_schema" in text


class OpenAIBackend:
    """Chat completions through ``openai.AsyncOpenAI`` (OpenAI, vLLM, llama.cpp, Ollama, ...).

    Args:
        model: the model name sent with each request (``gpt-4o-mini``, a vLLM model id, ...).
        base_url: the server's ``/v1`` URL; ``None`` for api.openai.com.
        api_key_env: the *name* of the environment variable that holds the key (the key itself is
            never stored, logged or cached). A server without auth accepts any placeholder:
            ``api_key_env: null`` sends ``"not-needed"``.
        name: the backend name recorded in caches and manifests (``openai`` / ``openai_compatible``).
        response_format: ``json_schema`` (strict structured output, falls back to ``json_object``
            on servers that reject it), ``json_object`` or ``none`` (schema in the prompt only).
        strict: ask for OpenAI strict schema adherence (the schema is closed first, see
            :func:`strict_json_schema`).
        timeout_s: the per-request timeout; the SDK's own retries are off (the client retries).

    Example:
        >>> backend = OpenAIBackend(model="gpt-4o-mini")  # key read from OPENAI_API_KEY on first call
        >>> backend.name, backend.model
        ('openai', 'gpt-4o-mini')
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        name: str = "openai",
        response_format: str = "json_schema",
        strict: bool = True,
        timeout_s: float = 60.0,
    ) -> None:
        if response_format not in RESPONSE_FORMATS:
            raise ConfigError(
                f"llm.backend.response_format={response_format!r} is unknown; choose one of: "
                + ", ".join(RESPONSE_FORMATS)
            )
        self.name, self.model = name, model
        self.base_url = base_url
        self.api_key_env = api_key_env
        self.response_format = response_format
        self.strict = strict
        self.timeout_s = float(timeout_s)
        self._client: Any = None

    def _sdk(self) -> Any:
        """The ``AsyncOpenAI`` client, made on first use (so configs compose without a key)."""
        if self._client is None:
            import openai

            if self.api_key_env:
                key = os.environ.get(self.api_key_env)
                if not key:
                    raise ConfigError(
                        f"llm backend {self.name!r} reads its API key from ${self.api_key_env}, which is "
                        f"not set; export {self.api_key_env}=... or set llm.backend.api_key_env "
                        "(or pick llm=simulated / llm=local)"
                    )
            else:
                key = "not-needed"
            self._client = openai.AsyncOpenAI(
                api_key=key, base_url=self.base_url, timeout=self.timeout_s, max_retries=0
            )
        return self._client

    def _format(self, request: LLMRequest) -> tuple[list[dict[str, str]], dict[str, Any] | None]:
        """The messages and ``response_format`` for the current structured-output mode."""
        if self.response_format == "json_schema":
            schema = strict_json_schema(request.schema) if self.strict else schema_json(request.schema)
            fmt = {
                "type": "json_schema",
                "json_schema": {"name": request.schema.__name__, "schema": schema, "strict": self.strict},
            }
            return list(request.messages), fmt
        messages = [{"role": "system", "content": schema_instruction(request.schema)}, *request.messages]
        if self.response_format == "json_object":
            # "schema" is an extension llama.cpp's server reads (grammar-constrained decoding);
            # OpenAI ignores it.
            return messages, {"type": "json_object", "schema": schema_json(request.schema)}
        return messages, None

    async def ask(self, request: LLMRequest) -> LLMReply:
        """One chat completion, parsed with the request's schema.

        Raises:
            ReplyParseError: the reply is not valid for the schema.
            openai.APIError: as raised by the SDK (the client decides what is retried).
        """
        import openai

        client = self._sdk()
        while True:
            messages, fmt = self._format(request)
            kwargs: dict[str, Any] = {
                "model": self.model,
                "messages": messages,
                "temperature": request.temperature,
            }
            if fmt is not None:
                kwargs["response_format"] = fmt
            if request.max_tokens is not None:
                kwargs["max_tokens"] = request.max_tokens
            if request.seed is not None:
                kwargs["seed"] = request.seed
            try:
                completion = await client.chat.completions.create(**kwargs)
            except openai.APIStatusError as exc:
                if self.response_format == "json_schema" and _rejects_json_schema(exc):
                    self.response_format = "json_object"  # sticky: ask this server the other way
                    continue
                raise
            break
        usage = completion.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        if not completion.choices:
            raise ReplyParseError("", "the server returned no choices", prompt_tokens, completion_tokens)
        choice = completion.choices[0]
        raw = choice.message.content or ""
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise ReplyParseError(raw, f"the model refused: {refusal}", prompt_tokens, completion_tokens)
        try:
            parsed = parse_reply(raw, request.schema)
        except ReplyParseError as exc:
            if choice.finish_reason == "length":
                exc.error += "; the reply was cut off at max_tokens, so answer more briefly"
            exc.prompt_tokens, exc.completion_tokens = prompt_tokens, completion_tokens
            raise
        return LLMReply(
            parsed=parsed, raw=raw, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._client is not None:
            await self._client.close()
            self._client = None


class BackendError(TeamformError):
    """A backend failed in a way retries cannot fix (bad key, bad request, server died)."""
