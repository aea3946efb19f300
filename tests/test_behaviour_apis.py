"""The Responses API and Ollama on the embedded default config (no rules): tool_choice,
structured output and reasoning, through the openai SDK (create, stream, parse) and the
ollama client (docs/config.md, "Model behaviour")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import ollama
import openai
import pydantic
import pytest

from mockllm.testing import LiveServer, run_config, run_server, test_context

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"],
        "additionalProperties": False}
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
RESP_TOOLS: list[Any] = [{"type": "function", "name": n, "description": n, "parameters": s,
                          "strict": True} for n, s in SCHEMAS.items()]
OLLAMA_TOOLS: list[Any] = [{"type": "function", "function": {
    "name": n, "description": n, "parameters": s}} for n, s in SCHEMAS.items()]
GPT = "gpt-4o-mini"


class Answer(pydantic.BaseModel):
    title: str
    score: float
    tags: list[str]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture
def llama(server: LiveServer) -> Iterator[ollama.Client]:
    c = ollama.Client(host=server.url)
    yield c
    c.close()


def _valid(name: str, arguments: str | object) -> None:
    args = json.loads(arguments) if isinstance(arguments, str) else arguments
    jsonschema.validate(args, SCHEMAS[name])


# -- Responses: tools ---------------------------------------------------------------------


@pytest.mark.parametrize("choice, name", [
    ("required", "get_weather"), ({"type": "function", "name": "get_time"}, "get_time")])
def test_responses_forced_function_call(client: openai.OpenAI, choice: Any, name: str) -> None:
    out = client.responses.create(model=GPT, input="weather in Paris?", tools=RESP_TOOLS,
                                  tool_choice=choice)
    assert [i.type for i in out.output] == ["function_call"]
    call = out.output[0]
    assert call.type == "function_call" and call.name == name
    assert call.call_id.startswith("call_") and (call.id or "").startswith("fc_")
    _valid(name, call.arguments)
    assert out.status == "completed"


def test_responses_none_and_auto_give_a_message(client: openai.OpenAI) -> None:
    for choice in ("none", "auto"):
        out = client.responses.create(model=GPT, input="weather in Paris?", tools=RESP_TOOLS,
                                      tool_choice=choice)  # type: ignore[arg-type]
        assert [i.type for i in out.output] == ["message"] and out.output_text


def test_responses_unoffered_function_is_a_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="not found in 'tools'"):
        client.responses.create(model=GPT, input="hi", tools=RESP_TOOLS,
                                tool_choice={"type": "function", "name": "get_stock"})


def test_responses_stream_sends_argument_deltas(client: openai.OpenAI) -> None:
    with client.responses.stream(model=GPT, input="weather?", tools=RESP_TOOLS,
                                 tool_choice="required") as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    call = final.output[0]
    assert call.type == "function_call"
    assert len(deltas) > 3 and "".join(deltas) == call.arguments == done[0].arguments
    _valid("get_weather", call.arguments)


def test_responses_agent_loop_ends_after_the_tool_result(client: openai.OpenAI) -> None:
    with run_config("defaults: {tools: {auto: call}}\n") as live, \
            openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        first = c.responses.create(model=GPT, input="weather in Paris?", tools=RESP_TOOLS)
        call = first.output[0]
        assert call.type == "function_call"
        second = c.responses.create(model=GPT, previous_response_id=first.id, tools=RESP_TOOLS,
                                    input=[{"type": "function_call_output",
                                            "call_id": call.call_id, "output": "18C"}])
        assert [i.type for i in second.output] == ["message"] and second.output_text


# -- structured output --------------------------------------------------------------------


def test_responses_parse_with_a_strict_schema(client: openai.OpenAI) -> None:
    out = client.responses.parse(model=GPT, input="rate this", text_format=Answer)
    assert isinstance(out.output_parsed, Answer)
    fmt = out.text.format if out.text else None
    assert fmt is not None and fmt.type == "json_schema" and fmt.strict is True


def test_chat_parse_helper_and_stream(client: openai.OpenAI) -> None:
    msgs: list[Any] = [{"role": "user", "content": "rate this"}]
    out = client.chat.completions.parse(model=GPT, messages=msgs, response_format=Answer)
    assert isinstance(out.choices[0].message.parsed, Answer)
    with client.chat.completions.stream(model=GPT, messages=msgs,
                                        response_format=Answer) as stream:
        final = stream.get_final_completion()
    assert isinstance(final.choices[0].message.parsed, Answer)


def test_ollama_format_schema_and_json(llama: ollama.Client) -> None:
    msgs = [{"role": "user", "content": "rate this"}]
    out = llama.chat(model="llama3.2", messages=msgs, format=Answer.model_json_schema())
    Answer.model_validate_json(out.message.content or "")
    parts = list(llama.chat(model="llama3.2", messages=msgs, format="json", stream=True))
    assert isinstance(json.loads("".join(p.message.content or "" for p in parts)), dict)
    gen = llama.generate(model="llama3.2", prompt="rate this", format=Answer.model_json_schema())
    Answer.model_validate_json(gen.response)


# -- reasoning ----------------------------------------------------------------------------


def test_openai_reasoning_models_report_reasoning_tokens(client: openai.OpenAI) -> None:
    msgs: list[Any] = [{"role": "user", "content": "hi"}]
    o4 = client.chat.completions.create(model="o4-mini", messages=msgs)
    assert o4.usage is not None and o4.usage.completion_tokens_details is not None
    reasoning = o4.usage.completion_tokens_details.reasoning_tokens or 0
    assert 128 <= reasoning <= 1024  # medium effort by default
    assert o4.usage.completion_tokens > reasoning  # the answer follows the reasoning
    low = client.chat.completions.create(model="o4-mini", messages=msgs,
                                         reasoning_effort="low", max_completion_tokens=4000)
    assert low.usage is not None and low.usage.completion_tokens_details is not None
    assert (low.usage.completion_tokens_details.reasoning_tokens or 0) <= 320
    plain = client.chat.completions.create(model=GPT, messages=msgs)
    assert plain.usage is not None and plain.usage.completion_tokens_details is not None
    assert plain.usage.completion_tokens_details.reasoning_tokens == 0
    # Reasoning counts towards the limit.
    tight = client.chat.completions.create(model="o4-mini", messages=msgs,
                                           max_completion_tokens=60)
    assert tight.usage is not None and tight.usage.completion_tokens == 60
    assert tight.choices[0].finish_reason == "length"


def test_responses_reasoning_item_with_summary(client: openai.OpenAI) -> None:
    out = client.responses.create(model="o4-mini", input="hi",
                                  reasoning={"effort": "high", "summary": "auto"})
    kinds = [i.type for i in out.output]
    assert kinds == ["reasoning", "message"]
    item = out.output[0]
    assert item.type == "reasoning" and item.summary and item.summary[0].text
    assert out.usage is not None
    assert out.usage.output_tokens_details.reasoning_tokens >= 384
    with client.responses.stream(model="o4-mini", input="hi",
                                 reasoning={"summary": "auto"}) as stream:
        types = {e.type for e in stream}
    assert "response.reasoning_summary_text.delta" in types


def test_ollama_think(llama: ollama.Client) -> None:
    msgs = [{"role": "user", "content": "hi"}]
    plain = llama.chat(model="qwen3", messages=msgs)
    assert plain.message.thinking is None and plain.message.content
    out = llama.chat(model="qwen3", messages=msgs, think=True)
    assert out.message.thinking and out.message.content
    parts = list(llama.chat(model="qwen3", messages=msgs, think="high", stream=True))
    assert "".join(p.message.thinking or "" for p in parts)
    assert parts[-1].done and parts[-1].eval_count


# -- Ollama tools -------------------------------------------------------------------------


def test_ollama_tools_are_called_then_answered(llama: ollama.Client) -> None:
    msgs: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
    out = llama.chat(model="llama3.2", messages=msgs, tools=OLLAMA_TOOLS)
    calls = out.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]
    _valid("get_weather", dict(calls[0].function.arguments))
    streamed = list(llama.chat(model="llama3.2", messages=msgs, tools=OLLAMA_TOOLS,
                               stream=True))
    assert any(p.message.tool_calls for p in streamed) and streamed[-1].done
    history = [*msgs, out.message, {"role": "tool", "content": "18C",
                                    "tool_name": "get_weather"}]
    done = llama.chat(model="llama3.2", messages=history, tools=OLLAMA_TOOLS)
    assert not done.message.tool_calls and done.message.content


def test_ollama_tools_follow_defaults_tools_auto_text() -> None:
    with run_config("defaults: {tools: {auto: text}}\n") as live:
        c = ollama.Client(host=live.url)
        out = c.chat(model="llama3.2", messages=[{"role": "user", "content": "weather?"}],
                     tools=OLLAMA_TOOLS)
        c.close()
        assert not out.message.tool_calls and out.message.content
