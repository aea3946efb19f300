"""openai.responses through the official SDK: items, typed stream events, the store."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_config
from plugins_builtin.openai import wire

CONFIG = """
models:
  - {id: gpt-4o-mini-2024-07-18, provider: openai, aliases: [gpt-4o-mini],
     tokenizer: cl100k_base, max_output_tokens: 16384}
  - {id: qwen3-8b, provider: vllm, tokenizer: cl100k_base}
rules:
  - name: after-tool
    match: {tool_result: true}
    respond: {text: "It is sunny in Paris."}
  - name: weather
    match: {last_user: {contains: weather}}
    respond: {tool_calls: [{name: get_weather, arguments: {city: Paris}}]}
  - name: remember
    match: {any_message: {contains: "my name is"}, last_user: {contains: "who am i"}}
    respond: {text: "You told me your name."}
  - name: think
    match: {last_user: {contains: think}}
    respond: {text: "Done thinking.", reasoning: "Let me consider it."}
  - name: sky
    match: {last_user: {contains: sky}}
    respond: {text: "The sky is blue."}
"""

MODEL = "gpt-4o-mini"
SKY = ["The", " sky", " is", " blue", "."]
TOOL = {"type": "function", "name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


def test_create_message_item_and_output_text(client: openai.OpenAI) -> None:
    out = client.responses.create(model=MODEL, input="why is the sky blue?",
                                  instructions="Be brief.")
    assert out.object == "response"
    assert out.id.startswith("resp_")
    assert out.status == "completed"
    assert out.model == "gpt-4o-mini-2024-07-18"
    assert out.output_text == "The sky is blue."
    assert out.instructions == "Be brief."
    item = out.output[0]
    assert item.type == "message" and item.role == "assistant" and item.status == "completed"
    assert item.content[0].type == "output_text"
    assert out.usage is not None
    assert out.usage.output_tokens == 5
    assert out.usage.total_tokens == out.usage.input_tokens + 5


def test_function_call_round_trip(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="weather in Paris?",
                                    tools=[TOOL])  # type: ignore[list-item]
    call = first.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.call_id and call.id and call.id.startswith("fc_")
    second = client.responses.create(
        model=MODEL, previous_response_id=first.id, tools=[TOOL],  # type: ignore[list-item]
        input=[{"type": "function_call_output", "call_id": call.call_id,
                "output": '{"temp": 21}'}])
    assert second.output_text == "It is sunny in Paris."
    assert second.previous_response_id == first.id


def test_input_items_carry_the_conversation(client: openai.OpenAI) -> None:
    out = client.responses.create(model=MODEL, input=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "function_call", "call_id": "c1", "name": "get_weather",
         "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "21C"},
    ])
    assert out.output_text == "It is sunny in Paris."


def test_previous_response_id_continues(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL, input="hello, my name is Ada")
    second = client.responses.create(model=MODEL, input="who am I?",
                                     previous_response_id=first.id)
    assert second.output_text == "You told me your name."
    assert second.usage is not None and first.usage is not None
    assert second.usage.input_tokens > first.usage.input_tokens
    alone = client.responses.create(model=MODEL, input="who am I?")
    assert alone.output_text != "You told me your name."
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")


def test_retrieve_and_delete(client: openai.OpenAI) -> None:
    out = client.responses.create(model=MODEL, input="sky")
    got = client.responses.retrieve(out.id)
    assert got.id == out.id and got.output_text == "The sky is blue."
    client.responses.delete(out.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(out.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(out.id)
    unstored = client.responses.create(model=MODEL, input="sky", store=False)
    assert unstored.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)


def test_max_output_tokens_makes_it_incomplete(client: openai.OpenAI) -> None:
    out = client.responses.create(model=MODEL, input="hello", max_output_tokens=16)
    assert out.status == "incomplete"
    assert out.incomplete_details is not None
    assert out.incomplete_details.reason == "max_output_tokens"
    assert out.usage is not None and out.usage.output_tokens == 16


def test_reasoning_item_is_hidden_without_a_summary(client: openai.OpenAI) -> None:
    # OpenAI's models show nothing of their reasoning unless a summary is asked for: the
    # item has an empty summary and no content; only usage counts it.
    out = client.responses.create(model=MODEL, input="think about it",
                                  reasoning={"effort": "low"})
    assert [i.type for i in out.output] == ["reasoning", "message"]
    reasoning = out.output[0]
    assert reasoning.type == "reasoning"
    assert reasoning.summary == [] and reasoning.content is None
    assert out.output_text == "Done thinking."
    assert out.usage is not None
    assert out.usage.output_tokens_details.reasoning_tokens > 0


def test_open_weight_models_show_reasoning_text(client: openai.OpenAI) -> None:
    out = client.responses.create(model="qwen3-8b", input="think about it",
                                  reasoning={"effort": "low"})
    reasoning = out.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary == []
    assert reasoning.content is not None
    assert reasoning.content[0].text == "Let me consider it."


def test_reasoning_summary(client: openai.OpenAI) -> None:
    out = client.responses.create(model=MODEL, input="think about it",
                                  reasoning={"effort": "low", "summary": "auto"})
    reasoning = out.output[0]
    assert reasoning.type == "reasoning"
    assert [p.text for p in reasoning.summary] == ["Let me consider it."]
    assert reasoning.content is None
    assert out.reasoning is not None and out.reasoning.summary == "auto"


_SUMMARY = ["response.reasoning_summary_part.added", "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done", "response.reasoning_summary_part.done"]


@pytest.mark.parametrize("model, summary, kinds", [
    (MODEL, None, []),
    ("qwen3-8b", None, ["response.reasoning_text.delta", "response.reasoning_text.done"]),
    (MODEL, "auto", _SUMMARY),
    (MODEL, "detailed", _SUMMARY),
    (MODEL, "concise", _SUMMARY),
])
def test_reasoning_stream(client: openai.OpenAI, model: str, summary: str | None,
                          kinds: list[str]) -> None:
    reasoning: dict[str, str] = {"effort": "low"}
    if summary:
        reasoning["summary"] = summary
    with client.responses.stream(model=model, input="think about it",
                                 reasoning=reasoning) as stream:  # type: ignore[arg-type]
        events = list(stream)
        final = stream.get_final_response()
    types = list(dict.fromkeys(e.type for e in events))
    assert types[2] == "response.output_item.added"
    assert types[3:3 + len(kinds)] == kinds
    assert types[3 + len(kinds)] == "response.output_item.done"
    done = next(e for e in events if e.type == "response.output_item.done")
    item = final.output[0]
    assert done.item.type == item.type == "reasoning"
    if summary:
        deltas = "".join(e.delta for e in events
                         if e.type == "response.reasoning_summary_text.delta")
        assert deltas == "Let me consider it."
        added = next(e for e in events if e.type == "response.reasoning_summary_part.added")
        assert (added.summary_index, added.part.type, added.part.text) == (0, "summary_text", "")
        assert [p.text for p in item.summary] == ["Let me consider it."]  # type: ignore[union-attr]
    elif kinds:
        deltas = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
        assert deltas == "Let me consider it."
    else:
        assert item.summary == [] and item.content is None  # type: ignore[union-attr]
    assert final.output_text == "Done thinking."
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_json_schema_text_format(client: openai.OpenAI) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
              "additionalProperties": False}
    out = client.responses.create(model=MODEL, input="a number please", text={
        "format": {"type": "json_schema", "name": "num", "schema": schema, "strict": True}})
    assert isinstance(json.loads(out.output_text)["n"], int)


def test_parse_and_stream_with_a_pydantic_text_format(client: openai.OpenAI) -> None:
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int
        y: int
        label: str

    out = client.responses.parse(model=MODEL, input="a point please", text_format=Point)
    assert isinstance(out.output_parsed, Point)
    with client.responses.stream(model=MODEL, input="a point please",
                                 text_format=Point) as stream:
        final = stream.get_final_response()
    assert final.output_parsed == out.output_parsed


def test_stream_events(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model=MODEL, input="sky", stream=True))
    types = [e.type for e in events]
    assert types == [
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", *["response.output_text.delta"] * 5,
        "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == SKY
    done = events[-1]
    assert done.type == "response.completed"
    assert done.response.usage is not None and done.response.usage.output_tokens == 5


def test_stream_helper_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="sky") as stream:
        final = stream.get_final_response()
    assert final.output_text == "The sky is blue."
    with client.responses.stream(model=MODEL, input="weather?",
                                 tools=[TOOL]) as stream:  # type: ignore[list-item]
        args = [e.delta for e in stream if e.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    call = final.output[0]
    assert call.type == "function_call"
    assert "".join(args) == call.arguments
    assert json.loads(call.arguments) == {"city": "Paris"}


def _response(status: str, output: list[object], usage: object, completed_at: object) -> dict[
        str, object]:
    return {
        "id": "resp_test", "object": "response", "created_at": 1700000000, "status": status,
        "background": False, "completed_at": completed_at, "error": None,
        "incomplete_details": None, "instructions": None, "max_output_tokens": None,
        "max_tool_calls": None, "model": "gpt-4o-mini-2024-07-18", "output": output,
        "parallel_tool_calls": True, "previous_response_id": None, "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None}, "safety_identifier": None,
        "service_tier": "default", "store": False, "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": "auto",
        "tools": [], "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled", "usage": usage,
        "user": None, "metadata": {},
    }


def test_stream_bytes_exact(
    http: httpx.Client, server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wire, "new_id", lambda prefix: prefix + "test")
    monkeypatch.setattr(wire, "now", lambda: 1700000000)
    raw = http.post(server.openai_url + "/responses",
                    json={"model": MODEL, "input": "sky", "stream": True, "store": False})
    assert raw.headers["content-type"].startswith("text/event-stream")
    events: list[dict[str, object]] = []

    def add(kind: str, **fields: object) -> None:
        events.append({"type": kind, "sequence_number": len(events), **fields})

    where = {"item_id": "msg_test", "output_index": 0, "content_index": 0}
    text = "The sky is blue."

    def part(t: str) -> dict[str, object]:
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": t}

    def item(status: str, content: list[object]) -> dict[str, object]:
        return {"id": "msg_test", "type": "message", "status": status, "content": content,
                "role": "assistant"}

    add("response.created", response=_response("in_progress", [], None, None))
    add("response.in_progress", response=_response("in_progress", [], None, None))
    add("response.output_item.added", output_index=0, item=item("in_progress", []))
    add("response.content_part.added", **where, part=part(""))
    for piece in SKY:
        add("response.output_text.delta", **where, delta=piece, logprobs=[])
    add("response.output_text.done", **where, text=text, logprobs=[])
    add("response.content_part.done", **where, part=part(text))
    add("response.output_item.done", output_index=0, item=item("completed", [part(text)]))
    usage = {"input_tokens": 8, "input_tokens_details": {"cached_tokens": 0,
                                                         "cache_write_tokens": 0},
             "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 13}
    add("response.completed", response=_response(
        "completed", [item("completed", [part(text)])], usage, 1700000000))
    expected = "".join(f"event: {e['type']}\ndata: {json.dumps(e, separators=(',', ':'))}\n\n"
                       for e in events)
    assert raw.text == expected  # no [DONE] on this transport


@pytest.mark.anyio
async def test_async(server: LiveServer) -> None:
    async with openai.AsyncOpenAI(base_url=server.openai_url, api_key="t",
                                  max_retries=0) as client:
        out = await client.responses.create(model=MODEL, input="sky")
        assert out.output_text == "The sky is blue."
        async with client.responses.stream(model=MODEL, input="sky") as stream:
            final = await stream.get_final_response()
        assert final.output_text == "The sky is blue."


def test_reasoning_encrypted_content_when_included(client: openai.OpenAI) -> None:
    # store: false with include reasoning.encrypted_content: the client keeps the
    # conversation and sends the finished reasoning item back in the next turn.
    out = client.responses.create(model=MODEL, input="think about it", store=False,
                                  reasoning={"effort": "low"},
                                  include=["reasoning.encrypted_content"])
    item = out.output[0]
    assert item.type == "reasoning" and item.summary == [] and item.content is None
    assert item.encrypted_content and item.encrypted_content.startswith("gAAAAA")
    again = client.responses.create(model=MODEL, input="think about it", store=False,
                                    reasoning={"effort": "low"},
                                    include=["reasoning.encrypted_content"])
    assert again.output[0].encrypted_content == item.encrypted_content  # type: ignore[union-attr]
    follow = client.responses.create(model=MODEL, store=False, input=[
        {"role": "user", "content": "think about it"},
        item.model_dump(exclude_none=True),  # type: ignore[list-item]
        *[o.model_dump(exclude_none=True) for o in out.output[1:]],  # type: ignore[misc]
        {"role": "user", "content": "why is the sky blue?"}])
    assert follow.output_text == "The sky is blue."
    with client.responses.stream(model=MODEL, input="think about it",
                                 reasoning={"effort": "low"},
                                 include=["reasoning.encrypted_content"]) as stream:
        events = list(stream)
    added = next(e for e in events if e.type == "response.output_item.added")
    done = next(e for e in events if e.type == "response.output_item.done")
    assert added.item.encrypted_content is None  # type: ignore[union-attr]
    assert done.item.encrypted_content == item.encrypted_content  # type: ignore[union-attr]
    plain = client.responses.create(model=MODEL, input="think about it",
                                    reasoning={"effort": "low"})
    assert plain.output[0].encrypted_content is None  # type: ignore[union-attr]
