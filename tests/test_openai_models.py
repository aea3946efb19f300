"""openai.models: the model registry as ``GET /v1/models`` and ``GET /v1/models/{id}``."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from mockllm.config import parse
from mockllm.testing import LiveServer, run_server, test_context


def test_list_holds_ids_and_aliases(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="t", max_retries=0) as client:
        page = client.models.list()
        ids = [m.id for m in page.data]
        registry = live.context.engine.models.models
        assert ids == [n for m in registry for n in (m.id, *m.aliases)]
        assert "gpt-4o-mini" in ids and "gpt-4o-mini-2024-07-18" in ids
        for m in page.data:
            assert m.object == "model"
            assert isinstance(m.created, int) and m.owned_by


def test_retrieve_by_id_and_alias(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="t", max_retries=0) as client:
        assert client.models.retrieve("gpt-4o").id == "gpt-4o"
        alias = client.models.retrieve("gpt-4o-mini")
        assert alias.id == "gpt-4o-mini" and alias.object == "model"
        # Ids with a slash (NIM's) are one path parameter.
        assert client.models.retrieve("meta/llama-3.1-8b-instruct").owned_by == "nvidia"
        with pytest.raises(openai.NotFoundError) as info:
            client.models.retrieve("gpt-0")
        assert info.value.code == "model_not_found"


@pytest.mark.anyio
async def test_async_list(live: LiveServer) -> None:
    async with openai.AsyncOpenAI(base_url=live.openai_url, api_key="t",
                                  max_retries=0) as client:
        ids = [m.id async for m in client.models.list()]
        assert "gpt-5.5" in ids


def test_listing_follows_a_reload(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("models:\n  - {id: first-model}\n")
    with run_server(test_context(config_path=str(path))) as live, openai.OpenAI(
        base_url=live.openai_url, api_key="t", max_retries=0
    ) as client:
        assert [m.id for m in client.models.list()] == ["first-model"]
        live.context.apply_config(parse("models:\n  - {id: second-model}\n", str(path)))
        assert [m.id for m in client.models.list()] == ["second-model"]
