"""The engine as the official openai SDK experiences it: errors, retries, faults, tools."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import openai
import pydantic
import pytest

from mockllm.testing import LiveServer

Serve = Callable[[str], AbstractContextManager[LiveServer]]
USER = [{"role": "user", "content": "hi"}]


_open: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def client(live: LiveServer, **kw: object) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    c = openai.OpenAI(base_url=live.openai_url, api_key="x", **kw)  # type: ignore[arg-type]
    _open.append(c)
    return c


def statuses(live: LiveServer) -> list[int]:
    return [e.status for e in live.context.journal.query()]


def test_unknown_model_raises_not_found(serve: Serve) -> None:
    with serve("rules: []") as live, pytest.raises(openai.NotFoundError) as info:
        client(live).chat.completions.create(model="gpt-nope", messages=USER)
    assert info.value.code == "model_not_found"


def test_context_window_raises_bad_request(serve: Serve) -> None:
    with serve("rules: []") as live, pytest.raises(openai.BadRequestError) as info:
        client(live).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "word " * 500}])
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length is 400 tokens" in info.value.message


def test_rate_limit_raises_with_headers(serve: Serve) -> None:
    yaml = "rules: [{respond: {error: {status: 429, retry_after: 2}}}]"
    with serve(yaml) as live, pytest.raises(openai.RateLimitError) as info:
        client(live).chat.completions.create(model="gpt-4o", messages=USER)
    headers = info.value.response.headers
    assert headers["retry-after"] == "2" and headers["retry-after-ms"] == "2000"
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert info.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]


def test_sdk_retries_a_429_and_gets_the_second_answer(serve: Serve) -> None:
    yaml = """
    rules:
      - respond:
          sequence:
            - error: {status: 429, retry_after: 0.01}
            - text: recovered
    """
    with serve(yaml) as live:
        out = client(live, max_retries=2).chat.completions.create(model="gpt-4o", messages=USER)
        assert out.choices[0].message.content == "recovered"
        assert statuses(live) == [429, 200]


def test_sdk_retries_a_dropped_connection(serve: Serve) -> None:
    yaml = """
    rules:
      - respond:
          sequence:
            - {text: lost, fault: {kind: disconnect}}
            - {text: second try}
    """
    with serve(yaml) as live:
        out = client(live, max_retries=1).chat.completions.create(model="gpt-4o",
                                                                  messages=USER)
        assert out.choices[0].message.content == "second try"


def test_non_streamed_malformed_body_fails_to_parse(serve: Serve) -> None:
    yaml = "rules: [{respond: {text: hello there, fault: {kind: malformed}}}]"
    with serve(yaml) as live:
        with httpx.Client(timeout=60) as http:
            raw = http.post(live.openai_url + "/chat/completions",
                            json={"model": "gpt-4o", "messages": USER})
        assert raw.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            raw.json()


def stream_words(live: LiveServer, **kw: object) -> list[str]:
    with client(live, **kw) as c, c.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True
    ) as stream:
        return [c.choices[0].delta.content or "" for c in stream if c.choices]


def test_stream_disconnect_raises_in_the_sdk(serve: Serve) -> None:
    yaml = "rules: [{respond: {generate: {tokens: 10}, fault: {kind: disconnect, after: 3}}}]"
    with serve(yaml) as live, pytest.raises(openai.APIConnectionError):
        stream_words(live)


def test_stream_malformed_chunk_raises_in_the_sdk(serve: Serve) -> None:
    yaml = "rules: [{respond: {generate: {tokens: 10}, fault: {kind: malformed, after: 2}}}]"
    with serve(yaml) as live, pytest.raises(json.JSONDecodeError):
        stream_words(live)


def test_stream_truncate_ends_without_finish_reason(serve: Serve) -> None:
    yaml = "rules: [{respond: {text: 'a b c', fault: {kind: truncate}}}]"
    with serve(yaml) as live:
        with client(live).chat.completions.stream(
            model="gpt-4o", messages=USER, stream_options={"include_usage": True}
        ) as stream:
            final = stream.get_final_completion()
        assert final.choices[0].message.content == "a b c"
        assert final.choices[0].finish_reason is None and final.usage is None


def test_stream_stall_trips_the_client_timeout(serve: Serve) -> None:
    yaml = "rules: [{respond: {text: 'a b c', fault: {kind: stall, after: 1, seconds: 0.5}}}]"
    with serve(yaml) as live, pytest.raises(openai.APITimeoutError):
        stream_words(live, timeout=0.1)


def test_tool_loop_through_the_sdk(serve: Serve) -> None:
    yaml = r"""
    rules:
      - {name: done, match: {tool_result: true}, respond: {template: "It is {last_message}."}}
      - name: call
        match: {tools: [get_weather], last_user: {regex: "in (?P<city>\\w+)"}}
        respond: {tool_calls: [{name: get_weather, arguments: {city: "{city}"}}]}
    """
    tools = [{"type": "function", "function": {
        "name": "get_weather", "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}}, "required": ["city"]}}}]
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Rome"}]
    with serve(yaml) as live:
        c = client(live)
        first = c.chat.completions.create(model="gpt-4o", messages=messages,  # type: ignore[arg-type]
                                          tools=tools)  # type: ignore[arg-type]
        call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert first.choices[0].finish_reason == "tool_calls"
        assert json.loads(call.function.arguments) == {"city": "Rome"}  # type: ignore[union-attr]
        messages += [first.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "sunny, 24C"}]
        second = c.chat.completions.create(model="gpt-4o", messages=messages,  # type: ignore[arg-type]
                                           tools=tools)  # type: ignore[arg-type]
        assert second.choices[0].message.content == "It is sunny, 24C."
        assert second.choices[0].finish_reason == "stop"
        assert [e.rule for e in live.context.journal.query()] == ["call", "done"]


class Answer(pydantic.BaseModel):
    city: str
    temperature: float
    tags: list[str]


def test_structured_output_parses(serve: Serve) -> None:
    with serve("rules: []") as live:
        out = client(live).chat.completions.parse(model="gpt-4o", messages=USER,
                                                  response_format=Answer)
        assert isinstance(out.choices[0].message.parsed, Answer)


def test_templated_counter_and_stream_usage(serve: Serve) -> None:
    yaml = "rules: [{respond: {template: 'answer number {counter}'}}]"
    with serve(yaml) as live:
        c = client(live)
        texts = [c.chat.completions.create(model="gpt-4o", messages=USER).choices[0]
                 .message.content for _ in range(2)]
        assert texts == ["answer number 1", "answer number 2"]
        chunks = list(c.chat.completions.create(
            model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}))
        usage = chunks[-1].usage
        content = [ch.choices[0].delta.content for ch in chunks
                   if ch.choices and ch.choices[0].delta.content]
        assert "".join(content) == "answer number 3"  # type: ignore[arg-type]
        assert usage is not None and usage.completion_tokens == len(content)


def test_embeddings_through_the_sdk(serve: Serve) -> None:
    with serve("rules: []") as live:
        c = client(live)
        a = c.embeddings.create(model="emb", input=["hello", "world"])
        b = c.embeddings.create(model="emb", input="hello", dimensions=4)
        assert [len(d.embedding) for d in a.data] == [8, 8]
        assert len(b.data[0].embedding) == 4
        assert a.data[0].embedding == c.embeddings.create(model="emb", input="hello") \
            .data[0].embedding


def test_error_fault_mid_stream_through_the_anthropic_sdk(serve: Serve) -> None:
    import anthropic

    yaml = """
    rules:
      - respond: {generate: {tokens: 10}, fault: {kind: error, after: 3, status: 529}}
    """
    with serve(yaml) as live, anthropic.Anthropic(base_url=live.url, api_key="x",
                                                  max_retries=0) as c:
        with pytest.raises(anthropic.APIStatusError) as info, c.messages.stream(
            model="claude-x", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            for _ in stream:
                pass
        assert "overloaded" in str(info.value).lower()


def test_error_fault_on_a_non_streamed_answer_is_the_error(serve: Serve) -> None:
    yaml = "rules: [{respond: {text: hi, fault: {kind: error, status: 503}}}]"
    with serve(yaml) as live, pytest.raises(openai.InternalServerError) as info:
        client(live).chat.completions.create(model="gpt-4o", messages=USER)
    assert info.value.status_code == 503
