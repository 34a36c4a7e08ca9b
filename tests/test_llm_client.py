"""The LLM client against a loopback OpenAI-compatible server with injected faults.

Real openai SDK and HTTP on 127.0.0.1; the server (tests/fake_openai_server.py) answers 429, 500,
slow replies and malformed JSON at seeded rates and counts requests per prompt.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pydantic
import pytest
from fake_openai_server import FakeOpenAIServer  # tests/ is on sys.path (pytest rootdir-less import)
from hydra.utils import instantiate
from llm_map_job import Item, build_client, build_requests
from omegaconf import OmegaConf

from data_synth.backend import BackendError, LLMRequest, OpenAIBackend, strict_json_schema
from data_synth.client import BudgetExceeded, InvalidReply, LLMClient, is_transient, retry_after_s
from data_synth.local_server import LocalServerBackend

ROOT = Path(__file__).resolve().parent.parent
SENTINEL_KEY = "sk-SENTINEL-3f9c2a-never-store-me"
COST_PER_CALL = 100 * 10.0 / 1e6 + 10 * 20.0 / 1e6  # fake server usage x prices in build_client


def echo(prompt: str, body: dict) -> dict:
    """Valid reply naming its prompt, so a mixed-up reply is visible."""
    return {"prompt_id": prompt, "value": len(prompt)}


@pytest.fixture(autouse=True)
def _sentinel_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL_KEY)


def run_map(client: LLMClient, requests: list[LLMRequest]) -> list:
    try:
        return client.run(client.map(requests, desc="test"))
    finally:
        client.close()


def assert_in_order(replies: list, n: int) -> None:
    assert [r.parsed.prompt_id for r in replies] == [f"item-{i}" for i in range(n)]


def test_faults_still_complete_the_requested_count(tmp_path: Path) -> None:
    n = 40
    with FakeOpenAIServer(
        seed=3,
        rate_429=0.2,
        rate_500=0.2,
        rate_slow=0.1,
        rate_malformed=0.15,
        slow_s=1.0,
        max_faults=2,
        responder=echo,
    ) as server:
        client = build_client(server.base_url, tmp_path / "cache", concurrency=4)
        client.backend.timeout_s = 0.4  # a slow reply (1 s) is a timeout
        replies = run_map(client, build_requests(n))
        faults = server.fault_counts()
    assert_in_order(replies, n)
    assert all(faults[kind] > 0 for kind in ("429", "500", "slow", "malformed")), faults
    assert client.usage.retries == faults["429"] + faults["500"] + faults["slow"]
    assert client.usage.repairs == faults["malformed"]
    # every answered request is counted and priced: n valid + the malformed ones
    assert client.usage.calls == n + faults["malformed"]
    assert client.usage.cost_usd == pytest.approx(client.usage.calls * COST_PER_CALL)
    assert len(client.cache) == n


def test_malformed_json_is_sent_back_and_repaired(tmp_path: Path) -> None:
    n = 5
    with FakeOpenAIServer(rate_malformed=1.0, max_faults=1, responder=echo) as server:
        replies = run_map(build_client(server.base_url, tmp_path / "cache"), build_requests(n))
        counts, bodies = dict(server.counts), list(server.bodies)
    assert_in_order(replies, n)
    assert counts == {f"item-{i}": 2 for i in range(n)}
    repairs = [b["messages"] for b in bodies if len(b["messages"]) == 3]
    assert len(repairs) == n
    for messages in repairs:
        assert messages[1] == {"role": "assistant", "content": '{"this is": "not valid'}
        assert "not valid JSON" in messages[2]["content"]
    assert all(r.prompt_tokens == 200 and r.completion_tokens == 20 for r in replies)  # both rounds


def test_reply_still_invalid_after_repairs_raises_or_is_skipped(tmp_path: Path) -> None:
    with FakeOpenAIServer(rate_malformed=1.0, max_faults=100, responder=echo) as server:
        client = build_client(server.base_url, tmp_path / "a", repair_retries=2, concurrency=1)
        with pytest.raises(InvalidReply, match="invalid 'label' reply 3 times"):
            run_map(client, build_requests(1))
        assert server.counts["item-0"] == 3
        client = build_client(server.base_url, tmp_path / "b", repair_retries=1, on_invalid="skip")
        replies = run_map(client, build_requests(3))
    assert replies == [None, None, None]
    assert client.usage.invalid == 3 and len(client.cache) == 0


def test_second_run_is_served_from_the_cache(tmp_path: Path) -> None:
    n = 12
    with FakeOpenAIServer(responder=echo) as server:
        first = run_map(build_client(server.base_url, tmp_path / "cache"), build_requests(n))
        assert sum(server.counts.values()) == n
        server.reset_counts()
        client = build_client(server.base_url, tmp_path / "cache")
        second = run_map(client, build_requests(n))
        assert sum(server.counts.values()) == 0
    assert_in_order(second, n)
    assert [r.raw for r in first] == [r.raw for r in second]
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    assert client.usage.cache_hits == n and client.usage.calls == 0 and client.usage.cost_usd == 0


def test_cache_key_depends_on_model_messages_schema_params_and_payload(tmp_path: Path) -> None:
    client = build_client("http://127.0.0.1:9/v1", tmp_path)
    base = build_requests(1)[0]

    class Other(pydantic.BaseModel):
        prompt_id: str

    variants = [
        LLMRequest("label", [{"role": "user", "content": "item-1"}], Item, temperature=0.0),
        LLMRequest("label", base.messages, Other, temperature=0.0),
        LLMRequest("label", base.messages, Item, temperature=0.5),
        LLMRequest("label", base.messages, Item, temperature=0.0, seed=1),
        LLMRequest("label", base.messages, Item, temperature=0.0, max_tokens=10),
        LLMRequest("label", base.messages, Item, temperature=0.0, payload={"pair": [1, 2]}),
    ]
    keys = {client.key(base)} | {client.key(r) for r in variants}
    assert len(keys) == 1 + len(variants)
    client.backend.model = "other-model"
    assert client.key(base) not in keys


def test_budget_stops_with_partial_results_and_a_rerun_completes(tmp_path: Path) -> None:
    n = 12
    with FakeOpenAIServer(responder=echo) as server:
        client = build_client(
            server.base_url, tmp_path / "cache", concurrency=1, budget_usd=4.5 * COST_PER_CALL
        )
        replies = run_map(client, build_requests(n))
        done = [r for r in replies if r is not None]
        assert len(done) == 5  # calls start while spend < budget: 0, 1, 2, 3, 4 -> 5 x cost
        assert replies[:5] == done and replies[5:] == [None] * 7
        assert client.budget_exceeded and client.usage.skipped_budget == 7
        with pytest.raises(BudgetExceeded) as info:
            client.check_budget()
        message = str(info.value)
        assert "llm.budget_usd" in message and "5 of 12 calls finished, 7 not made" in message
        assert "rerun with a larger llm.budget_usd" in message
        assert sum(server.counts.values()) == 5

        server.reset_counts()
        rerun = build_client(server.base_url, tmp_path / "cache", concurrency=4, budget_usd=1.0)
        replies = run_map(rerun, build_requests(n))
        counts = dict(server.counts)
    assert_in_order(replies, n)
    assert counts == {f"item-{i}": 1 for i in range(5, n)}  # no finished call asked again
    assert rerun.usage.cache_hits == 5 and not rerun.budget_exceeded
    rerun.check_budget()


def test_token_budget_and_concurrent_overshoot_is_bounded(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=echo, delay_s=0.05) as server:
        client = build_client(server.base_url, tmp_path / "a", concurrency=1, max_tokens_total=330)
        replies = run_map(client, build_requests(10))
        assert sum(r is not None for r in replies) == 3  # 110 tokens a call: 3 x 110 = 330
        client = build_client(server.base_url, tmp_path / "b", concurrency=4, budget_usd=2.5 * COST_PER_CALL)
        replies = run_map(client, build_requests(20))
    done = sum(r is not None for r in replies)
    assert 3 <= done <= 3 + 4 - 1  # calls in flight when the budget is reached still finish
    with pytest.raises(BudgetExceeded):
        client.check_budget()


def test_single_ask_raises_budget_exceeded(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=echo) as server:
        client = build_client(server.base_url, tmp_path, budget_usd=0.5 * COST_PER_CALL)
        requests = build_requests(2)
        client.run(client.ask(requests[0]))
        with pytest.raises(BudgetExceeded, match="stage 'label'"):
            client.run(client.ask(requests[1]))
        assert client.run(client.ask(requests[0])).cached  # cache hits are free, still served
        client.close()


def test_persistent_transient_failure_raises_after_max_retries(tmp_path: Path) -> None:
    with FakeOpenAIServer(rate_500=1.0, max_faults=100, responder=echo) as server:
        client = build_client(server.base_url, tmp_path, max_retries=2)
        with pytest.raises(BackendError, match="still failing after 3 tries"):
            run_map(client, build_requests(1))
        assert server.counts["item-0"] == 3


def test_server_without_json_schema_falls_back_to_json_object(tmp_path: Path) -> None:
    with FakeOpenAIServer(reject_json_schema=True, responder=echo) as server:
        client = build_client(server.base_url, tmp_path, concurrency=1)
        replies = run_map(client, build_requests(4))
        bodies = list(server.bodies)
    assert_in_order(replies, 4)
    assert client.backend.response_format == "json_object"
    assert [b["response_format"]["type"] for b in bodies] == ["json_schema"] + ["json_object"] * 4
    assert bodies[1]["response_format"]["schema"] == Item.model_json_schema()
    assert (
        bodies[1]["messages"][0]["role"] == "system" and "JSON schema" in bodies[1]["messages"][0]["content"]
    )


def test_strict_schema_is_sent_and_validated(tmp_path: Path) -> None:
    with FakeOpenAIServer(responder=echo) as server:
        run_map(build_client(server.base_url, tmp_path), build_requests(1))
        fmt = server.bodies[0]["response_format"]
    assert fmt == {
        "type": "json_schema",
        "json_schema": {"name": "Item", "schema": strict_json_schema(Item), "strict": True},
    }


def test_no_api_key_in_the_cache_and_private_modes(tmp_path: Path) -> None:
    with FakeOpenAIServer(rate_malformed=0.3, responder=echo) as server:
        run_map(build_client(server.base_url, tmp_path / "cache"), build_requests(8))
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) == 8
    for path in files:
        assert SENTINEL_KEY.encode() not in path.read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        entry = json.loads(path.read_text())
        assert set(entry) >= {
            "key",
            "backend",
            "model",
            "raw",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
        }
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700


def test_missing_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    client = build_client("http://127.0.0.1:9/v1", tmp_path)
    with pytest.raises(Exception, match=r"\$OPENAI_API_KEY, which is not set"):
        client.run(client.ask(build_requests(1)[0]))


def test_transient_classification_and_retry_after() -> None:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")

    def status(code: int, headers: dict | None = None) -> openai.APIStatusError:
        response = httpx.Response(code, request=request, headers=headers or {})
        return openai.APIStatusError("x", response=response, body=None)

    assert is_transient(openai.RateLimitError("x", response=httpx.Response(429, request=request), body=None))
    assert is_transient(openai.APITimeoutError(request=request))
    assert is_transient(openai.APIConnectionError(request=request))
    assert is_transient(status(503)) and is_transient(status(500)) and is_transient(status(408))
    assert not is_transient(status(400)) and not is_transient(status(401)) and not is_transient(status(404))
    assert retry_after_s(status(429, {"retry-after": "2"})) == 2.0
    assert retry_after_s(status(429, {"retry-after-ms": "250"})) == 0.25
    assert retry_after_s(ValueError()) == 0.0


def test_sigkill_mid_run_loses_no_finished_call(tmp_path: Path) -> None:
    n = 40
    cache_dir, out = tmp_path / "cache", tmp_path / "out.json"
    job = [sys.executable, str(ROOT / "tests" / "llm_map_job.py")]
    env = {**os.environ, "OPENAI_API_KEY": SENTINEL_KEY}
    with FakeOpenAIServer(
        seed=1, rate_429=0.1, rate_500=0.1, rate_malformed=0.1, delay_s=0.1, responder=echo
    ) as server:
        proc = subprocess.Popen([*job, server.base_url, str(cache_dir), str(n), str(out)], env=env)
        deadline = time.monotonic() + 60
        while len(list(cache_dir.glob("*/*.json"))) < 8:
            assert proc.poll() is None, "the job ended before it was killed"
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists()
        client = build_client(server.base_url, cache_dir)
        finished = {r.messages[0]["content"] for r in build_requests(n) if client.key(r) in client.cache}
        for path in cache_dir.glob("*/*.json"):
            json.loads(path.read_text())  # every entry is whole
        assert 8 <= len(finished) < n

        server.wait_idle()  # the killed job's last requests may still be answered
        server.reset_counts()
        subprocess.run(
            [*job, server.base_url, str(cache_dir), str(n), str(out)], env=env, check=True, timeout=120
        )
        asked_again = {p for p in finished if server.counts[p] > 0}
        second_ok = sum(server.ok.values())
    assert asked_again == set()
    assert second_ok == n - len(finished)
    result = json.loads(out.read_text())
    assert result["ids"] == [f"item-{i}" for i in range(n)] and len(set(result["ids"])) == n
    assert result["usage"]["cache_hits"] == len(finished)
    assert len(list(cache_dir.glob("*/*.json"))) == n


def test_llm_configs_build_clients(tmp_path: Path) -> None:
    for name, backend_type, backend_name in [
        ("openai", OpenAIBackend, "openai"),
        ("openai_compatible", OpenAIBackend, "openai_compatible"),
        ("local", LocalServerBackend, "local"),
    ]:
        cfg = OmegaConf.create(
            {
                "paths": {"cache_dir": str(tmp_path)},
                "llm": OmegaConf.load(ROOT / "conf" / "llm" / f"{name}.yaml"),
            }
        )
        if name == "openai_compatible":
            cfg.llm.backend.model = "Qwen/Qwen2.5-7B-Instruct"
        client = instantiate(cfg.llm)
        assert isinstance(client, LLMClient) and isinstance(client.backend, backend_type)
        assert client.backend.name == backend_name
        assert type(client.prices) is dict and client.cache.directory == tmp_path / "llm"
        assert not isinstance(client.backend, LocalServerBackend) or not client.backend.running  # lazy start
        asyncio.run(client.aclose())
    openai_cfg = OmegaConf.load(ROOT / "conf" / "llm" / "openai.yaml")
    assert openai_cfg.backend.model in openai_cfg.prices and openai_cfg.budget_usd > 0
