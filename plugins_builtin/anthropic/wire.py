"""Anthropic Messages wire types: request Structs in, response and event Structs out.

Requests decode with the module-level decoders into Structs that ignore unknown fields (the
API grows new ones often); content blocks share one permissive ``Block`` Struct, checked by
``convert``. Responses are tagged Structs so ``type`` comes first, as on the real wire.
"""

from __future__ import annotations

from typing import Any

import msgspec

# -- requests ---------------------------------------------------------------------------


class Block(msgspec.Struct):
    """Any content block a request may carry; which fields matter depends on ``type``."""

    type: str
    text: str | None = None
    # tool_use (assistant history)
    id: str | None = None
    name: str | None = None
    input: Any = None
    # tool_result (user turn)
    tool_use_id: str | None = None
    content: str | list[Block] | None = None
    is_error: bool | None = None
    # thinking (assistant history)
    thinking: str | None = None
    signature: str | None = None
    # image / document
    source: Any = None


class MessageParam(msgspec.Struct):
    role: str
    content: str | list[Block]


class ToolParam(msgspec.Struct):
    name: str
    description: str = ""
    input_schema: dict[str, Any] = {}
    type: str | None = None


class ThinkingParam(msgspec.Struct):
    type: str
    budget_tokens: int | None = None
    display: str | None = None


class OutputFormat(msgspec.Struct):
    type: str
    schema: dict[str, Any] | None = None


class OutputConfig(msgspec.Struct):
    """``output_config``: structured outputs (``format``) and ``effort``."""

    format: OutputFormat | None = None
    effort: str | None = None


class MessagesRequest(msgspec.Struct):
    """``POST /v1/messages``; ``max_tokens`` is checked by hand to word the error like the
    API (it is optional for ``count_tokens``)."""

    model: str
    messages: list[MessageParam]
    max_tokens: int | None = None
    system: str | list[Block] | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    tools: list[ToolParam] | None = None
    tool_choice: dict[str, Any] | None = None
    thinking: ThinkingParam | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    metadata: dict[str, Any] | None = None
    output_config: OutputConfig | None = None
    #: The structured-outputs beta's spelling (``anthropic-beta: structured-outputs-...``).
    output_format: OutputFormat | None = None
    # vLLM's load-testing extensions (aiperf sends them with --extra-inputs); the real API
    # has no such fields.
    ignore_eos: bool = False
    min_tokens: int = 0


messages_decoder = msgspec.json.Decoder(MessagesRequest)
encoder = msgspec.json.Encoder()

# -- responses --------------------------------------------------------------------------


class TextBlock(msgspec.Struct, tag_field="type", tag="text"):
    text: str


class ToolUseBlock(msgspec.Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any


class ThinkingBlock(msgspec.Struct, tag_field="type", tag="thinking"):
    thinking: str
    signature: str


ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock


class CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class Usage(msgspec.Struct, kw_only=True):
    """The API's field order; ``output_tokens`` counts every token sent."""

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: CacheCreation = msgspec.field(default_factory=CacheCreation)
    output_tokens: int
    service_tier: str = "standard"


class Message(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    role: str
    model: str
    content: list[ContentBlock]
    stop_reason: str | None
    stop_sequence: str | None
    usage: Usage


class TokenCount(msgspec.Struct):
    input_tokens: int


# -- stream events ----------------------------------------------------------------------


class MessageStart(msgspec.Struct, tag_field="type", tag="message_start"):
    message: Message


class BlockStart(msgspec.Struct, tag_field="type", tag="content_block_start"):
    index: int
    content_block: TextBlock | ToolUseBlock | ThinkingBlock


class BlockStop(msgspec.Struct, tag_field="type", tag="content_block_stop"):
    index: int


class StopDelta(msgspec.Struct):
    stop_reason: str
    stop_sequence: str | None


class DeltaUsage(msgspec.Struct, kw_only=True):
    """Cumulative totals, as the API sends them in ``message_delta``."""

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int


class MessageDelta(msgspec.Struct, tag_field="type", tag="message_delta"):
    delta: StopDelta
    usage: DeltaUsage


# Small constant events, encoded once.
PING = b'{"type":"ping"}'
MESSAGE_STOP = b'{"type":"message_stop"}'

# -- models -----------------------------------------------------------------------------


class ModelInfo(msgspec.Struct, tag_field="type", tag="model"):
    id: str
    display_name: str
    created_at: str
    max_input_tokens: int
    max_tokens: int
    lifecycle: str = "active"
    deprecated_at: None = None
    retires_at: None = None


class ModelPage(msgspec.Struct):
    data: list[ModelInfo]
    has_more: bool
    first_id: str | None
    last_id: str | None
