"""The default registry: today's models (the SDKs' own lists), their limits, and the 400s a
real model gives for a request it refuses, through the official SDKs."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from mockllm.config import default_config_text, parse
from mockllm.testing import LiveServer, run_server, test_context

TOOL: dict[str, Any] = {"name": "get_weather", "description": "Weather for a city",
                        "input_schema": {"type": "object",
                                         "properties": {"city": {"type": "string"}}}}
HI: list[Any] = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with run_server(test_context()) as server:
        yield server


@pytest.fixture
def claude(live: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as c:
        yield c


@pytest.fixture
def oai(live: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=live.openai_url, api_key="k", max_retries=0) as c:
        yield c


def _models() -> list[Any]:
    return parse(default_config_text(), "<default>").models


def _literals(tp: Any) -> set[str]:
    out: set[str] = set()
    for arg in typing.get_args(tp):
        if isinstance(arg, str):
            out.add(arg)
        else:
            out |= _literals(arg)
    return out


def test_every_claude_model_is_one_the_sdk_knows_and_none_is_deprecated() -> None:
    from anthropic.resources.messages.messages import DEPRECATED_MODELS
    from anthropic.types import Model

    known = _literals(Model)
    claude = [m for m in _models() if m.provider == "anthropic"]
    assert claude
    for m in claude:
        assert m.id in known, m.id
        assert m.id not in DEPRECATED_MODELS and not set(m.aliases) & set(DEPRECATED_MODELS)


def test_every_openai_chat_model_is_one_the_sdk_knows() -> None:
    from openai.types import ChatModel

    known = _literals(ChatModel)
    chat = [m for m in _models() if m.provider == "openai"
            and not m.id.startswith(("text-embedding", "gpt-3.5-turbo-instruct"))]
    assert chat
    assert [m.id for m in chat if m.id not in known] == []


@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-opus-5-5", "claude-opus-4-8",
                                   "claude-haiku-5-5"])
def test_current_claude_models_accept_128k_max_tokens(claude: anthropic.Anthropic,
                                                      model: str) -> None:
    # litellm sends the model's documented maximum as max_tokens.
    # (An explicit timeout: the SDK refuses a non-streamed 128k request without one.)
    out = claude.messages.create(model=model, max_tokens=128000, messages=HI, timeout=60)
    assert out.stop_reason == "end_turn"
    with pytest.raises(anthropic.BadRequestError, match="128000"):
        claude.messages.create(model=model, max_tokens=128001, messages=HI, timeout=60)


@pytest.mark.parametrize("model", ["claude-opus-4-8", "claude-opus-5-5", "claude-sonnet-5-5",
                                   "claude-haiku-5-5", "claude-opus-5", "claude-fable-5-1"])
def test_claude_4_7_and_later_refuse_manual_thinking(claude: anthropic.Anthropic,
                                                     model: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(model=model, max_tokens=4096, messages=HI,
                               thinking={"type": "enabled", "budget_tokens": 1024})
    body: Any = err.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith(
        '"thinking.type.enabled" is not supported for this model.')
    adaptive = claude.messages.create(model=model, max_tokens=4096, messages=HI,
                                      thinking={"type": "adaptive"})
    assert adaptive.stop_reason == "end_turn"


def test_haiku_4_5_still_takes_a_thinking_budget(claude: anthropic.Anthropic) -> None:
    out = claude.messages.create(model="claude-haiku-4-5", max_tokens=4096, messages=HI,
                                 thinking={"type": "enabled", "budget_tokens": 1024})
    assert out.content[0].type == "thinking"


def test_sonnet_5_5_points_disabled_thinking_to_between_tools(
        claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="between_tools"):
        claude.messages.create(model="claude-sonnet-5-5", max_tokens=4096, messages=HI,
                               thinking={"type": "disabled"})
    ok = claude.messages.create(model="claude-sonnet-5-5", max_tokens=4096, messages=HI,
                                thinking={"type": "between_tools"})  # type: ignore[arg-type,typeddict-item,misc]
    assert ok.stop_reason in ("end_turn", "max_tokens")


@pytest.mark.parametrize("effort", ["xhigh", "max"])
def test_sonnet_5_5_between_tools_only_up_to_high_effort(claude: anthropic.Anthropic,
                                                         effort: str) -> None:
    kw: dict[str, Any] = {"thinking": {"type": "between_tools"}}
    with pytest.raises(anthropic.BadRequestError, match="between_tools"):
        claude.messages.create(model="claude-sonnet-5-5", max_tokens=4096, messages=HI,
                               extra_body={"output_config": {"effort": effort}}, **kw)
    ok = claude.messages.create(model="claude-sonnet-5-5", max_tokens=4096, messages=HI,
                                extra_body={"output_config": {"effort": "high"}}, **kw)
    assert ok.stop_reason == "end_turn"


def test_opus_5_5_thinking_cannot_be_disabled(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match='"thinking.type.disabled" is not '
                                                        "supported for this model"):
        claude.messages.create(model="claude-opus-5-5", max_tokens=4096, messages=HI,
                               thinking={"type": "disabled"})


# Fable 5.1 (and Mythos 5.1, its twin): Opus 5.5's page says its forced-tool error "also
# applies on Claude Fable 5.1".
@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-opus-5-5", "claude-fable-5-1",
                                   "claude-mythos-5-1"])
@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_forced_tool_use_is_refused_where_the_model_refuses_it(
        claude: anthropic.Anthropic, model: str, choice: Any) -> None:
    with pytest.raises(anthropic.BadRequestError, match="tool_choice"):
        claude.messages.create(model=model, max_tokens=4096, messages=HI, tools=[TOOL],
                               tool_choice=choice)
    auto = claude.messages.create(model=model, max_tokens=4096, messages=HI, tools=[TOOL],
                                  tool_choice={"type": "auto"})
    assert auto.stop_reason in ("end_turn", "tool_use")


@pytest.mark.parametrize("model", ["claude-haiku-5-5", "claude-opus-5"])
def test_forced_tool_use_works_where_the_model_allows_it(claude: anthropic.Anthropic,
                                                         model: str) -> None:
    # (Opus 5: forced tool use is one of Opus 5.5's breaking changes "for code running on
    # Claude Opus 5")
    out = claude.messages.create(model=model, max_tokens=200, messages=HI,
                                 tools=[TOOL], tool_choice={"type": "any"})
    assert out.stop_reason == "tool_use"


def test_opus_5_thinking_can_be_disabled(claude: anthropic.Anthropic) -> None:
    out = claude.messages.create(model="claude-opus-5", max_tokens=4096, messages=HI,
                                 thinking={"type": "disabled"})
    assert [b.type for b in out.content] == ["text"]


def test_count_tokens_refuses_what_messages_refuses(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="thinking.type.enabled"):
        claude.messages.count_tokens(model="claude-opus-4-8", messages=HI,
                                     thinking={"type": "enabled", "budget_tokens": 1024})


def test_gpt_6_2_sol_refuses_reasoning_effort_none(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        oai.chat.completions.create(model="gpt-6.2-sol", messages=HI, reasoning_effort="none")
    body: Any = err.value.body
    assert body["code"] == "unsupported_value" and body["param"] == "reasoning_effort"
    assert body["message"].startswith("Unsupported value: 'reasoning_effort' does not "
                                      "support 'none' with this model.")
    with pytest.raises(openai.BadRequestError, match="reasoning.effort"):
        oai.responses.create(model="gpt-6.2-sol", input="Hi", reasoning={"effort": "none"})
    ok = oai.chat.completions.create(model="gpt-6.2-sol", messages=HI, reasoning_effort="high")
    assert ok.usage is not None and ok.usage.completion_tokens_details is not None
    assert ok.usage.completion_tokens_details.reasoning_tokens > 0


def test_a_custom_model_without_capabilities_refuses_nothing(tmp_path: Any) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("models: [{id: my-claude, provider: anthropic, max_output_tokens: 4096}]\n")
    with run_server(test_context(config_path=str(path))) as live, \
            anthropic.Anthropic(base_url=live.url, api_key="k", max_retries=0) as c:
        out = c.messages.create(model="my-claude", max_tokens=2048, messages=HI,
                                thinking={"type": "enabled", "budget_tokens": 1024})
        assert out.content[0].type == "thinking"


# Ids the SDKs list that the registry gained (docs/models.md gives each figure's source).
NEW_LIMITS = [("claude-fable-5", 128000), ("claude-mythos-5", 128000),
              ("claude-opus-5", 128000), ("claude-fable-5-1", 128000),
              ("claude-mythos-5-1", 128000), ("claude-mythos-5-2", 128000),
              ("claude-opus-4-7", 128000), ("claude-opus-4-6", 128000),
              ("claude-sonnet-4-6", 64000)]
NEW_OPENAI = [("gpt-5", 128000), ("gpt-5-mini-2025-08-07", 128000), ("gpt-5-nano", 128000),
              ("gpt-4.1-mini", 32768), ("gpt-4.1-nano-2025-04-14", 32768), ("o3", 100000),
              ("o3-mini", 100000), ("o1-2024-12-17", 100000), ("gpt-4-turbo", 4096),
              ("gpt-4", 8192), ("gpt-3.5-turbo", 4096),
              ("gpt-6.2-astra", 128000), ("gpt-6-astra", 128000), ("gpt-6.1-terra", 128000),
              ("gpt-6-sol", 128000), ("gpt-6-luna", 128000), ("gpt-5.6-sol", 128000),
              ("gpt-5.6", 128000), ("gpt-5.6-terra", 128000), ("gpt-5.6-luna", 128000),
              ("gpt-5.4", 128000), ("gpt-5.2-2025-12-11", 128000), ("gpt-5.1", 128000)]


@pytest.mark.parametrize("model, limit", NEW_LIMITS)
def test_added_claude_models_and_their_output_limits(claude: anthropic.Anthropic, model: str,
                                                     limit: int) -> None:
    assert claude.messages.create(model=model, max_tokens=limit, messages=HI,
                                  timeout=60).stop_reason == "end_turn"
    with pytest.raises(anthropic.BadRequestError, match=str(limit)):
        claude.messages.create(model=model, max_tokens=limit + 1, messages=HI, timeout=60)


@pytest.mark.parametrize("model", ["claude-fable-5", "claude-fable-5-1", "claude-mythos-5-1",
                                   "claude-mythos-5-2"])
def test_fable_and_mythos_think_only_adaptively(claude: anthropic.Anthropic,
                                                model: str) -> None:
    for kind in ("disabled", "enabled"):
        thinking: Any = {"type": kind, **({"budget_tokens": 1024} if kind == "enabled" else {})}
        with pytest.raises(anthropic.BadRequestError, match=f"thinking.type.{kind}"):
            claude.messages.create(model=model, max_tokens=4096, messages=HI,
                                   thinking=thinking)


@pytest.mark.parametrize("model, limit", NEW_OPENAI)
def test_added_openai_models_and_their_output_limits(oai: openai.OpenAI, model: str,
                                                     limit: int) -> None:
    assert oai.chat.completions.create(model=model, messages=HI,
                                       max_completion_tokens=limit).choices
    with pytest.raises(openai.BadRequestError, match=str(limit)):
        oai.chat.completions.create(model=model, messages=HI, max_completion_tokens=limit + 1)


@pytest.mark.parametrize("model", ["gpt-3.5-turbo", "gpt-4", "o3-mini"])
def test_models_without_vision_refuse_images(oai: openai.OpenAI, model: str) -> None:
    content: Any = [{"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
    with pytest.raises(openai.BadRequestError, match="image_url is only supported by certain"):
        oai.chat.completions.create(model=model, messages=[{"role": "user",
                                                            "content": content}])


def test_o_series_reasons_by_default_and_gpt_5_refuses_effort_none(oai: openai.OpenAI) -> None:
    out = oai.chat.completions.create(model="o3", messages=HI)
    assert out.usage is not None and out.usage.completion_tokens_details is not None
    assert out.usage.completion_tokens_details.reasoning_tokens > 0
    with pytest.raises(openai.BadRequestError, match="'minimal', 'low', 'medium', and 'high'"):
        oai.chat.completions.create(model="gpt-5", messages=HI, reasoning_effort="none")



@pytest.mark.parametrize("model, refused, accepted", [
    ("gpt-6-astra", "none", "max"),     # OpenAI's models page: low..max
    ("gpt-6.2-astra", "none", "max"),
    ("gpt-6-sol", "minimal", "none"),   # none..max
    ("gpt-5.6-terra", "minimal", "max"),
    ("gpt-5.4", "max", "xhigh"),        # none..xhigh
    ("gpt-5.2", "max", "none"),
    ("gpt-5.1", "xhigh", "none"),       # none, low, medium, high
])
def test_added_openai_models_take_their_reasoning_efforts(oai: openai.OpenAI, model: str,
                                                          refused: str, accepted: str) -> None:
    with pytest.raises(openai.BadRequestError, match=f"does not support '{refused}'"):
        oai.chat.completions.create(model=model, messages=HI,
                                    reasoning_effort=refused)  # type: ignore[arg-type]
    assert oai.chat.completions.create(model=model, messages=HI,
                                       reasoning_effort=accepted).choices  # type: ignore[arg-type]


@pytest.mark.parametrize("model, reasons", [
    ("gpt-6.2-sol", True), ("gpt-6-astra", True),  # effort none is refused: it always reasons
    ("gpt-6-sol", True), ("gpt-6-luna", True),     # default medium
    ("gpt-5.4", False),  # "none (default)" (replicate's GPT-5.4 page)
])
def test_which_new_openai_models_reason_by_default(oai: openai.OpenAI, model: str,
                                                   reasons: bool) -> None:
    out = oai.chat.completions.create(model=model, messages=HI)
    assert out.usage is not None and out.usage.completion_tokens_details is not None
    assert (out.usage.completion_tokens_details.reasoning_tokens > 0) is reasons
