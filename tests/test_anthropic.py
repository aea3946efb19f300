"""Anthropic Messages, count_tokens and models through the official anthropic SDK."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import pytest

from mockllm.testing import LiveServer, run_config, run_server, test_context

MODEL = "claude-sonnet-5-5"
KEY = "sk-ant-test"

CONFIG = """
server: {api_keys: [sk-ant-test], max_body_bytes: 100000}
models:
  - {id: claude-opus-5-5, provider: anthropic, display_name: Claude Opus 5.5}
  - {id: claude-sonnet-5-5, provider: anthropic, display_name: Claude Sonnet 5.5}
  - {id: claude-haiku-5-5, provider: anthropic, display_name: Claude Haiku 5.5,
     max_output_tokens: 8192}
  - {id: gpt-4o, provider: openai}
rules:
  - name: tool-result
    match: {provider: anthropic, tool_result: true}
    respond: {text: "It is sunny and 18C in Paris."}
  - name: weather
    match: {provider: anthropic, last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris, unit: celsius}}]}
  - name: pirate
    match: {provider: anthropic, system: {contains: pirate}}
    respond: {text: "Arr, matey."}
  - name: stop
    match: {provider: anthropic, last_user: {contains: stopper}}
    respond: {text: "The sky is blue. END of the answer."}
  - name: think
    match: {provider: anthropic, last_user: {contains: ponder}}
    respond: {text: "Forty-two.", reasoning: "Let me think about the question first."}
  - name: overloaded-mid-stream
    match: {header: {x-mock-scenario: overloaded-mid-stream}}
    respond: {text: "one two three four five six", fault: {kind: error, status: 529, after: 2}}
  - name: overloaded
    match: {header: {x-mock-scenario: overloaded}}
    respond: {error: {status: 529}}
  - name: limited
    match: {header: {x-mock-scenario: limited}}
    respond: {error: {status: 429, retry_after: 1}}
  - name: broken
    match: {header: {x-mock-scenario: broken}}
    respond: {error: {status: 500}}
"""

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The current weather of a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=0) as c:
        yield c


def ask(text: str) -> list[anthropic.types.MessageParam]:
    return [{"role": "user", "content": text}]


# -- text ---------------------------------------------------------------------------------


def test_create_text_counts_every_token(client: anthropic.Anthropic) -> None:
    out = client.messages.create(model=MODEL, max_tokens=12, messages=ask("hello there"))
    assert out.type == "message" and out.role == "assistant" and out.model == MODEL
    assert out.id.startswith("msg_01")
    assert [b.type for b in out.content] == ["text"]
    assert out.stop_reason == "max_tokens" and out.stop_sequence is None
    assert out.usage.output_tokens == 12
    assert out.usage.cache_read_input_tokens == 0 and out.usage.service_tier == "standard"
    count = client.messages.count_tokens(model=MODEL, messages=ask("hello there"))
    assert count.input_tokens == out.usage.input_tokens > 0


def test_load_tester_extensions(client: anthropic.Anthropic) -> None:
    natural = client.messages.create(model=MODEL, max_tokens=1000, messages=ask("extend"))
    assert natural.usage.output_tokens < 1000 and natural.stop_reason == "end_turn"
    full = client.messages.create(model=MODEL, max_tokens=50, messages=ask("extend"),
                                  extra_body={"ignore_eos": True})
    assert full.usage.output_tokens == 50 and full.stop_reason == "max_tokens"
    # Natural answers are at most 400 tokens, so min_tokens sets this one's length.
    longer = client.messages.create(model=MODEL, max_tokens=1000, messages=ask("extend"),
                                    extra_body={"min_tokens": 600})
    assert longer.usage.output_tokens == 600 and longer.stop_reason == "end_turn"


def test_end_turn_and_system_as_string_or_blocks(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(
        model=MODEL, max_tokens=100, system="You are a pirate.", messages=ask("hi")
    )
    blocks = client.messages.create(
        model=MODEL, max_tokens=100, messages=ask("hi"),
        system=[{"type": "text", "text": "Talk like a"}, {"type": "text", "text": "pirate."}],
    )
    for out in (plain, blocks):
        assert out.content[0].type == "text" and out.content[0].text == "Arr, matey."
        assert out.stop_reason == "end_turn"


def test_stop_sequences(client: anthropic.Anthropic) -> None:
    out = client.messages.create(
        model=MODEL, max_tokens=100, messages=ask("stopper"), stop_sequences=["END"]
    )
    assert out.stop_reason == "stop_sequence" and out.stop_sequence == "END"
    assert out.content[0].type == "text" and out.content[0].text == "The sky is blue. "


def test_content_blocks_with_image(client: anthropic.Anthropic) -> None:
    image = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    out = client.messages.create(model=MODEL, max_tokens=5, messages=[{"role": "user", "content": [
        {"type": "image", "source": image}, {"type": "text", "text": "describe it"},
    ]}])
    assert out.usage.output_tokens == 5


# -- streams ------------------------------------------------------------------------------


def test_stream_helper_matches_create(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(model=MODEL, max_tokens=20, messages=ask("same prompt"))
    with client.messages.stream(model=MODEL, max_tokens=20, messages=ask("same prompt")) as s:
        pieces = list(s.text_stream)
        final = s.get_final_message()
    assert len(pieces) == 20 == final.usage.output_tokens
    assert final.content[0].type == "text" and plain.content[0].type == "text"
    assert "".join(pieces) == final.content[0].text == plain.content[0].text
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.stop_reason == "max_tokens"


def test_create_stream_event_order(client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model=MODEL, max_tokens=3, messages=ask("hi"), stream=True)
    types = [event.type for event in stream]
    assert types == [
        "message_start", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_delta", "content_block_stop", "message_delta", "message_stop",
    ]


NORMALISE = re.compile(rb"msg_01[0-9A-Za-z]{22}")


def test_stream_bytes_exact(http: httpx.Client, server: LiveServer) -> None:
    body = {"model": MODEL, "max_tokens": 100, "stream": True, "messages": ask("stopper"),
            "stop_sequences": ["blue"]}
    r = http.post(server.url + "/v1/messages", json=body,
                  headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert re.fullmatch(r"req_01[0-9A-Za-z]{22}", r.headers["request-id"])
    usage = (b'"usage":{"input_tokens":8,"cache_creation_input_tokens":0,'
             b'"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,'
             b'"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}')
    delta = b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
    expected = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_X",'
        b'"type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[],'
        b'"stop_reason":null,"stop_sequence":null,' + usage + b"}}\n\n"
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"text","text":""}}\n\n'
        b'event: ping\ndata: {"type":"ping"}\n\n'
        b"event: content_block_delta\n" + delta + b'"text":"The"}}\n\n'
        b"event: content_block_delta\n" + delta + b'"text":" sky"}}\n\n'
        b"event: content_block_delta\n" + delta + b'"text":" is"}}\n\n'
        b"event: content_block_delta\n" + delta + b'"text":" "}}\n\n'
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
        b'"stop_sequence","stop_sequence":"blue"},"usage":{"input_tokens":8,'
        b'"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":4}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    assert NORMALISE.sub(b"msg_X", r.content) == expected


# -- tools --------------------------------------------------------------------------------


def test_tool_use_round_trip(client: anthropic.Anthropic) -> None:
    history: list[anthropic.types.MessageParam] = ask("What is the weather in Paris?")
    first = client.messages.create(
        model=MODEL, max_tokens=200, messages=history, tools=[WEATHER_TOOL]
    )
    assert first.stop_reason == "tool_use"
    (use,) = first.content
    assert use.type == "tool_use" and use.name == "get_weather"
    assert re.fullmatch(r"toolu_01[0-9A-Za-z]{22}", use.id)
    assert use.input == {"city": "Paris", "unit": "celsius"}
    assert first.usage.output_tokens > 0
    history = [*history, {"role": "assistant", "content": first.content}, {"role": "user",
               "content": [{"type": "tool_result", "tool_use_id": use.id,
                            "content": [{"type": "text", "text": "18C, sunny"}]}]}]
    final = client.messages.create(
        model=MODEL, max_tokens=200, messages=history, tools=[WEATHER_TOOL]
    )
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text"
    assert final.content[0].text == "It is sunny and 18C in Paris."
    count = client.messages.count_tokens(model=MODEL, messages=history, tools=[WEATHER_TOOL])
    assert count.input_tokens == final.usage.input_tokens


def test_tool_use_streamed_as_input_json(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL, max_tokens=200, messages=ask("weather please"), tools=[WEATHER_TOOL]
    ) as s:
        deltas = [e.delta.partial_json for e in s
                  if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
        final = s.get_final_message()
    assert deltas[0] == "" and len(deltas) > 2
    (use,) = final.content
    assert use.type == "tool_use" and use.input == {"city": "Paris", "unit": "celsius"}
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == len(deltas) - 1


# -- thinking -----------------------------------------------------------------------------


def test_thinking_blocks_when_enabled(client: anthropic.Anthropic) -> None:
    off = client.messages.create(model=MODEL, max_tokens=2000, messages=ask("ponder this"))
    assert [b.type for b in off.content] == ["text"]
    on = client.messages.create(
        model=MODEL, max_tokens=2000, messages=ask("ponder this"),
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [b.type for b in on.content] == ["thinking", "text"]
    thinking = on.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == "Let me think about the question first."
    assert thinking.signature
    assert on.usage.output_tokens > off.usage.output_tokens
    with client.messages.stream(
        model=MODEL, max_tokens=2000, messages=ask("ponder this"),
        thinking={"type": "adaptive"},
    ) as s:
        kinds = {e.delta.type for e in s if e.type == "content_block_delta"}
        final = s.get_final_message()
    assert kinds == {"thinking_delta", "signature_delta", "text_delta"}
    assert final.content[0].type == "thinking"
    assert final.content[0].signature == thinking.signature
    assert final.usage.output_tokens == on.usage.output_tokens


# -- models -------------------------------------------------------------------------------


def test_models_list_in_anthropic_shape(
    http: httpx.Client, client: anthropic.Anthropic, server: LiveServer
) -> None:
    expected = [m.id for m in server.context.engine.models.models if m.provider == "anthropic"]
    assert [m.id for m in client.models.list()] == expected
    assert [m.id for m in client.models.list(limit=2)] == expected  # follows has_more
    page = client.models.list(limit=2)
    assert page.has_more and page.first_id == expected[0] and page.last_id == expected[1]
    back = http.get(server.url + "/v1/models", params={"before_id": expected[2], "limit": 1},
                    headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}).json()
    assert [m["id"] for m in back["data"]] == [expected[1]] and back["has_more"] is True
    assert back["first_id"] == back["last_id"] == expected[1]
    info = client.models.retrieve(MODEL)
    assert info.type == "model" and info.display_name == "Claude Sonnet 5.5"
    assert info.created_at.tzinfo is not None
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("gpt-4o")
    # Without anthropic-version the same path answers in OpenAI's shape.
    plain = http.get(server.url + "/v1/models", headers={"authorization": f"Bearer {KEY}"})
    plain = plain.json()
    assert plain["object"] == "list"


# -- errors -------------------------------------------------------------------------------


def test_missing_max_tokens_is_400_in_envelope(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.url + "/v1/messages", headers={"x-api-key": KEY},
                  json={"model": MODEL, "messages": ask("hi")})
    assert r.status_code == 400
    body = r.json()
    assert body["type"] == "error"
    assert body["error"] == {"type": "invalid_request_error",
                             "message": "max_tokens: Field required"}
    assert body["request_id"] == r.headers["request-id"]


@pytest.mark.parametrize("body", [
    b"{not json",
    b'{"model": "claude-sonnet-5-5", "max_tokens": "ten", "messages": []}',
    b'{"model": "claude-sonnet-5-5", "max_tokens": 10, "messages": []}',
    b'{"model": "claude-sonnet-5-5", "max_tokens": 10, "messages": [{"role": "robot", '
    b'"content": "hi"}]}',
    b'{"model": "claude-sonnet-5-5", "max_tokens": 10, "messages": [{"role": "user", '
    b'"content": [{"type": "nonsense"}]}]}',
    b'{"model": "claude-sonnet-5-5", "max_tokens": 10, "messages": [{"role": "user", '
    b'"content": 7}]}',
])
def test_bad_bodies_are_400(http: httpx.Client, server: LiveServer, body: bytes) -> None:
    r = http.post(server.url + "/v1/messages", content=body,
                  headers={"x-api-key": KEY, "content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_sdk_exceptions(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(model="claude-haiku-5-5", max_tokens=10000, messages=ask("hi"))
    assert bad.value.type == "invalid_request_error"
    assert bad.value.request_id is not None and bad.value.request_id.startswith("req_01")
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model=MODEL, max_tokens=1000, messages=ask("hi"),
                               thinking={"type": "enabled", "budget_tokens": 1024})
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="claude-nonexistent", max_tokens=5, messages=ask("hi"))
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                               extra_headers={"x-mock-scenario": "limited"})
    assert limited.value.type == "rate_limit_error"
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                               extra_headers={"x-mock-scenario": "overloaded"})
    assert overloaded.value.status_code == 529 and overloaded.value.type == "overloaded_error"
    with pytest.raises(anthropic.InternalServerError) as broken:
        client.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                               extra_headers={"x-mock-scenario": "broken"})
    assert broken.value.type == "api_error"


def test_errors_before_a_stream_and_body_limit(http: httpx.Client, client: anthropic.Anthropic,
                                               server: LiveServer) -> None:
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        with client.messages.stream(model=MODEL, max_tokens=5, messages=ask("hi"),
                                    extra_headers={"x-mock-scenario": "overloaded"}) as s:
            s.get_final_message()
    assert overloaded.value.status_code == 529
    r = http.post(server.url + "/v1/messages", headers={"x-api-key": KEY},
                  content=b'{"model": "x", "pad": "' + b"a" * 200_000 + b'"}')
    assert r.status_code == 413 and r.json()["error"]["type"] == "request_too_large"


def test_strict_mode_refuses_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("server: {strict: true}\nmodels: [{id: claude-sonnet-5-5, "
                    "provider: anthropic}]\n")
    with run_server(test_context(config_path=str(path))) as live, \
            anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as c:
        assert c.messages.create(model=MODEL, max_tokens=3, messages=ask("hi"))
        with pytest.raises(anthropic.BadRequestError) as err:
            c.messages.create(model=MODEL, max_tokens=3, messages=ask("hi"),
                              extra_body={"ignore_eos": True})
        assert err.value.api_message == "ignore_eos: Extra inputs are not permitted"
        with pytest.raises(anthropic.BadRequestError):
            c.messages.count_tokens(model=MODEL, messages=ask("hi"),
                                    extra_body={"max_tokens": 5})


def test_tool_result_with_text_is_still_a_tool_turn(client: anthropic.Anthropic) -> None:
    history: list[anthropic.types.MessageParam] = [
        *ask("weather?"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1",
                                           "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
            {"type": "text", "text": "(reminder: be brief)"}]},
    ]
    out = client.messages.create(model=MODEL, max_tokens=50, messages=history)
    assert out.content[0].type == "text"
    assert out.content[0].text == "It is sunny and 18C in Paris."


def test_overload_mid_stream_is_an_error_event(http: httpx.Client, client: anthropic.Anthropic,
                                               server: LiveServer) -> None:
    scenario = {"x-mock-scenario": "overloaded-mid-stream"}
    seen = []
    with pytest.raises(anthropic.APIStatusError) as err:
        with client.messages.stream(model=MODEL, max_tokens=50, messages=ask("hi"),
                                    extra_headers=scenario) as s:
            seen.extend(e.type for e in s)
    assert err.value.body == {"type": "error",
                              "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert err.value.type == "overloaded_error"
    assert seen[:2] == ["message_start", "content_block_start"] and "message_stop" not in seen
    r = http.post(server.url + "/v1/messages", headers={"x-api-key": KEY, **scenario},
                  json={"model": MODEL, "max_tokens": 50, "stream": True, "messages": ask("hi")})
    events = [line for line in r.text.split("\n") if line.startswith("event: ")]
    # ``after: 2`` counts token frames: two text deltas, then the error.
    assert events == ["event: message_start", "event: content_block_start", "event: ping",
                      "event: content_block_delta", "event: content_block_delta",
                      "event: error"]
    assert r.text.endswith('data: {"type":"error","error":{"type":"overloaded_error",'
                           '"message":"Overloaded"}}\n\n')
    # Without a stream the failure is the whole answer: 529 overloaded_error.
    with pytest.raises(anthropic.InternalServerError) as plain:
        client.messages.create(model=MODEL, max_tokens=50, messages=ask("hi"),
                               extra_headers=scenario)
    assert plain.value.status_code == 529 and plain.value.type == "overloaded_error"


def test_api_key_is_checked(http: httpx.Client, server: LiveServer) -> None:
    with anthropic.Anthropic(base_url=server.url, api_key="wrong", max_retries=0) as c:
        with pytest.raises(anthropic.AuthenticationError) as err:
            c.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"))
        assert err.value.type == "authentication_error"
        with pytest.raises(anthropic.AuthenticationError):
            c.messages.count_tokens(model=MODEL, messages=ask("hi"))
    r = http.post(server.url + "/v1/messages", json={})
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "x-api-key header is required"


# -- async --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client(server: LiveServer) -> None:
    async with anthropic.AsyncAnthropic(base_url=server.url, api_key=KEY, max_retries=0) as c:
        out = await c.messages.create(model=MODEL, max_tokens=8, messages=ask("async hello"))
        assert out.usage.output_tokens == 8 and out.stop_reason == "max_tokens"
        count = await c.messages.count_tokens(model=MODEL, messages=ask("async hello"))
        assert count.input_tokens == out.usage.input_tokens
        async with c.messages.stream(model=MODEL, max_tokens=8,
                                     messages=ask("async hello")) as s:
            text = "".join([piece async for piece in s.text_stream])
            final = await s.get_final_message()
        assert out.content[0].type == "text" and text == out.content[0].text
        assert final.usage.output_tokens == 8
        raw = await c.messages.create(model=MODEL, max_tokens=2, messages=ask("hi"),
                                      stream=True)
        assert [e.type async for e in raw][-1] == "message_stop"
        weather = await c.messages.create(model=MODEL, max_tokens=100, tools=[WEATHER_TOOL],
                                          messages=ask("weather?"))
        assert weather.stop_reason == "tool_use"
        assert [m.id async for m in c.models.list()][:1] == ["claude-opus-5-5"]
        with pytest.raises(anthropic.RateLimitError):
            await c.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                                    extra_headers={"x-mock-scenario": "limited"})
        with pytest.raises(anthropic.InternalServerError) as overloaded:
            await c.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                                    extra_headers={"x-mock-scenario": "overloaded"})
        assert overloaded.value.status_code == 529


def test_a_rule_error_by_status_alone_is_in_anthropics_words(client: anthropic.Anthropic) -> None:
    # The provider strategy's status_message, not the engine's OpenAI-worded default.
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                               extra_headers={"x-mock-scenario": "overloaded"})
    assert overloaded.value.body["error"] == {  # type: ignore[index]
        "type": "overloaded_error", "message": "Overloaded"}
    with pytest.raises(anthropic.InternalServerError) as broken:
        client.messages.create(model=MODEL, max_tokens=5, messages=ask("hi"),
                               extra_headers={"x-mock-scenario": "broken"})
    assert broken.value.body["error"] == {  # type: ignore[index]
        "type": "api_error", "message": "Internal server error"}
