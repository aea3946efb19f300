"""Anthropic on the embedded default config (no rules): a natural stop, thinking when asked
and structured outputs, through the anthropic SDK's create, stream and parse
(docs/config.md, "Model behaviour")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pydantic
import pytest

from mockllm.testing import LiveServer, run_server, test_context

MODEL = "claude-haiku-4-5"
ASK: list[Any] = [{"role": "user", "content": "Hi"}]


class Person(pydantic.BaseModel):
    name: str
    age: int
    emails: list[str]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture
def claude(server: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as c:
        yield c


def test_a_large_max_tokens_still_ends_the_turn(claude: anthropic.Anthropic) -> None:
    # litellm sends max_tokens 64000 for claude-haiku-4-5: "Hi" must not get 64,000 tokens.
    out = claude.messages.create(model=MODEL, max_tokens=64000, messages=ASK, timeout=60)
    assert out.stop_reason == "end_turn" and 12 <= out.usage.output_tokens <= 400
    cut = claude.messages.create(model=MODEL, max_tokens=5, messages=ASK)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 5


def test_enabled_thinking_respects_its_budget(claude: anthropic.Anthropic) -> None:
    out = claude.messages.create(model=MODEL, max_tokens=8000, messages=ASK,
                                 thinking={"type": "enabled", "budget_tokens": 1024})
    assert [b.type for b in out.content] == ["thinking", "text"]
    thinking, text = out.content
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature
    assert text.type == "text" and text.text
    assert out.stop_reason == "end_turn" and out.usage.output_tokens > 50
    # Thinking never exceeds its budget, and counts towards max_tokens.
    tight = claude.messages.create(model=MODEL, max_tokens=1100, messages=ASK,
                                   thinking={"type": "enabled", "budget_tokens": 1024})
    assert tight.usage.output_tokens <= 1100
    assert tight.content[0].type == "thinking"


def test_adaptive_thinking_streams_thinking_and_signature(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=MODEL, max_tokens=4000, messages=ASK,
                                thinking={"type": "adaptive"}) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_message()
    assert "thinking" in kinds and "signature" in kinds and "text" in kinds
    assert kinds.index("signature") < kinds.index("text")
    block = final.content[0]
    assert block.type == "thinking" and block.thinking and block.signature
    assert final.usage.output_tokens > 0 and final.stop_reason == "end_turn"


def test_thinking_effort_and_display(claude: anthropic.Anthropic) -> None:
    low = claude.messages.create(model=MODEL, max_tokens=16000, messages=ASK,
                                 thinking={"type": "adaptive"}, output_config={"effort": "low"})
    high = claude.messages.create(model=MODEL, max_tokens=16000, messages=ASK,
                                  thinking={"type": "adaptive"}, output_config={"effort": "max"})
    assert low.usage.output_tokens < high.usage.output_tokens
    omitted = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK,
                                     thinking={"type": "adaptive", "display": "omitted"})
    block = omitted.content[0]
    assert block.type == "thinking" and block.thinking == "" and block.signature
    between = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK,
                                     thinking={"type": "between_tools"})
    assert between.content[0].type == "thinking"


def test_no_thinking_unless_asked(claude: anthropic.Anthropic) -> None:
    out = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK)
    assert [b.type for b in out.content] == ["text"]
    off = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK,
                                 thinking={"type": "disabled"})
    assert [b.type for b in off.content] == ["text"]


def test_structured_outputs_parse_and_stream(claude: anthropic.Anthropic) -> None:
    out = claude.messages.parse(model=MODEL, max_tokens=4000, messages=ASK,
                                output_format=Person)
    assert isinstance(out.parsed_output, Person)
    with claude.messages.stream(model=MODEL, max_tokens=4000, messages=ASK,
                                output_format=Person) as stream:
        final = stream.get_final_message()
    assert isinstance(final.parsed_output, Person)
    schema = Person.model_json_schema()
    raw = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK,
                                 output_config={"format": {"type": "json_schema",
                                                           "schema": schema}})
    assert raw.content[0].type == "text"
    Person.model_validate_json(raw.content[0].text)
    # The beta's top-level output_format says the same.
    beta = claude.messages.create(model=MODEL, max_tokens=4000, messages=ASK,
                                  extra_body={"output_format": {"type": "json_schema",
                                                                "schema": schema}})
    assert beta.content[0].type == "text"
    Person.model_validate_json(beta.content[0].text)


def test_a_bad_output_format_is_a_400(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="json_schema"):
        claude.messages.create(model=MODEL, max_tokens=100, messages=ASK,
                               output_config={"format": {"type": "yaml"}})  # type: ignore[typeddict-item]
