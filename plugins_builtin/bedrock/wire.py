"""Bedrock Runtime Converse wire types: camelCase request and response Structs.

Requests decode into Structs that ignore unknown members (the service model grows often:
guardrails, prompt variables, citations); the unions (``ContentBlock``, ``ToolChoice``,
``Tool``) are Structs of optional members, one of which ``convert`` checks is set, as the
service does. Responses leave out what the API leaves out (``UNSET``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class _Camel(msgspec.Struct, rename="camel"):
    """Converse's JSON names are the Smithy members in lowerCamelCase."""


# -- requests ---------------------------------------------------------------------------


class ToolUseBlock(_Camel):
    tool_use_id: str | None = None
    name: str | None = None
    input: Any = None


class ToolResultContent(_Camel):
    text: str | None = None
    json: Any = None
    image: dict[str, Any] | None = None
    document: dict[str, Any] | None = None


class ToolResultBlock(_Camel):
    tool_use_id: str | None = None
    content: list[ToolResultContent] | None = None
    status: str | None = None


class ReasoningText(_Camel):
    text: str = ""
    signature: str | None = None


class ReasoningContent(_Camel):
    reasoning_text: ReasoningText | None = None
    redacted_content: str | None = None


#: ContentBlock members that carry no text the model reads as text here.
OPAQUE_BLOCKS = ("image", "document", "video", "audio", "guard_content", "cache_point",
                 "citations_content", "search_result")


class ContentBlock(_Camel):
    """The ``ContentBlock`` union: exactly one member set (``convert`` checks)."""

    text: str | None = None
    image: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    video: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    tool_use: ToolUseBlock | None = None
    tool_result: ToolResultBlock | None = None
    guard_content: dict[str, Any] | None = None
    cache_point: dict[str, Any] | None = None
    reasoning_content: ReasoningContent | None = None
    citations_content: dict[str, Any] | None = None
    search_result: dict[str, Any] | None = None


class Message(_Camel):
    role: str | None = None
    content: list[ContentBlock] | None = None


class SystemBlock(_Camel):
    text: str | None = None
    guard_content: dict[str, Any] | None = None
    cache_point: dict[str, Any] | None = None


class InferenceConfig(_Camel):
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None


class InputSchema(_Camel):
    json: Any = None


class ToolSpec(_Camel):
    name: str | None = None
    description: str | None = None
    input_schema: InputSchema | None = None
    strict: bool | None = None


class Tool(_Camel):
    tool_spec: ToolSpec | None = None
    system_tool: dict[str, Any] | None = None
    cache_point: dict[str, Any] | None = None


class SpecificTool(_Camel):
    name: str | None = None


class ToolChoice(_Camel):
    auto: dict[str, Any] | None = None
    any: dict[str, Any] | None = None
    tool: SpecificTool | None = None


class ToolConfig(_Camel):
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None


class JsonSchemaDefinition(_Camel):
    schema: str | None = None
    name: str | None = None
    description: str | None = None


class FormatStructure(_Camel):
    json_schema: JsonSchemaDefinition | None = None


class TextFormat(_Camel):
    type: str | None = None
    structure: FormatStructure | None = None


class OutputConfig(_Camel):
    text_format: TextFormat | None = None
    effort: str | None = None


class ConverseRequest(_Camel):
    """``POST /model/{modelId}/converse`` and ``/converse-stream`` (the model is the path's)."""

    messages: list[Message] | None = None
    system: list[SystemBlock] | None = None
    inference_config: InferenceConfig | None = None
    tool_config: ToolConfig | None = None
    additional_model_request_fields: Any = None
    additional_model_response_field_paths: list[str] | None = None
    output_config: OutputConfig | None = None
    prompt_variables: dict[str, Any] | None = None
    guardrail_config: dict[str, Any] | None = None
    request_metadata: dict[str, str] | None = None
    performance_config: dict[str, Any] | None = None
    service_tier: dict[str, Any] | None = None


converse_decoder = msgspec.json.Decoder(ConverseRequest)
encoder = msgspec.json.Encoder()

# -- responses --------------------------------------------------------------------------


class OutToolUse(_Camel):
    tool_use_id: str
    name: str
    input: Any


class OutReasoningText(_Camel):
    text: str
    signature: str


class OutReasoning(_Camel):
    reasoning_text: OutReasoningText


class OutBlock(_Camel):
    text: str | UnsetType = UNSET
    tool_use: OutToolUse | UnsetType = UNSET
    reasoning_content: OutReasoning | UnsetType = UNSET


class OutMessage(_Camel):
    role: str
    content: list[OutBlock]


class Output(_Camel):
    message: OutMessage


class TokenUsage(_Camel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class Metrics(_Camel):
    latency_ms: int


class ConverseResponse(_Camel):
    output: Output
    stop_reason: str
    usage: TokenUsage
    metrics: Metrics
