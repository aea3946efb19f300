"""Each library's documented tool, structured-output and thinking path, against `mockllm
serve` on its embedded default config, with no rule written for any of them.

Run by `tox -e clients` (openai < 3: instructor, llama-index-llms-openai and the rest) and
`tox -e clients-agents` (openai-agents and pydantic-ai, which need openai >= 3); a library
missing from the venv is skipped, so each env runs the paths it can install.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from mockllm.testing import LiveServer

OPENAI_MODEL = "gpt-4o"
CLAUDE = "claude-haiku-4-5"  # takes forced tools and a manual thinking budget
KEY = "sk-test"


class Weather(BaseModel):
    city: str
    celsius: int


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


WEATHER_TOOL: dict[str, Any] = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
CLAUDE_TOOL: dict[str, Any] = {"name": "get_weather", "description": "Get the weather.",
                               "input_schema": WEATHER_TOOL["function"]["parameters"]}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def need(module: str) -> Any:
    return pytest.importorskip(module)


# -- openai SDK -------------------------------------------------------------------------

def test_openai_tool_choice_required(live: LiveServer) -> None:
    openai = need("openai")
    c = openai.OpenAI(base_url=live.openai_url, api_key=KEY)
    out = c.chat.completions.create(model=OPENAI_MODEL, messages=ASK, tools=[WEATHER_TOOL],
                                    tool_choice="required")
    call = out.choices[0].message.tool_calls[0]
    assert out.choices[0].finish_reason == "tool_calls"
    assert isinstance(json.loads(call.function.arguments)["city"], str)


def test_openai_parse_structured_output(live: LiveServer) -> None:
    openai = need("openai")
    c = openai.OpenAI(base_url=live.openai_url, api_key=KEY)
    out = c.chat.completions.parse(model=OPENAI_MODEL, messages=ASK, response_format=Weather)
    assert isinstance(out.choices[0].message.parsed, Weather)


def test_openai_stream_helper_with_tools(live: LiveServer) -> None:
    openai = need("openai")
    c = openai.OpenAI(base_url=live.openai_url, api_key=KEY)
    with c.chat.completions.stream(model=OPENAI_MODEL, messages=ASK, tools=[WEATHER_TOOL],
                                   tool_choice={"type": "function",
                                                "function": {"name": "get_weather"}}) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"


def test_openai_responses_parse_and_reasoning(live: LiveServer) -> None:
    openai = need("openai")
    c = openai.OpenAI(base_url=live.openai_url, api_key=KEY)
    out = c.responses.parse(model=OPENAI_MODEL, input="Weather in Paris?", text_format=Weather)
    assert isinstance(out.output_parsed, Weather)
    r = c.responses.create(model="o4-mini", input="Think first.",
                           reasoning={"effort": "low", "summary": "auto"})
    assert r.usage.output_tokens_details.reasoning_tokens > 0


# -- anthropic SDK ----------------------------------------------------------------------

def test_anthropic_forced_tool(live: LiveServer) -> None:
    anthropic = need("anthropic")
    c = anthropic.Anthropic(base_url=live.url, api_key=KEY)
    out = c.messages.create(model=CLAUDE, max_tokens=1024, messages=ASK, tools=[CLAUDE_TOOL],
                            tool_choice={"type": "tool", "name": "get_weather"})
    assert out.stop_reason == "tool_use"
    assert [b.type for b in out.content if b.type == "tool_use"] == ["tool_use"]


def test_anthropic_thinking_stream(live: LiveServer) -> None:
    anthropic = need("anthropic")
    c = anthropic.Anthropic(base_url=live.url, api_key=KEY)
    with c.messages.stream(model=CLAUDE, max_tokens=4096, messages=ASK,
                           thinking={"type": "enabled", "budget_tokens": 1024}) as s:
        final = s.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds[0] == "thinking" and "text" in kinds and final.stop_reason == "end_turn"


def test_anthropic_adaptive_thinking_on_sonnet_5_5(live: LiveServer) -> None:
    anthropic = need("anthropic")
    c = anthropic.Anthropic(base_url=live.url, api_key=KEY)
    out = c.messages.create(model="claude-sonnet-5-5", max_tokens=128000, messages=ASK,
                            thinking={"type": "adaptive"}, timeout=60)
    assert out.stop_reason == "end_turn"


# -- langchain --------------------------------------------------------------------------

def test_langchain_openai_tools_and_structured(live: LiveServer) -> None:
    lc = need("langchain_openai")
    llm = lc.ChatOpenAI(model=OPENAI_MODEL, base_url=live.openai_url, api_key=KEY)
    msg = llm.bind_tools([get_weather], tool_choice="get_weather").invoke("Paris?")
    assert msg.tool_calls[0]["name"] == "get_weather"
    for method in ("function_calling", "json_schema"):
        assert isinstance(llm.with_structured_output(Weather, method=method).invoke("Paris?"),
                          Weather)


def test_langchain_anthropic_tools_structured_thinking(live: LiveServer) -> None:
    lc = need("langchain_anthropic")
    llm = lc.ChatAnthropic(model=CLAUDE, base_url=live.url, api_key=KEY, max_tokens=2048)
    msg = llm.bind_tools([get_weather], tool_choice="any").invoke("Paris?")
    assert msg.tool_calls[0]["name"] == "get_weather"
    assert isinstance(llm.with_structured_output(Weather).invoke("Paris?"), Weather)
    thinker = lc.ChatAnthropic(model=CLAUDE, base_url=live.url, api_key=KEY, max_tokens=4096,
                               thinking={"type": "enabled", "budget_tokens": 1024})
    out = thinker.invoke("Paris?")
    assert any(isinstance(b, dict) and b.get("type") == "thinking" for b in out.content)


# -- litellm ----------------------------------------------------------------------------

def test_litellm_openai_and_anthropic(live: LiveServer) -> None:
    litellm = need("litellm")
    out = litellm.completion(model=f"openai/{OPENAI_MODEL}", api_base=live.openai_url,
                             api_key=KEY, messages=ASK, tools=[WEATHER_TOOL],
                             tool_choice="required")
    assert out.choices[0].message.tool_calls[0].function.name == "get_weather"
    # litellm sends the model's documented max output (128,000) as max_tokens.
    hi = litellm.completion(model="anthropic/claude-sonnet-5-5", api_base=live.url,
                            api_key=KEY, messages=[{"role": "user", "content": "Hi"}])
    assert hi.choices[0].finish_reason == "stop"
    tool = litellm.completion(model=f"anthropic/{CLAUDE}", api_base=live.url, api_key=KEY,
                              messages=ASK, tools=[WEATHER_TOOL], tool_choice="required")
    assert tool.choices[0].message.tool_calls[0].function.name == "get_weather"
    think = litellm.completion(model=f"anthropic/{CLAUDE}", api_base=live.url, api_key=KEY,
                               messages=ASK, thinking={"type": "enabled",
                                                       "budget_tokens": 1024})
    assert think.choices[0].message.reasoning_content


# -- pydantic-ai ------------------------------------------------------------------------

def test_pydantic_ai_structured_output(live: LiveServer) -> None:
    need("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel(OPENAI_MODEL, provider=OpenAIProvider(base_url=live.openai_url,
                                                                  api_key=KEY))
    out = Agent(model, output_type=Weather).run_sync("Weather in Paris?")
    assert isinstance(out.output, Weather)


def test_pydantic_ai_anthropic_structured_output(live: LiveServer) -> None:
    need("pydantic_ai")
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    model = AnthropicModel(CLAUDE, provider=AnthropicProvider(base_url=live.url, api_key=KEY))
    out = Agent(model, output_type=Weather).run_sync("Weather in Paris?")
    assert isinstance(out.output, Weather)


# -- openai-agents (openai >= 3) --------------------------------------------------------

def test_openai_agents_tool_and_output_type(live: LiveServer) -> None:
    agents = need("agents")
    openai = need("openai")
    agents.set_tracing_disabled(True)
    agents.set_default_openai_client(openai.AsyncOpenAI(base_url=live.openai_url, api_key=KEY))
    tool = agents.function_tool(get_weather)
    agent = agents.Agent(name="w", instructions="Answer.", tools=[tool], output_type=Weather,
                         model=OPENAI_MODEL,
                         model_settings=agents.ModelSettings(tool_choice="required"))
    result = agents.Runner.run_sync(agent, "Weather in Paris?", max_turns=4)
    assert isinstance(result.final_output, Weather)


# -- llama-index, instructor (openai < 3) -----------------------------------------------

def test_llama_index_structured_predict(live: LiveServer) -> None:
    need("llama_index.llms.openai")
    from llama_index.core.prompts import PromptTemplate
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model=OPENAI_MODEL, api_base=live.openai_url, api_key=KEY)
    out = llm.structured_predict(Weather, PromptTemplate("Weather in {city}?"), city="Paris")
    assert isinstance(out, Weather)


def test_instructor_tools_mode(live: LiveServer) -> None:
    instructor = need("instructor")
    openai = need("openai")
    client = instructor.from_openai(openai.OpenAI(base_url=live.openai_url, api_key=KEY))
    out = client.chat.completions.create(model=OPENAI_MODEL, response_model=Weather,
                                         messages=ASK)
    assert isinstance(out, Weather)


# -- ollama -----------------------------------------------------------------------------

def test_ollama_format_think_and_tools(live: LiveServer) -> None:
    ollama = need("ollama")
    c = ollama.Client(host=live.url)
    fmt = c.chat(model="llama3.2", messages=ASK, format=Weather.model_json_schema())
    Weather.model_validate_json(fmt.message.content)
    think = c.chat(model="qwen3", messages=ASK, think=True)
    assert think.message.thinking
    tools = c.chat(model="llama3.2", messages=ASK, tools=[get_weather])
    assert tools.done
