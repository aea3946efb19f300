"""Ollama chat, generate, embed, tags, show and version through the official ollama client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import ollama
import pytest

from mockllm.testing import LiveServer, run_config, test_context

MODEL = "llama3.2"

CONFIG = """
models:
  - {id: "llama3.2:latest", provider: ollama, aliases: [llama3.2], context_window: 4096}
  - {id: "qwen3:8b", provider: ollama, aliases: [qwen3]}
  - {id: "nomic-embed-text:latest", provider: ollama, aliases: [nomic-embed-text],
     context_window: 64, dimensions: 8}
  - {id: gpt-4o, provider: openai}
rules:
  - name: weather
    match: {provider: ollama, last_user: {contains: weather}, tool_result: false}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
  - name: after-tool
    match: {provider: ollama, tool_result: true}
    respond: {text: "Sunny in Paris."}
  - name: sky
    match: {provider: ollama, last_user: {contains: sky}}
    respond: {text: "The sky is blue."}
  - name: think
    match: {provider: ollama, last_user: {contains: ponder}}
    respond: {text: "42.", reasoning: "Thinking hard."}
  - name: fails-mid-stream
    match: {header: {x-mock-scenario: fail}}
    respond: {text: "one two three four", fault: {kind: error, after: 2, message: "boom"}}
  - name: limited
    match: {header: {x-mock-scenario: limited}}
    respond: {error: {status: 429, message: "too many requests"}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[ollama.Client]:
    c = ollama.Client(host=server.url)
    yield c
    c.close()


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_chat_stream_by_default(client: ollama.Client) -> None:
    parts = list(client.chat(model=MODEL, messages=ask("the sky?"), stream=True))
    assert "".join(p.message.content or "" for p in parts) == "The sky is blue."
    assert all(p.done is False for p in parts[:-1])
    last = parts[-1]
    assert last.done and last.done_reason == "stop" and last.model == MODEL
    assert last.eval_count == len(parts) - 1
    assert last.prompt_eval_count and last.prompt_eval_count > 0
    for field in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert getattr(last, field) > 0
    assert last.total_duration >= last.load_duration + last.eval_duration


def test_chat_single_object(client: ollama.Client) -> None:
    out = client.chat(model=MODEL, messages=ask("the sky?"), stream=False)
    assert out.message.role == "assistant" and out.message.content == "The sky is blue."
    assert out.done and out.done_reason == "stop" and out.eval_count == 5


def test_num_predict_stop_and_seed(client: ollama.Client) -> None:
    out = client.chat(model=MODEL, messages=ask("hi"), options={"num_predict": 4, "seed": 7})
    assert out.done_reason == "length" and out.eval_count == 4
    again = client.chat(model=MODEL, messages=ask("hi"), options={"num_predict": 4, "seed": 7})
    assert again.message.content == out.message.content
    stopped = client.chat(model=MODEL, messages=ask("sky"), options={"stop": [" blue"]})
    assert stopped.message.content == "The sky is" and stopped.done_reason == "stop"


def test_tool_calls_round_trip(client: ollama.Client) -> None:
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    first = client.chat(model=MODEL, messages=ask("weather in Paris?"), tools=tools)
    (call,) = first.message.tool_calls or []
    assert call.function.name == "get_weather" and call.function.arguments == {"city": "Paris"}
    streamed = [p for p in client.chat(model=MODEL, messages=ask("weather?"), tools=tools,
                                       stream=True) if p.message.tool_calls]
    assert len(streamed) == 1
    history = [*ask("weather in Paris?"), first.message,
               {"role": "tool", "content": "18C", "tool_name": "get_weather"}]
    final = client.chat(model=MODEL, messages=history, tools=tools)
    assert final.message.content == "Sunny in Paris."


def test_thinking(client: ollama.Client) -> None:
    plain = client.chat(model="qwen3", messages=ask("ponder"))
    assert plain.message.thinking is None
    out = client.chat(model="qwen3", messages=ask("ponder"), think=True)
    assert out.message.thinking == "Thinking hard." and out.message.content == "42."
    parts = list(client.chat(model="qwen3", messages=ask("ponder"), think=True, stream=True))
    assert "".join(p.message.thinking or "" for p in parts) == "Thinking hard."


def test_generate(client: ollama.Client) -> None:
    parts = list(client.generate(model=MODEL, prompt="the sky", stream=True))
    assert "".join(p.response or "" for p in parts) == "The sky is blue."
    assert parts[-1].done and parts[-1].done_reason == "stop"
    whole = client.generate(model=MODEL, prompt="the sky", system="be brief")
    assert whole.response == "The sky is blue." and whole.eval_count == 5
    loaded = client.generate(model=MODEL, prompt="")
    assert loaded.done and loaded.done_reason == "load"


def test_embed(client: ollama.Client) -> None:
    out = client.embed(model="nomic-embed-text", input=["hello world", "hello world", "bye"])
    assert len(out.embeddings) == 3 and all(len(v) == 8 for v in out.embeddings)
    assert out.embeddings[0] == out.embeddings[1] != out.embeddings[2]
    assert out.prompt_eval_count and out.prompt_eval_count > 0
    long = "word " * 200  # past the 64-token context of this model
    assert len(client.embed(model="nomic-embed-text", input=long).embeddings) == 1
    with pytest.raises(ollama.ResponseError) as err:
        client.embed(model="nomic-embed-text", input=long, truncate=False)
    assert err.value.status_code == 400


def test_legacy_embeddings(client: ollama.Client) -> None:
    new = client.embed(model="nomic-embed-text", input="hello world")
    old = client.embeddings(model="nomic-embed-text", prompt="hello world")
    assert list(old.embedding) == list(new.embeddings[0])


def test_tags_show_version(http: httpx.Client, client: ollama.Client, server: LiveServer) -> None:
    names = [m.model for m in client.list().models]
    assert names == ["llama3.2:latest", "qwen3:8b", "nomic-embed-text:latest"]
    show = client.show("qwen3:8b")
    assert show.details and show.details.parameter_size == "8B"
    assert show.capabilities == ["completion", "tools"]
    assert show.modelinfo is not None and show.modelinfo["qwen.context_length"] == 128000
    assert client.show("nomic-embed-text").capabilities == ["embedding"]
    assert http.get(server.url + "/api/version").json() == {"version": "0.13.0"}


def test_errors(http: httpx.Client, client: ollama.Client, server: LiveServer) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="nope", messages=ask("hi"))
    assert missing.value.status_code == 404
    assert missing.value.error == 'model "nope" not found, try pulling it first'
    limited = http.post(server.url + "/api/chat", headers={"x-mock-scenario": "limited"},
                        json={"model": MODEL, "messages": ask("hi")})
    assert limited.status_code == 429 and limited.json() == {"error": "too many requests"}
    for body in (b"{oops", b'{"model": 5}', b'{"messages": []}'):
        r = http.post(server.url + "/api/chat", content=body)
        assert r.status_code == 400 and set(r.json()) == {"error"}


def test_error_mid_stream(server: LiveServer) -> None:
    with ollama.Client(host=server.url, headers={"x-mock-scenario": "fail"}) as failing:
        parts = []
        with pytest.raises(ollama.ResponseError) as err:
            for part in failing.chat(model=MODEL, messages=ask("hi"), stream=True):
                parts.append(part)
        assert err.value.error == "boom" and len(parts) == 2
        with pytest.raises(ollama.ResponseError) as plain:
            failing.chat(model=MODEL, messages=ask("hi"))
        assert plain.value.status_code == 500 and plain.value.error == "boom"


CLOCK = re.compile(rb'"created_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"')
DURATION = re.compile(rb'"(total_duration|load_duration|prompt_eval_duration|eval_duration)"'
                      rb':[1-9]\d*')


def normalise(body: bytes) -> bytes:
    return DURATION.sub(rb'"\1":N', CLOCK.sub(b'"created_at":"T"', body))


def test_chat_ndjson_bytes_exact(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.url + "/api/chat", json={"model": MODEL, "messages": ask("sky")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    line = b'{"model":"llama3.2","created_at":"T","message":{"role":"assistant","content":'
    expected = b"".join(line + json.dumps(p).encode() + b'},"done":false}\n'
                        for p in ["The", " sky", " is", " blue", "."])
    expected += (line + b'""},"done_reason":"stop","done":true,"total_duration":N,'
                 b'"load_duration":N,"prompt_eval_count":1,"prompt_eval_duration":N,'
                 b'"eval_count":5,"eval_duration":N}\n')
    assert normalise(r.content) == expected


def test_generate_ndjson_bytes_exact(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.url + "/api/generate",
                  json={"model": MODEL, "prompt": "sky", "options": {"num_predict": 2}})
    head = b'{"model":"llama3.2","created_at":"T","response":'
    assert normalise(r.content) == (
        head + b'"The","done":false}\n' + head + b'" sky","done":false}\n'
        + head + b'"","done":true,"done_reason":"length","total_duration":N,'
        b'"load_duration":N,"prompt_eval_count":1,"prompt_eval_duration":N,"eval_count":2,'
        b'"eval_duration":N}\n'
    )


def test_each_provider_is_its_own_plugin() -> None:
    context = test_context(disable=["builtin.ollama"])
    keys = context.endpoints.keys()
    assert not [k for k in keys if k.startswith("ollama.")]
    assert {"anthropic.messages", "nim.rankings", "openai.chat"} <= set(keys)
    assert "ollama.chat" in test_context(disable=["builtin.anthropic"]).endpoints.keys()
