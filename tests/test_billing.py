"""Prompt tokens as the providers bill them, checked against the providers' published counts.

The OpenAI figures are the API's own ``prompt_tokens`` printed in OpenAI's cookbook ("How to
count tokens with tiktoken"): 124 (GPT-4o family) and 129 (gpt-4, gpt-3.5-turbo) for its
six-message example, 101 and 105 for its weather tool example.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.openai.usage import image_tokens

CONFIG = """
models:
  - {id: gpt-4o, provider: openai, tokenizer: o200k_base}
  - {id: gpt-4o-mini, provider: openai, tokenizer: o200k_base}
  - {id: gpt-4, provider: openai, tokenizer: cl100k_base}
  - {id: gpt-3.5-turbo, provider: openai, tokenizer: cl100k_base}
  - {id: claude-x, provider: anthropic, tokenizer: cl100k_base}
defaults: {respond: {text: ok}}
"""

COOKBOOK_MESSAGES = [
    {"role": "system", "content": "You are a helpful, pattern-following assistant that "
     "translates corporate jargon into plain English."},
    {"role": "system", "name": "example_user",
     "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant",
     "content": "Things working well together will increase revenue."},
    {"role": "system", "name": "example_user", "content": "Let's circle back when we have "
     "more bandwidth to touch base on opportunities for increased leverage."},
    {"role": "system", "name": "example_assistant",
     "content": "Let's talk later when we're less busy about how to do better."},
    {"role": "user", "content": "This late pivot means we don't have time to boil the ocean "
     "for the client deliverable."},
]

WEATHER_TOOLS: list[Any] = [{"type": "function", "function": {
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string",
                     "description": "The city and state, e.g. San Francisco, CA"},
        "unit": {"type": "string", "description": "The unit of temperature to return",
                 "enum": ["celsius", "fahrenheit"]}},
        "required": ["location"]}}}]
WEATHER_MESSAGES = [
    {"role": "system",
     "content": "You are a helpful assistant that can answer to questions about the weather."},
    {"role": "user", "content": "What's the weather like in San Francisco?"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    path = tmp_path_factory.mktemp("billing") / "mockllm.yaml"
    path.write_text(CONFIG)
    with run_server(test_context(config_path=str(path))) as live:
        yield live


@pytest.fixture
def oai(server: LiveServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as c:
        yield c


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4", 129), ("gpt-3.5-turbo", 129)])
def test_chat_template_matches_the_cookbooks_api_counts(oai: openai.OpenAI, model: str,
                                                         expected: int) -> None:
    r = oai.chat.completions.create(model=model, messages=COOKBOOK_MESSAGES)  # type: ignore[arg-type]
    assert r.usage is not None and r.usage.prompt_tokens == expected


@pytest.mark.parametrize(("model", "expected"), [
    ("gpt-4o", 101), ("gpt-4o-mini", 101), ("gpt-4", 105), ("gpt-3.5-turbo", 105)])
def test_tool_definitions_match_the_cookbooks_api_counts(oai: openai.OpenAI, model: str,
                                                          expected: int) -> None:
    r = oai.chat.completions.create(model=model, messages=WEATHER_MESSAGES,  # type: ignore[arg-type]
                                    tools=WEATHER_TOOLS)
    assert r.usage is not None and r.usage.prompt_tokens == expected


def test_one_word_has_the_templates_overhead(oai: openai.OpenAI) -> None:
    r = oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert r.usage is not None and r.usage.prompt_tokens == 8  # 3 + "user" + "Hi" + 3


def test_streamed_usage_and_the_journal_agree(oai: openai.OpenAI, server: LiveServer) -> None:
    stream = oai.chat.completions.create(model="gpt-4o", messages=COOKBOOK_MESSAGES,  # type: ignore[arg-type]
                                         stream=True, stream_options={"include_usage": True})
    usage = [c.usage for c in stream if c.usage is not None]
    assert usage[-1].prompt_tokens == 124
    entry = server.context.journal.query()[-1]
    assert entry.prompt_tokens == 124


def _png(width: int, height: int) -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(("size", "detail", "tokens"), [
    ((1024, 1024), "high", 765),   # OpenAI's worked examples: 768x768 -> 4 tiles
    ((2048, 4096), "high", 1105),  # 1024x2048 -> 768x1536 -> 6 tiles
    ((4096, 8192), "low", 85),
    ((100, 100), "auto", 255),
])
def test_openai_image_tiles(size: tuple[int, int], detail: str, tokens: int) -> None:
    assert image_tokens(size[0], size[1], detail) == tokens


def test_an_inline_image_is_billed_by_its_tiles(oai: openai.OpenAI) -> None:
    def ask(content: Any) -> int:
        r = oai.chat.completions.create(model="gpt-4o",
                                        messages=[{"role": "user", "content": content}])
        assert r.usage is not None
        return r.usage.prompt_tokens
    text_only = ask([{"type": "text", "text": "What is this?"}])
    url = "data:image/png;base64," + _png(2048, 4096)
    with_image = ask([{"type": "text", "text": "What is this?"},
                      {"type": "image_url", "image_url": {"url": url, "detail": "high"}}])
    assert with_image - text_only == 1105


# -- Anthropic --------------------------------------------------------------------------

@pytest.fixture
def claude(server: LiveServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0) as c:
        yield c


def test_anthropic_count_tokens_equals_usage(claude: anthropic.Anthropic) -> None:
    kw: dict[str, Any] = dict(model="claude-x", system="Be brief.", messages=[
        {"role": "user", "content": "Hi"}], tools=[{
            "name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
    counted = claude.messages.count_tokens(**kw).input_tokens
    used = claude.messages.create(max_tokens=5, **kw).usage.input_tokens
    assert counted == used
    bare = claude.messages.count_tokens(model="claude-x", messages=[
        {"role": "user", "content": "Hi"}]).input_tokens
    assert counted > bare + 300  # the tool-use system prompt Anthropic documents


def test_anthropic_image_is_width_times_height_over_750(claude: anthropic.Anthropic) -> None:
    def count(content: Any) -> int:
        return claude.messages.count_tokens(
            model="claude-x", messages=[{"role": "user", "content": content}]).input_tokens
    text = count([{"type": "text", "text": "What is this?"}])
    image = count([{"type": "text", "text": "What is this?"}, {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": _png(1000, 750)}}])
    assert image - text == 1000


def test_a_remote_image_is_never_fetched(http: httpx.Client, server: LiveServer) -> None:
    r = http.post(server.openai_url + "/chat/completions", json={
        "model": "gpt-4o", "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png"}}]}]})
    assert r.status_code == 200
    assert r.json()["usage"]["prompt_tokens"] == 3 + 1 + 765 + 3
