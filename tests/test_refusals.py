"""Requests a model refuses, through the SDKs: an image to a model without vision, a
structured-output format to one without it, a forced tool to one that refuses forcing.
Each gets its provider's 400 (the SDK's BadRequestError) with the real error's wording,
where it is known (docs/models.md says which wordings are quoted and which are mockllm's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel

from mockllm.testing import LiveServer, run_config

CONFIG = """
models:
  - {id: gpt-4o, provider: openai, tokenizer: o200k_base}
  - {id: plain-gpt, provider: openai, tokenizer: o200k_base,
     capabilities: {vision: false, structured_output: false, forced_tools: false}}
  - {id: claude-haiku-4-5, provider: anthropic}
  - {id: plain-claude, provider: anthropic,
     capabilities: {vision: false, structured_output: false, forced_tools: false}}
"""
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
         "AAAABJRU5ErkJggg==")
TOOL: Any = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
RTOOL: Any = {"type": "function", "name": "get_weather", "parameters": TOOL["function"][
    "parameters"]}
SCHEMA: Any = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"],
               "additionalProperties": False}
HI = [{"role": "user", "content": "hi"}]


class Num(BaseModel):
    n: int


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_config(CONFIG) as live:
        yield live


@pytest.fixture
def oai(server: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as c:
        yield c


@pytest.fixture
def claude(server: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as c:
        yield c


def _openai_error(exc: pytest.ExceptionInfo[openai.BadRequestError]) -> dict[str, Any]:
    assert exc.value.status_code == 400
    body = exc.value.body
    assert isinstance(body, dict)
    assert body["type"] == "invalid_request_error"
    return body


# -- OpenAI chat ---------------------------------------------------------------------------


def test_chat_image_to_a_model_without_vision(oai: openai.OpenAI) -> None:
    content: Any = [{"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.create(model="plain-gpt", messages=[
            {"role": "user", "content": content}])
    # OpenAI's own error (as GPT-3.5 answers it), param and code included
    body = _openai_error(exc)
    assert body["message"] == ("Invalid content type. image_url is only supported by certain "
                               "models.")
    assert body["param"] == "messages.[0].content.[1].type" and body["code"] is None
    # the same request to a vision model is answered
    assert oai.chat.completions.create(model="gpt-4o", messages=[
        {"role": "user", "content": content}]).choices[0].message.content


def test_chat_structured_output_to_a_model_without_it(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.parse(model="plain-gpt", messages=HI,  # type: ignore[arg-type]
                                   response_format=Num)
    body = _openai_error(exc)
    assert body["message"].startswith("Invalid parameter: 'response_format' of type "
                                      "'json_schema' is not supported with this model.")
    assert (body["param"], body["code"]) == ("response_format", "unsupported_parameter")
    assert oai.chat.completions.parse(model="gpt-4o", messages=HI,  # type: ignore[arg-type]
                                      response_format=Num).choices[0].message.parsed


@pytest.mark.parametrize("choice", ["required", {"type": "function",
                                                 "function": {"name": "get_weather"}}])
def test_chat_forced_tool_to_a_model_that_refuses_it(oai: openai.OpenAI, choice: Any) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        oai.chat.completions.create(model="plain-gpt", messages=HI,  # type: ignore[arg-type]
                                    tools=[TOOL], tool_choice=choice)
    body = _openai_error(exc)
    assert body["message"].startswith("Unsupported value: 'tool_choice' does not support "
                                      "forcing a tool with this model.")
    assert (body["param"], body["code"]) == ("tool_choice", "unsupported_value")
    # auto is accepted
    assert oai.chat.completions.create(model="plain-gpt", messages=HI,  # type: ignore[arg-type]
                                       tools=[TOOL], tool_choice="auto").choices


# -- OpenAI Responses ------------------------------------------------------------------------


def test_responses_image_to_a_model_without_vision(oai: openai.OpenAI) -> None:
    content: Any = [{"type": "input_text", "text": "what is this?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PIXEL}"}]
    with pytest.raises(openai.BadRequestError) as exc:
        oai.responses.create(model="plain-gpt", input=[{"role": "user", "content": content}])
    body = _openai_error(exc)
    assert body["message"] == ("Invalid content type. input_image is only supported by "
                               "certain models.")
    assert body["param"] == "input.[0].content.[1].type"
    assert oai.responses.create(model="gpt-4o", input=[
        {"role": "user", "content": content}]).output_text


def test_responses_text_format_to_a_model_without_it(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        oai.responses.parse(model="plain-gpt", input="a number", text_format=Num)
    body = _openai_error(exc)
    assert body["message"].startswith("Invalid parameter: 'text.format' of type "
                                      "'json_schema' is not supported with this model.")
    assert (body["param"], body["code"]) == ("text.format", "unsupported_parameter")
    assert oai.responses.parse(model="gpt-4o", input="a number",
                               text_format=Num).output_parsed is not None


@pytest.mark.parametrize("choice", ["required", {"type": "function", "name": "get_weather"}])
def test_responses_forced_tool_to_a_model_that_refuses_it(oai: openai.OpenAI,
                                                          choice: Any) -> None:
    with pytest.raises(openai.BadRequestError) as exc:
        oai.responses.create(model="plain-gpt", input="weather?", tools=[RTOOL],
                             tool_choice=choice)
    body = _openai_error(exc)
    assert body["message"].startswith("Unsupported value: 'tool_choice' does not support "
                                      "forcing a tool with this model.")
    assert oai.responses.create(model="gpt-4o", input="weather?", tools=[RTOOL],
                                tool_choice=choice).output[0].type == "function_call"


# -- Anthropic -------------------------------------------------------------------------------


def _anthropic_message(exc: pytest.ExceptionInfo[anthropic.BadRequestError]) -> str:
    assert exc.value.status_code == 400
    body = exc.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    return str(body["error"]["message"])


def test_anthropic_image_to_a_model_without_vision(claude: anthropic.Anthropic) -> None:
    content: Any = [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                 "data": PIXEL}},
                    {"type": "text", "text": "what is this?"}]
    with pytest.raises(anthropic.BadRequestError) as exc:
        claude.messages.create(model="plain-claude", max_tokens=64,
                               messages=[{"role": "user", "content": content}])
    assert _anthropic_message(exc) == "messages.0.content: image input is not supported by " \
                                      "plain-claude"
    assert claude.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[
        {"role": "user", "content": content}]).content


def test_anthropic_structured_output_to_a_model_without_it(claude: anthropic.Anthropic) -> None:
    fmt: Any = {"format": {"type": "json_schema", "schema": SCHEMA}}
    with pytest.raises(anthropic.BadRequestError) as exc:
        claude.messages.create(model="plain-claude", max_tokens=64, messages=HI,  # type: ignore[arg-type]
                               output_config=fmt)
    assert _anthropic_message(exc) == ("output_config.format: structured outputs are not "
                                       "supported by plain-claude")


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_anthropic_forced_tool_to_a_model_that_refuses_it(claude: anthropic.Anthropic,
                                                          choice: Any) -> None:
    # (Sonnet 5.5 and Opus 5.5 of the default registry: tests/test_model_registry.py.)
    tool: Any = {"name": "get_weather", "input_schema": RTOOL["parameters"]}
    with pytest.raises(anthropic.BadRequestError) as exc:
        claude.messages.create(model="plain-claude", max_tokens=64, messages=HI,  # type: ignore[arg-type]
                               tools=[tool], tool_choice=choice)
    assert _anthropic_message(exc).startswith(
        f'"tool_choice.type.{choice["type"]}" is not supported for this model.')
    assert claude.messages.create(model="plain-claude", max_tokens=64, messages=HI,  # type: ignore[arg-type]
                                  tools=[tool], tool_choice={"type": "auto"}).content
