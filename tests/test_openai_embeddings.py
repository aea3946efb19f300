"""openai.embeddings through the official SDK: inputs, dimensions, float and base64."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_config

CONFIG = """
models:
  - {id: text-embedding-3-small, provider: openai, tokenizer: cl100k_base, dimensions: 64}
"""

MODEL = "text-embedding-3-small"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def test_float_vectors_are_deterministic_unit_vectors(client: openai.OpenAI) -> None:
    out = client.embeddings.create(model=MODEL, input=["hello", "world", "hello"],
                                   encoding_format="float")
    assert out.object == "list"
    assert out.model == MODEL
    assert [d.index for d in out.data] == [0, 1, 2]
    assert all(d.object == "embedding" and len(d.embedding) == 64 for d in out.data)
    assert all(abs(norm(d.embedding) - 1) < 1e-5 for d in out.data)
    assert out.data[0].embedding == out.data[2].embedding
    assert out.data[0].embedding != out.data[1].embedding
    assert out.usage.prompt_tokens == out.usage.total_tokens >= 3


def test_base64_is_little_endian_float32(
    http: httpx.Client, client: openai.OpenAI, server: LiveServer
) -> None:
    floats = client.embeddings.create(model=MODEL, input="hello", encoding_format="float")
    raw = http.post(server.openai_url + "/embeddings",
                    json={"model": MODEL, "input": "hello", "encoding_format": "base64"}).json()
    blob = base64.b64decode(raw["data"][0]["embedding"])
    decoded = struct.unpack("<64f", blob)
    assert all(abs(a - b) < 1e-6 for a, b in zip(decoded, floats.data[0].embedding, strict=True))
    # The SDK asks for base64 by default and decodes it itself.
    sdk = client.embeddings.create(model=MODEL, input="hello")
    assert all(abs(a - b) < 1e-6
               for a, b in zip(sdk.data[0].embedding, floats.data[0].embedding, strict=True))


def test_dimensions(client: openai.OpenAI) -> None:
    out = client.embeddings.create(model=MODEL, input="hello", dimensions=16,
                                   encoding_format="float")
    assert len(out.data[0].embedding) == 16
    assert abs(norm(out.data[0].embedding) - 1) < 1e-5
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model=MODEL, input="hello", dimensions=65)


def test_token_arrays(client: openai.OpenAI, server: LiveServer) -> None:
    tok = server.context.tokenizers.get("cl100k_base")
    ids = tok.encode("hello there")
    by_text = client.embeddings.create(model=MODEL, input="hello there", encoding_format="float")
    one = client.embeddings.create(model=MODEL, input=ids, encoding_format="float")
    many = client.embeddings.create(model=MODEL, input=[ids, ids], encoding_format="float")
    assert one.data[0].embedding == by_text.data[0].embedding
    assert len(many.data) == 2 and many.data[1].embedding == by_text.data[0].embedding
    assert one.usage.prompt_tokens == len(ids)


@pytest.mark.parametrize("bad", ["", [], [""], ["a", 1]])
def test_bad_input_is_400(client: openai.OpenAI, bad: object) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model=MODEL, input=bad)  # type: ignore[arg-type]
    assert info.value.param == "input"  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_async(server: LiveServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.openai_url, api_key="t",
                                  max_retries=0) as client:
        out = await client.embeddings.create(model=MODEL, input=["a", "b"])
        assert len(out.data) == 2 and len(out.data[0].embedding) == 64
