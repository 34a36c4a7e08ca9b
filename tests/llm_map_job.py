"""A tiny job for the SIGKILL test: map N requests against a base URL, write the replies' ids.

python tests/llm_map_job.py BASE_URL CACHE_DIR N OUT_JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_synth.backend import LLMRequest, OpenAIBackend  # noqa: E402
from data_synth.client import LLMClient  # noqa: E402


class Item(pydantic.BaseModel):
    prompt_id: str
    value: int


def build_requests(n: int) -> list[LLMRequest]:
    return [
        LLMRequest("label", [{"role": "user", "content": f"item-{i}"}], Item, temperature=0.0)
        for i in range(n)
    ]


def build_client(base_url: str, cache_dir: str | Path, **overrides: object) -> LLMClient:
    backend = OpenAIBackend(
        "fake-model", base_url=base_url, api_key_env="OPENAI_API_KEY", name="openai_compatible", timeout_s=5.0
    )
    settings: dict[str, object] = {
        "concurrency": 3,
        "max_retries": 6,
        "progress": False,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "prices": {"fake-model": {"input_per_1m": 10.0, "output_per_1m": 20.0}},
    }
    settings.update(overrides)
    return LLMClient(backend, cache_dir, **settings)  # type: ignore[arg-type]


def main(argv: list[str]) -> None:
    base_url, cache_dir, n, out = argv[0], argv[1], int(argv[2]), Path(argv[3])
    client = build_client(base_url, cache_dir)
    replies = client.run(client.map(build_requests(n), desc="kill test"))
    client.close()
    ids = [None if r is None else r.parsed.prompt_id for r in replies]
    out.write_text(json.dumps({"ids": ids, "usage": client.usage.as_dict()}))


if __name__ == "__main__":
    main(sys.argv[1:])
