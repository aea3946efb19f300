"""Claude on Bedrock bills a conversation as Anthropic's API does: the same ``inputTokens``
(boto3's Converse) as ``input_tokens`` (the anthropic SDK's Messages and count_tokens) for
the same system prompt, turns, tools, tool choice, tool use and results, and images. Other
Bedrock families keep the plain count of the text. On the embedded default config."""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from mockllm.testing import LiveServer, run_server, test_context
from plugins_builtin.anthropic.usage import PER_TURN, REPLY_PRIMING, TOOLS_FORCED
from tests.bedrock_helpers import SCHEMA, WEATHER, client

BEDROCK_CLAUDE = "anthropic.claude-haiku-4-5-20251001-v1:0"
CLAUDE = "claude-haiku-4-5"  # the same model on Anthropic's API (cl100k_base stands in)
NOVA = "amazon.nova-2-lite-v1:0"


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


PNG = _png(800, 600)  # 480,000 px / 750 -> 640 tokens


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with run_server(test_context()) as live:
        yield live


@pytest.fixture(scope="module")
def brt(server: LiveServer) -> Iterator[Any]:
    c = client(server.url)
    yield c
    c.close()


@pytest.fixture(scope="module")
def ant(server: LiveServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0)


def both(ant: anthropic.Anthropic, brt: Any, anthropic_body: dict[str, Any],
         converse_body: dict[str, Any]) -> tuple[int, int]:
    """Anthropic's input_tokens (usage and count_tokens, which must agree) and Bedrock's
    inputTokens for the same conversation in each API's shape."""
    msg = ant.messages.create(model=CLAUDE, max_tokens=64, **anthropic_body)
    counted = ant.messages.count_tokens(model=CLAUDE, **anthropic_body)
    assert counted.input_tokens == msg.usage.input_tokens
    out = brt.converse(modelId=BEDROCK_CLAUDE, inferenceConfig={"maxTokens": 64},
                       **converse_body)
    return msg.usage.input_tokens, out["usage"]["inputTokens"]


def test_a_single_message_carries_the_template(ant: anthropic.Anthropic, brt: Any) -> None:
    a, b = both(ant, brt, {"messages": [{"role": "user", "content": "Hi"}]},
                {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]})
    assert a == b == 1 + PER_TURN + REPLY_PRIMING  # "Hi" is one cl100k_base token


def test_system_tools_forced_choice_and_a_tool_round(ant: anthropic.Anthropic,
                                                     brt: Any) -> None:
    tool = {"name": "get_weather", "description": WEATHER["toolSpec"]["description"],
            "input_schema": SCHEMA}
    args = {"city": "Paris", "unit": "celsius"}
    a, b = both(ant, brt, {
        "system": "You are terse.",
        "tools": [tool], "tool_choice": {"type": "any"},
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": args}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "18C, sunny"},
                {"type": "text", "text": "And tomorrow?"}]},
        ]}, {
        "system": [{"text": "You are terse."}],
        "toolConfig": {"tools": [WEATHER], "toolChoice": {"any": {}}},
        "messages": [
            {"role": "user", "content": [{"text": "Weather in Paris?"}]},
            {"role": "assistant", "content": [
                {"text": "Let me look."},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": args}}]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "18C, sunny"}]}},
                {"text": "And tomorrow?"}]},
        ]})
    assert a == b
    assert b > TOOLS_FORCED + 4 * PER_TURN + REPLY_PRIMING  # the overheads are all there


def test_an_image_costs_width_times_height_over_750(ant: anthropic.Anthropic,
                                                    brt: Any) -> None:
    data = base64.b64encode(PNG).decode()
    a, b = both(ant, brt, {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": data}},
        {"type": "text", "text": "Hi"}]}]},
        {"messages": [{"role": "user", "content": [
            {"image": {"format": "png", "source": {"bytes": PNG}}}, {"text": "Hi"}]}]})
    assert a == b == 640 + 1 + PER_TURN + REPLY_PRIMING


def test_other_families_keep_the_plain_text_count(brt: Any) -> None:
    out = brt.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert out["usage"]["inputTokens"] == 1
