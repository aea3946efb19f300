"""tool_choice on the embedded default config (no rules), through the openai and anthropic
SDKs, their stream helpers and ``parse`` helpers (docs/config.md, "Model behaviour")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import jsonschema
import openai
import pydantic
import pytest

from mockllm.testing import LiveServer, run_config, run_server, test_context

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
SCHEMAS = {"get_weather": WEATHER, "get_time": TIME}
TOOLS: list[Any] = [
    {"type": "function", "function": {"name": n, "description": n, "parameters": s}}
    for n, s in SCHEMAS.items()
]
CLAUDE_TOOLS: list[Any] = [{"name": n, "description": n, "input_schema": s}
                           for n, s in SCHEMAS.items()]
ASK: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
GPT = "gpt-4o-mini"
CLAUDE = "claude-haiku-4-5"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture
def claude(server: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as c:
        yield c


def _valid(name: str, arguments: str | object) -> dict[str, Any]:
    args = json.loads(arguments) if isinstance(arguments, str) else arguments
    jsonschema.validate(args, SCHEMAS[name])
    assert isinstance(args, dict)
    return args


# -- OpenAI chat --------------------------------------------------------------------------


def test_required_calls_a_tool_with_valid_arguments(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                         tool_choice="required", seed=3)
    choice = out.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_weather"]  # one call: parallel is 1
    _valid("get_weather", calls[0].function.arguments)
    assert calls[0].id.startswith("call_")
    assert out.usage is not None and out.usage.completion_tokens > 0
    again = client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                           tool_choice="required", seed=3)
    assert (again.choices[0].message.tool_calls or [])[0].function.arguments == \
        calls[0].function.arguments  # deterministic per seed


def test_a_named_function_is_called(client: openai.OpenAI) -> None:
    out = client.chat.completions.create(
        model=GPT, messages=ASK, tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}})
    calls = out.choices[0].message.tool_calls or []
    assert [c.function.name for c in calls] == ["get_time"]
    _valid("get_time", calls[0].function.arguments)


@pytest.mark.parametrize("choice", ["none", "auto", None])
def test_none_and_auto_answer_in_text(client: openai.OpenAI, choice: Any) -> None:
    extra = {} if choice is None else {"tool_choice": choice}
    out = client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS, **extra)
    assert out.choices[0].finish_reason == "stop"
    assert out.choices[0].message.content and not out.choices[0].message.tool_calls


def test_allowed_tools_narrow_the_choice(client: openai.OpenAI) -> None:
    choice: Any = {"type": "allowed_tools", "allowed_tools": {
        "mode": "required", "tools": [{"type": "function", "function": {"name": "get_time"}}]}}
    out = client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                         tool_choice=choice)
    assert [c.function.name for c in out.choices[0].message.tool_calls or []] == ["get_time"]


def test_required_after_a_tool_result_moves_to_the_next_tool(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                           tool_choice="required")
    call = (first.choices[0].message.tool_calls or [])[0]
    history: list[Any] = [*ASK, first.choices[0].message.model_dump(exclude_none=True),
                          {"role": "tool", "tool_call_id": call.id, "content": "18C"}]
    forced = client.chat.completions.create(model=GPT, messages=history, tools=TOOLS,
                                            tool_choice="required")
    assert [c.function.name for c in forced.choices[0].message.tool_calls or []] == ["get_time"]
    # Under auto the tool result gets a text answer: the agent loop ends.
    done = client.chat.completions.create(model=GPT, messages=history, tools=TOOLS)
    assert done.choices[0].finish_reason == "stop" and done.choices[0].message.content


def test_unoffered_or_toolless_choice_is_the_apis_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model=GPT, messages=ASK, tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "get_stock"}})
    assert err.value.body["param"] == "tool_choice"  # type: ignore[index]
    assert "get_stock" in err.value.message
    with pytest.raises(openai.BadRequestError, match="only allowed when 'tools' are specified"):
        client.chat.completions.create(model=GPT, messages=ASK, tool_choice="auto")
    with pytest.raises(openai.BadRequestError, match="Supported values are"):
        client.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                       tool_choice="always")  # type: ignore[arg-type]


def test_stream_helper_joins_argument_pieces(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model=GPT, messages=ASK, tools=TOOLS,
                                        tool_choice="required") as stream:
        deltas = [e for e in stream if e.type == "tool_calls.function.arguments.delta"]
        final = stream.get_final_completion()
    call = (final.choices[0].message.tool_calls or [])[0]
    assert len(deltas) > 3  # streamed in token-sized pieces
    assert "".join(d.arguments_delta for d in deltas) == call.function.arguments
    _valid("get_weather", call.function.arguments)
    assert final.choices[0].finish_reason == "tool_calls"


class Weather(pydantic.BaseModel):
    city: str
    unit: str
    days: int


def test_parse_helper_gets_a_typed_tool_call(client: openai.OpenAI) -> None:
    tool = openai.pydantic_function_tool(Weather, name="Weather")
    out = client.chat.completions.parse(
        model=GPT, messages=ASK, tools=[tool],
        tool_choice={"type": "function", "function": {"name": "Weather"}})
    call = (out.choices[0].message.tool_calls or [])[0]
    assert isinstance(call.function.parsed_arguments, Weather)


def test_parallel_calls_follow_the_config_and_the_request() -> None:
    with run_config("defaults: {tools: {auto: call, parallel: 2}}\n") as live, \
            openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        both = c.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS)
        names = [t.function.name for t in both.choices[0].message.tool_calls or []]
        assert names == ["get_weather", "get_time"]
        ids = {t.id for t in both.choices[0].message.tool_calls or []}
        assert len(ids) == 2
        one = c.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                        parallel_tool_calls=False)
        assert len(one.choices[0].message.tool_calls or []) == 1
        text = c.chat.completions.create(model=GPT, messages=ASK, tools=TOOLS,
                                         tool_choice="none")
        assert text.choices[0].message.content and not text.choices[0].message.tool_calls


# -- Anthropic ----------------------------------------------------------------------------


@pytest.mark.parametrize("choice, name", [({"type": "any"}, "get_weather"),
                                          ({"type": "tool", "name": "get_time"}, "get_time")])
def test_anthropic_forced_tool_use(claude: anthropic.Anthropic, choice: Any, name: str) -> None:
    out = claude.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK,
                                 tools=CLAUDE_TOOLS, tool_choice=choice)
    assert out.stop_reason == "tool_use"
    assert [b.type for b in out.content] == ["tool_use"]
    block = out.content[0]
    assert block.type == "tool_use" and block.name == name and block.id.startswith("toolu_")
    _valid(name, block.input)


def test_anthropic_none_and_auto_answer_in_text(claude: anthropic.Anthropic) -> None:
    for choice in ({"type": "none"}, {"type": "auto"}):
        out = claude.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK,
                                     tools=CLAUDE_TOOLS, tool_choice=choice)  # type: ignore[arg-type]
        assert out.stop_reason == "end_turn" and [b.type for b in out.content] == ["text"]


def test_anthropic_stream_helper_sends_input_json_deltas(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=CLAUDE, max_tokens=1024, messages=ASK,
                                tools=CLAUDE_TOOLS,
                                tool_choice={"type": "tool", "name": "get_weather"}) as s:
        parts = [e.partial_json for e in s if e.type == "input_json"]
        final = s.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use"
    assert len([p for p in parts if p]) > 3
    assert json.loads("".join(parts)) == block.input
    _valid("get_weather", block.input)
    assert final.stop_reason == "tool_use"


def test_anthropic_tool_result_gets_text(claude: anthropic.Anthropic) -> None:
    first = claude.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK,
                                   tools=CLAUDE_TOOLS, tool_choice={"type": "any"})
    use = first.content[0]
    assert use.type == "tool_use"
    history: list[Any] = [*ASK, {"role": "assistant", "content": [use.model_dump()]},
                          {"role": "user", "content": [
                              {"type": "tool_result", "tool_use_id": use.id, "content": "18C"}]}]
    done = claude.messages.create(model=CLAUDE, max_tokens=1024, messages=history,
                                  tools=CLAUDE_TOOLS)
    assert done.stop_reason == "end_turn" and done.content[0].type == "text"


def test_anthropic_disable_parallel_tool_use() -> None:
    with run_config("defaults: {tools: {parallel: 2}}\n") as live, \
            anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as c:
        both = c.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK,
                                 tools=CLAUDE_TOOLS, tool_choice={"type": "any"})
        assert [b.name for b in both.content if b.type == "tool_use"] == ["get_weather",
                                                                         "get_time"]
        one = c.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK,
                                tools=CLAUDE_TOOLS, tool_choice={
                                    "type": "any", "disable_parallel_tool_use": True})
        assert len(one.content) == 1


def test_anthropic_refusals(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="get_stock"):
        claude.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK, tools=CLAUDE_TOOLS,
                               tool_choice={"type": "tool", "name": "get_stock"})
    with pytest.raises(anthropic.BadRequestError, match="forces tool use"):
        claude.messages.create(model=CLAUDE, max_tokens=4096, messages=ASK, tools=CLAUDE_TOOLS,
                               tool_choice={"type": "any"},
                               thinking={"type": "enabled", "budget_tokens": 1024})
