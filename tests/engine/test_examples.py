"""The example configs, each exercised through the official openai SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema as validator
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context

CONFIGS = Path(__file__).parents[2] / "examples" / "configs"


@pytest.fixture
def start() -> Iterator[object]:
    stack: list[object] = []

    def serve(name: str) -> tuple[LiveServer, openai.OpenAI]:
        cm = run_server(test_context(config_path=str(CONFIGS / name)))
        live = cm.__enter__()
        client = openai.OpenAI(base_url=live.openai_url, api_key="x", max_retries=0)
        stack.append((cm, client))
        return live, client

    yield serve
    for cm, client in stack:  # type: ignore[misc]
        client.close()
        cm.__exit__(None, None, None)


def ask(client: openai.OpenAI, text: str, model: str = "gpt-4o-mini", **kw: object) -> str:
    out = client.chat.completions.create(model=model, messages=[  # type: ignore[call-overload]
        {"role": "user", "content": text}], **kw)
    return str(out.choices[0].message.content)


def test_support_bot(start: object) -> None:
    live, c = start("support-bot.yaml")  # type: ignore[operator]
    assert ask(c, "Hello there").startswith("Hello! I'm the Acme Shop assistant.")
    assert "3-5 business days" in ask(c, "How long does delivery take?")
    assert "within 30 days" in ask(c, "Can I return these shoes?")
    assert ask(c, "Where is order #123456?").startswith("Order #123456 left our warehouse")
    assert "member of our support team" in ask(c, "I want to talk to a human")
    vip = c.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "You are helping a VIP customer."},
        {"role": "user", "content": "Can I change my address?"}])
    assert vip.choices[0].message.content == ('Thank you for being a VIP customer! About "Can '
                                              'I change my address?": a specialist will reply '
                                              'within the hour.')
    assert [e.rule for e in live.context.journal.query()] == [
        "greeting", "shipping", "returns", "order-status", "human", "vip-tone"]
    fallback = c.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "What is the meaning of life?"}])
    assert fallback.usage is not None and fallback.usage.completion_tokens == 40


WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"},
                                     "unit": {"enum": ["celsius", "fahrenheit"]}},
    "required": ["city"]}}}
SEARCH_PARAMS = {"type": "object", "properties": {
    "query": {"type": "string"}, "top_k": {"type": "integer", "minimum": 1, "maximum": 20}},
    "required": ["query", "top_k"], "additionalProperties": False}
SEARCH = {"type": "function", "function": {"name": "search_docs", "parameters": SEARCH_PARAMS}}


def test_agent_tool_loop_ends_on_the_tool_result(start: object) -> None:
    live, c = start("agent-tools.yaml")  # type: ignore[operator]
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "What's the weather in New York?"}]
    first = c.chat.completions.create(model="gpt-4o", messages=messages,  # type: ignore[arg-type]
                                      tools=[WEATHER])  # type: ignore[list-item]
    msg = first.choices[0].message
    assert msg.content == "Let me check the weather."
    call = msg.tool_calls[0]  # type: ignore[index]
    assert json.loads(call.function.arguments) == {"city": "New York",  # type: ignore[union-attr]
                                                   "unit": "celsius"}
    messages += [msg.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "18C and cloudy"}]
    final = c.chat.completions.create(model="gpt-4o", messages=messages,  # type: ignore[arg-type]
                                      tools=[WEATHER])  # type: ignore[list-item]
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == "Here is what I found: 18C and cloudy"

    search = c.chat.completions.create(model="gpt-4o", messages=[
        {"role": "user", "content": "find the install guide"}], tools=[SEARCH])  # type: ignore[list-item]
    args = json.loads(search.choices[0].message.tool_calls[0].function.arguments)  # type: ignore[index,union-attr]
    validator.validate(args, SEARCH_PARAMS)
    assert [e.rule for e in live.context.journal.query()] == [
        "call-weather", "final-answer", "call-search"]


def test_chaos_scenarios(start: object) -> None:
    live, c = start("chaos.yaml")  # type: ignore[operator]
    retrying = c.with_options(max_retries=2)

    def scenario(name: str) -> dict[str, str]:
        return {"x-mock-scenario": name}

    assert ask(retrying, "hi", extra_headers=scenario("rate-limit")) == \
        "Answered after a rate limit."
    assert ask(retrying, "hi", extra_headers=scenario("flaky")) == \
        "Answered after two server errors."
    assert [e.status for e in live.context.journal.query()] == [429, 200, 500, 503, 200]
    with pytest.raises(openai.RateLimitError):
        ask(c, "hi", extra_headers=scenario("rate-limit"))
    for _ in range(3):
        with pytest.raises(openai.InternalServerError):
            ask(c, "hi", extra_headers=scenario("outage"))
    assert ask(c, "hi", extra_headers=scenario("outage"))  # recovered after times: 3
    with pytest.raises(openai.APIConnectionError), c.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
        extra_headers=scenario("drop"),
    ) as stream:
        list(stream)
    with c.chat.completions.stream(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
        extra_headers=scenario("truncate"),
    ) as s:
        assert s.get_final_completion().choices[0].finish_reason is None


def test_chaos_rate_limit_through_the_anthropic_sdk() -> None:
    import anthropic

    with run_server(test_context(config_path=str(CONFIGS / "chaos.yaml"))) as live, \
            anthropic.Anthropic(base_url=live.url, api_key="x", max_retries=2) as client:
        out = client.messages.create(
            model="claude-haiku-4-5", max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-mock-scenario": "rate-limit"})
        assert out.content[0].text == "Answered after a rate limit."  # type: ignore[union-attr]
        assert out.model == "claude-haiku-4-5-20251001"
        with pytest.raises(anthropic.RateLimitError) as info:
            client.with_options(max_retries=0).messages.create(
                model="claude-haiku-4-5", max_tokens=50,
                messages=[{"role": "user", "content": "hi"}],
                extra_headers={"x-mock-scenario": "rate-limit"})
        assert info.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_vllm_like_fills_the_limit_for_load_testers(start: object) -> None:
    _, client = start("vllm-like.yaml")  # type: ignore[operator]
    chunks = list(client.chat.completions.create(
        model="llama-3.1-8b", messages=[{"role": "user", "content": "hi"}],
        max_completion_tokens=20, stream=True, stream_options={"include_usage": True}))
    # aiperf --osl 20 gets exactly 20 tokens, with no ignore_eos in the request.
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens == 20
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 20
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
