"""openai.chat through the official SDK (sync and async) and byte for byte on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import msgspec
import openai
import pytest

from mockllm.stream_response import FAST_WRITE_BYTES
from mockllm.testing import LiveServer, run_config
from plugins_builtin.openai import wire
from plugins_builtin.openai.chat_schema import ChunkChoice, Delta
from plugins_builtin.openai.chat_stream import ChunkWriter

CONFIG = """
models:
  - {id: gpt-4o-mini-2024-07-18, provider: openai, aliases: [gpt-4o-mini],
     tokenizer: cl100k_base, max_output_tokens: 16384}
rules:
  - name: after-tool
    match: {tool_result: true}
    respond: {text: "It is sunny in Paris."}
  - name: weather
    match: {last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
  - name: two-tools
    match: {last_user: {contains: travel}}
    respond:
      tool_calls:
        - {name: get_weather, arguments: {city: Paris}}
        - {name: get_time, arguments: {tz: CET}}
  - name: sky
    match: {last_user: {contains: sky}}
    respond: {text: "The sky is blue."}
"""

MODEL = "gpt-4o-mini"
SKY = ["The", " sky", " is", " blue", "."]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# -- non-streaming ----------------------------------------------------------------------


def test_create_answers_what_the_rule_says(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("why is the sky blue?"))
    assert out.object == "chat.completion"
    assert out.id.startswith("chatcmpl-")
    assert out._request_id is not None and out._request_id.startswith("req_")
    assert out.model == "gpt-4o-mini-2024-07-18"
    choice = out.choices[0]
    assert choice.message.content == "The sky is blue."
    assert choice.message.role == "assistant"
    assert choice.message.refusal is None
    assert choice.finish_reason == "stop"
    assert choice.logprobs is None
    assert out.usage is not None
    assert out.usage.completion_tokens == len(SKY)
    assert out.usage.total_tokens == out.usage.prompt_tokens + out.usage.completion_tokens
    assert out.usage.prompt_tokens_details is not None
    assert out.usage.prompt_tokens_details.cached_tokens == 0


def test_raw_body_has_every_required_field(http: httpx.Client, server: LiveServer) -> None:
    body = http.post(server.openai_url + "/chat/completions",
                     json={"model": MODEL, "messages": ask("sky")}).json()
    message = body["choices"][0]["message"]
    assert message == {"role": "assistant", "content": "The sky is blue.", "refusal": None,
                       "annotations": []}
    assert set(body) >= {"id", "object", "created", "model", "choices", "usage",
                         "system_fingerprint", "service_tier"}
    assert isinstance(body["created"], int)
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


def test_prompt_tokens_count_the_real_tokenizer(client: openai.OpenAI,
                                                server: LiveServer) -> None:
    enc = server.context.tokenizers.get("cl100k_base")
    text = "the sky over the mountains tonight"
    out = client.chat.completions.create(model=MODEL, messages=ask(text))
    assert out.usage is not None
    # OpenAI's chat template: 3 per message, its role ("user", 1 token), 3 priming the reply.
    assert out.usage.prompt_tokens == 3 + 1 + len(enc.encode(text)) + 3
    longer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Be brief."}, *ask(text)])
    assert longer.usage is not None
    assert longer.usage.prompt_tokens > out.usage.prompt_tokens


def test_max_tokens_cuts_with_length(client: openai.OpenAI) -> None:
    for limit in ({"max_tokens": 3}, {"max_completion_tokens": 3}):
        out = client.chat.completions.create(model=MODEL, messages=ask("sky"), **limit)  # type: ignore[call-overload]
        assert out.choices[0].finish_reason == "length"
        assert out.choices[0].message.content == "".join(SKY[:3])
        assert out.usage is not None and out.usage.completion_tokens == 3


def test_stop_cuts_before_the_stop_string(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("sky"), stop=[" blue"])
    assert out.choices[0].message.content == "The sky is"
    assert out.choices[0].finish_reason == "stop"
    assert out.usage is not None and out.usage.completion_tokens == 3


def test_n_gives_indexed_choices(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("hello"), n=3,
                                         max_tokens=4)
    assert [c.index for c in out.choices] == [0, 1, 2]
    assert out.usage is not None and out.usage.completion_tokens == 12


def test_seed_repeats_generated_text(client: openai.OpenAI) -> None:
    def once(seed: int) -> str | None:
        return client.chat.completions.create(model=MODEL, messages=ask("hello"), seed=seed,
                                              max_tokens=10).choices[0].message.content

    assert once(7) == once(7)
    assert once(7) != once(8)


def test_ignore_eos_and_min_tokens_set_the_length(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("hello"), max_tokens=100,
                                         extra_body={"ignore_eos": True})
    assert out.usage is not None and out.usage.completion_tokens == 100
    assert out.choices[0].finish_reason == "length"
    out = client.chat.completions.create(model=MODEL, messages=ask("hello"),
                                         extra_body={"min_tokens": 50})
    assert out.usage is not None and out.usage.completion_tokens >= 50


def test_logprobs_shape(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("sky"), logprobs=True,
                                         top_logprobs=3)
    lp = out.choices[0].logprobs
    assert lp is not None and lp.content is not None
    assert [t.token for t in lp.content] == SKY
    for t in lp.content:
        assert t.logprob <= 0
        assert t.bytes == list(t.token.encode())
        assert len(t.top_logprobs) == 3
        assert t.top_logprobs[0].token == t.token
        assert [x.logprob for x in t.top_logprobs] == sorted(
            (x.logprob for x in t.top_logprobs), reverse=True)
    again = client.chat.completions.create(model=MODEL, messages=ask("sky"), logprobs=True,
                                           top_logprobs=3)
    assert again.choices[0].logprobs == lp


def test_every_message_form_is_accepted(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=[
        {"role": "developer", "content": "You are terse."},
        {"role": "system", "content": [{"type": "text", "text": "Answer plainly."}]},
        {"role": "user", "content": [
            {"type": "text", "text": "what colour is the sky"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "look", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "looked"},
        {"role": "assistant", "content": "Looked."},
        {"role": "user", "content": [{"type": "text", "text": "so, the sky?"}]},
    ])
    assert out.choices[0].message.content == "The sky is blue."


# -- tools ------------------------------------------------------------------------------


def test_tool_call_round_trip(client: openai.OpenAI) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    first = client.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                           tools=[WEATHER_TOOL])  # type: ignore[list-item]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris"}  # type: ignore[union-attr]
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'})
    second = client.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                            tools=[WEATHER_TOOL])  # type: ignore[list-item]
    assert second.choices[0].message.content == "It is sunny in Paris."
    assert second.choices[0].finish_reason == "stop"
    assert second.usage is not None and first.usage is not None
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_tool_definitions_count_as_prompt(client: openai.OpenAI) -> None:
    bare = client.chat.completions.create(model=MODEL, messages=ask("sky"))
    tooled = client.chat.completions.create(model=MODEL, messages=ask("sky"),
                                            tools=[WEATHER_TOOL])  # type: ignore[list-item]
    assert bare.usage is not None and tooled.usage is not None
    assert tooled.usage.prompt_tokens > bare.usage.prompt_tokens


def test_streamed_tool_calls_join_into_json(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("travel plans"),
                                            stream=True,
                                            stream_options={"include_usage": True})
    first_delta: dict[int, object] = {}
    args: dict[int, str] = {}
    pieces = 0
    usage = None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for ch in chunk.choices:
            for tc in ch.delta.tool_calls or []:
                if tc.index not in first_delta:
                    assert tc.id and tc.type == "function" and tc.function is not None
                    first_delta[tc.index] = tc.function.name
                    assert tc.function.arguments == ""
                else:
                    assert tc.id is None and tc.function is not None
                    args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "")
                    pieces += 1
    assert first_delta == {0: "get_weather", 1: "get_time"}
    assert json.loads(args[0]) == {"city": "Paris"}
    assert json.loads(args[1]) == {"tz": "CET"}
    assert usage is not None and usage.completion_tokens == pieces


def test_stream_helper_final_completion_with_tools(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model=MODEL, messages=ask("weather?"),  # type: ignore[arg-type]
                                        tools=[WEATHER_TOOL]) as stream:  # type: ignore[list-item]
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert final.choices[0].finish_reason == "tool_calls"


# -- streaming ------------------------------------------------------------------------


def test_stream_chunks_and_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=ask("sky"), stream=True, stream_options={"include_usage": True}))
    assert {c.id for c in chunks} == {chunks[0].id}
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = [c.choices[0].delta.content for c in chunks[1:-2]]
    assert content == SKY
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(SKY)
    assert all(c.usage is None for c in chunks[:-1])
    plain = client.chat.completions.create(model=MODEL, messages=ask("sky"))
    assert plain.usage == chunks[-1].usage


def test_long_unpaced_stream_spans_several_writes(client: openai.OpenAI,
                                                  server: LiveServer) -> None:
    # An unpaced stream is written in batches of about FAST_WRITE_BYTES; this one is several
    # times that, so every batch boundary must still fall between whole frames.
    n = 1500
    extra = {"ignore_eos": True}
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=ask("hello"), max_completion_tokens=n, stream=True,
        stream_options={"include_usage": True}, extra_body=extra))
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == n
    assert chunks[-2].choices[0].finish_reason == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == n
    raw = httpx.post(f"{server.url}/v1/chat/completions", json={
        "model": MODEL, "messages": ask("hello"), "max_completion_tokens": n, "stream": True,
        "ignore_eos": True})
    assert len(raw.content) > 3 * FAST_WRITE_BYTES
    events = raw.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    assert sum(1 for e in events[:-2] if json.loads(e.removeprefix("data: "))["choices"][0]
               ["delta"].get("content")) == n


def test_stream_helper_final_completion(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model=MODEL, messages=ask("sky")) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta" and e.delta]
        final = stream.get_final_completion()
    assert deltas == SKY
    assert final.choices[0].message.content == "The sky is blue."


def test_stream_with_n_and_max_tokens(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("hello"), n=2,
                                            max_completion_tokens=4, stream=True,
                                            stream_options={"include_usage": True})
    text: dict[int, list[str]] = {0: [], 1: []}
    finish: dict[int, str] = {}
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        for ch in chunk.choices:
            if ch.delta.content:
                text[ch.index].append(ch.delta.content)
            if ch.finish_reason:
                finish[ch.index] = ch.finish_reason
    assert [len(text[0]), len(text[1])] == [4, 4]
    assert finish == {0: "length", 1: "length"}
    assert usage is not None and usage.completion_tokens == 8


def test_stream_logprobs(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model=MODEL, messages=ask("sky"), stream=True,
                                            logprobs=True, top_logprobs=2)
    tokens = [lp.token for c in stream for ch in c.choices if ch.logprobs and ch.logprobs.content
              for lp in ch.logprobs.content]
    assert tokens == SKY


def _pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire, "new_id", lambda prefix: prefix + "test")
    monkeypatch.setattr(wire, "now", lambda: 1700000000)


def test_stream_bytes_exact(
    http: httpx.Client, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pin(monkeypatch)
    raw = http.post(server.openai_url + "/chat/completions", json={
        "model": MODEL, "messages": ask("sky"), "stream": True,
        "stream_options": {"include_usage": True}})
    assert raw.headers["content-type"].startswith("text/event-stream")
    head = ('{"id":"chatcmpl-test","object":"chat.completion.chunk","created":1700000000,'
            '"model":"gpt-4o-mini-2024-07-18","service_tier":"default",'
            '"system_fingerprint":"fp_mockllm","choices":[')
    tail = '],"usage":null}'

    def event(choice: str, end: str = tail) -> str:
        return "data: " + head + choice + end + "\n\n"

    expected = event('{"index":0,"delta":{"role":"assistant","content":"","refusal":null},'
                     '"logprobs":null,"finish_reason":null}')
    for piece in SKY:
        expected += event('{"index":0,"delta":{"content":' + json.dumps(piece) + '},'
                          '"logprobs":null,"finish_reason":null}')
    expected += event('{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}')
    expected += event("", '],"usage":{"prompt_tokens":8,"completion_tokens":5,'
                          '"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0,'
                          '"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,'
                          '"audio_tokens":0,"accepted_prediction_tokens":0,'
                          '"rejected_prediction_tokens":0}}}')
    expected += "data: [DONE]\n\n"
    assert raw.text == expected


def test_spliced_chunks_equal_struct_encoding() -> None:
    for usage in (True, False):
        for model, tier in (('odd "model"', "default"), ("m\u00e9\n", "flex")):
            w = ChunkWriter('chatcmpl-"x"', 1700000000, model, usage, tier)
            for piece in ("plain", 'quote " and \\ and \n', "é✓"):
                assert w.content(2, piece) == w.encode(ChunkChoice(2, Delta(content=piece)))
                assert w.content(0, piece, b"[1]") == w.encode(
                    ChunkChoice(0, Delta(content=piece), msgspec.Raw(b"[1]")))
            for text_first in (True, False):
                role = Delta("assistant", "" if text_first else None, None)
                assert w.role(1, text_first) == w.encode(ChunkChoice(1, role))
            assert w.finish(3, "stop_sequence") == w.encode(
                ChunkChoice(3, Delta(), None, "stop"))


# -- response_format ------------------------------------------------------------------


def test_json_object_needs_json_in_messages(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model=MODEL, messages=ask("hello"),
                                       response_format={"type": "json_object"})
    assert "json" in info.value.message


def test_json_object_content_parses(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=MODEL, messages=ask("reply in JSON please"),
                                         response_format={"type": "json_object"})
    assert isinstance(json.loads(out.choices[0].message.content or ""), dict)


def test_parse_with_a_pydantic_model(client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str
        temperature: float
        sunny: bool

    out = client.chat.completions.parse(model=MODEL, messages=ask("a report as data"),
                                        response_format=Weather)
    parsed = out.choices[0].message.parsed
    assert isinstance(parsed, Weather)
    assert json.loads(out.choices[0].message.content or "") == parsed.model_dump()
    beta = client.beta.chat.completions.parse(model=MODEL, messages=ask("a report as data"),
                                              response_format=Weather)
    assert beta.choices[0].message.parsed == parsed


# -- async --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_create_stream_and_helper(server: LiveServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.openai_url, api_key="test",
                                  max_retries=0) as client:
        out = await client.chat.completions.create(model=MODEL, messages=ask("sky"))  # type: ignore[arg-type]
        assert out.choices[0].message.content == "The sky is blue."
        stream = await client.chat.completions.create(model=MODEL, messages=ask("sky"),  # type: ignore[arg-type]
                                                      stream=True)
        pieces = [c.choices[0].delta.content async for c in stream
                  if c.choices and c.choices[0].delta.content]
        assert pieces == SKY
        async with client.chat.completions.stream(model=MODEL, messages=ask("weather"),  # type: ignore[arg-type]
                                                  tools=[WEATHER_TOOL]) as s:  # type: ignore[list-item]
            final = await s.get_final_completion()
        assert final.choices[0].message.tool_calls is not None
