"""A large embeddings answer is encoded and sent in slices (mockllm.json_pieces), as a chunked
body with the same bytes the whole encode gives; through the openai SDK and raw HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from mockllm import json_pieces
from mockllm.json_pieces import JsonPieces
from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.openai import embeddings

MODEL = "text-embedding-3-large"
#: 48 inputs of 1,024 numbers: past OFF_LOOP_VALUES (20,000), so sliced.
INPUTS = [f"document {i}: the quick brown fox jumps over the lazy dog" for i in range(48)]


@pytest.fixture(scope="module", params=["uvicorn", "mockllm"])
def live(request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    """On both HTTP servers ``serve`` can run on: each frames the chunked body itself."""
    with run_server(test_context(), http=request.param) as server:
        yield server


def _post(http: httpx.Client, live: LiveServer, **extra: object) -> httpx.Response:
    body = {"model": MODEL, "input": INPUTS, "dimensions": 1024, **extra}
    r = http.post(live.openai_url + "/embeddings", json=body)
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("encoding", ["float", "base64"])
def test_a_sliced_answer_has_the_bytes_of_the_whole_one(
    http: httpx.Client, live: LiveServer, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    assert len(INPUTS) * 1024 > embeddings.OFF_LOOP_VALUES
    sliced = _post(http, live, encoding_format=encoding)
    assert "content-length" not in sliced.headers
    assert sliced.headers["transfer-encoding"] == "chunked"
    monkeypatch.setattr(embeddings, "OFF_LOOP_VALUES", 10**9)
    whole = _post(http, live, encoding_format=encoding)
    assert whole.headers["content-length"] == str(len(whole.content))
    assert sliced.content == whole.content
    data = json.loads(sliced.content)
    assert [d["index"] for d in data["data"]] == list(range(len(INPUTS)))
    assert data["model"] == MODEL and data["usage"]["prompt_tokens"] > 0


def test_the_sdk_reads_a_sliced_answer(live: LiveServer) -> None:
    with openai.OpenAI(base_url=live.openai_url, api_key="x", max_retries=0) as client:
        many = client.embeddings.create(model=MODEL, input=INPUTS, dimensions=1024)
        one = client.embeddings.create(model=MODEL, input=INPUTS[47], dimensions=1024)
        floats = client.embeddings.create(model=MODEL, input=INPUTS, dimensions=1024,
                                          encoding_format="float")
    assert len(many.data) == 48 and len(many.data[47].embedding) == 1024
    assert many.data[47].embedding == one.data[0].embedding
    assert [d.embedding for d in many.data] == [d.embedding for d in floats.data]


def test_a_fault_rule_cuts_a_sliced_answer_like_a_whole_one(
    http: httpx.Client, live: LiveServer
) -> None:
    whole = _post(http, live).content
    rule = b"match: {model: text-embedding-3-large}\nrespond: {fault: {kind: truncate}}\n"
    r = http.post(live.url + "/_mockllm/rules", content=rule,
                  headers={"content-type": "application/yaml"})
    assert r.status_code == 200, r.text
    try:
        cut = _post(http, live).content
    finally:
        http.delete(live.url + "/_mockllm/rules")
    assert cut == whole[: len(whole) // 2]


def _sent(response: JsonPieces[Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    asyncio.run(response({"type": "http"}, receive, send))  # type: ignore[arg-type]
    return messages


@pytest.mark.parametrize("count", [0, 1, 7, 100])
def test_pieces_join_to_the_body_in_slices(
    monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    monkeypatch.setattr(json_pieces, "SLICE_BYTES", 50)
    items = [{"i": i, "v": "x" * (i % 13)} for i in range(count)]
    response = JsonPieces(b'{"a":[', items, lambda d: json.dumps(d).encode(), b"]}")
    messages = _sent(response)
    assert messages[0]["type"] == "http.response.start"
    bodies = messages[1:]
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]
    joined = b"".join(m["body"] for m in bodies)
    assert joined == response.body
    assert json.loads(joined) == {"a": items}
    if count == 100:
        assert len(bodies) > 10 and all(len(m["body"]) < 200 for m in bodies)
