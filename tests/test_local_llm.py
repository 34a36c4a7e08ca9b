"""The ``local`` backend for real: llama-cpp-python's server with SmolLM2-135M on a loopback port.

Needs the ``local-llm`` extra (CI installs it); skipped only when ``llama_cpp`` is not importable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Literal

import pydantic
import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

pytest.importorskip("llama_cpp", reason="needs the local-llm extra: pip install -e .[local-llm]")

from data_synth.backend import LLMRequest, OpenAIBackend  # noqa: E402
from data_synth.client import LLMClient  # noqa: E402
from data_synth.local_server import LocalServerBackend  # noqa: E402

pytestmark = [pytest.mark.llm, pytest.mark.slow]  # ~30 s on 2 shared CPU cores
ROOT = Path(__file__).resolve().parent.parent


class Judgement(pydantic.BaseModel):
    strengths: str = pydantic.Field(max_length=300)
    weaknesses: str = pydantic.Field(max_length=300)
    label: Literal[0, 1]


def judge_request(task: str) -> LLMRequest:
    return LLMRequest(
        stage="label",
        messages=[
            {"role": "system", "content": "You judge whether an employee fits a task. Answer in JSON."},
            {
                "role": "user",
                "content": f"Task: {task}\nEmployee: ten years of Python and SQL.\n"
                "Give strengths, weaknesses and a label: 1 fits, 0 does not.",
            },
        ],
        schema=Judgement,
        temperature=0.0,
        max_tokens=160,
    )


@pytest.fixture(scope="module")
def local_client(tmp_path_factory: pytest.TempPathFactory) -> LLMClient:
    cfg = OmegaConf.create(
        {
            "paths": {"cache_dir": str(tmp_path_factory.mktemp("llm-cache"))},
            "llm": OmegaConf.load(ROOT / "conf" / "llm" / "local.yaml"),
        }
    )
    cfg.llm.progress = False
    client = instantiate(cfg.llm)
    yield client
    client.close()
    assert not client.backend.running


def test_local_server_gives_a_schema_valid_structured_reply(local_client: LLMClient) -> None:
    backend = local_client.backend
    assert isinstance(backend, LocalServerBackend) and not backend.running  # started on first use
    replies = local_client.run(local_client.map([judge_request("build a SQL data pipeline")], desc="local"))
    reply = replies[0]
    assert backend.running and backend.base_url.startswith("http://127.0.0.1:")
    assert isinstance(reply.parsed, Judgement) and reply.parsed.label in (0, 1)
    assert Judgement.model_validate_json(reply.raw) == reply.parsed
    assert reply.prompt_tokens > 0 and reply.completion_tokens > 0 and not reply.cached
    assert local_client.usage.calls == 1 and local_client.usage.invalid == 0
    again = local_client.run(local_client.ask(judge_request("build a SQL data pipeline")))
    assert again.cached and again.raw == reply.raw


def test_llama_cpp_server_rejects_json_schema_and_the_backend_falls_back(local_client: LLMClient) -> None:
    backend = local_client.backend
    local_client.run(local_client.backend.ask(judge_request("warm up")))  # make sure it runs
    other = OpenAIBackend(
        backend.model,
        base_url=backend.base_url,
        api_key_env=None,
        name="openai_compatible",
        response_format="json_schema",
        strict=False,
        timeout_s=300,
    )

    async def ask() -> object:
        try:
            return await other.ask(judge_request("write unit tests"))
        finally:
            await other.aclose()

    reply = asyncio.run(ask())
    assert other.response_format == "json_object"  # llama_cpp.server answered json_schema with an error
    assert isinstance(reply.parsed, Judgement)


def test_a_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    backend = LocalServerBackend(model_path=str(tmp_path / "nope.gguf"))
    with pytest.raises(Exception, match="is not a file"):
        backend.start()
    assert not backend.running
