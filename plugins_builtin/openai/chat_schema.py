"""Chat completions' wire types: the request (every documented field, plus vLLM's
load-test extensions) and the completion and chunk objects, in the API's field order."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from .logprobs import ChoiceLogprobs
from .wire import SYSTEM_FINGERPRINT, GenerationParams, Usage

# -- request --------------------------------------------------------------------------

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(msgspec.Struct):
    """One part of a list ``content``; only text parts are text the rules can see."""

    type: str
    text: str | None = None
    refusal: str | None = None
    image_url: Any = None
    input_audio: Any = None
    file: Any = None


class FunctionCall(msgspec.Struct):
    name: str
    arguments: str = ""


class ToolCallParam(msgspec.Struct):
    id: str
    type: str = "function"
    function: FunctionCall | None = None
    custom: Any = None


class ChatMessage(msgspec.Struct):
    role: Role
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallParam] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None
    function_call: FunctionCall | None = None
    audio: Any = None


class FunctionDef(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(msgspec.Struct):
    type: str = "function"
    function: FunctionDef | None = None
    custom: Any = None


class JsonSchemaFormat(msgspec.Struct):
    name: str
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class ResponseFormat(msgspec.Struct):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ChatRequest(GenerationParams):
    """Every field of OpenAI's CreateChatCompletionRequest, plus vLLM's load-test extensions
    (``ignore_eos``, ``min_tokens``). Strict mode refuses keys not listed here."""

    model: str
    messages: list[ChatMessage]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[Tool] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    modalities: list[str] | None = None
    audio: Any = None
    prediction: Any = None
    service_tier: str | None = None
    web_search_options: Any = None
    functions: Any = None
    function_call: Any = None
    verbosity: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: Any = None
    safety_identifier: str | None = None
    moderation: Any = None



# -- response -------------------------------------------------------------------------


class ToolCallFunction(msgspec.Struct):
    name: str
    arguments: str


class ToolCallOut(msgspec.Struct):
    id: str
    function: ToolCallFunction
    type: str = "function"


class AssistantMessage(msgspec.Struct):
    role: str
    content: str | None
    refusal: None = None
    annotations: list[Any] = []
    tool_calls: list[ToolCallOut] | UnsetType = UNSET


class ChatChoice(msgspec.Struct):
    index: int
    message: AssistantMessage
    logprobs: ChoiceLogprobs | None
    finish_reason: str


class ChatCompletion(msgspec.Struct):
    id: str
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    object: str = "chat.completion"
    service_tier: str = "default"
    system_fingerprint: str = SYSTEM_FINGERPRINT


class FunctionDelta(msgspec.Struct):
    name: str | UnsetType = UNSET
    arguments: str = ""


class ToolCallDelta(msgspec.Struct):
    index: int
    id: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    function: FunctionDelta = msgspec.field(default_factory=FunctionDelta)


class Delta(msgspec.Struct):
    role: str | UnsetType = UNSET
    content: str | None | UnsetType = UNSET
    refusal: None | UnsetType = UNSET
    tool_calls: list[ToolCallDelta] | UnsetType = UNSET


class ChunkChoice(msgspec.Struct):
    index: int
    delta: Delta
    logprobs: ChoiceLogprobs | None = None
    finish_reason: str | None = None


class ChatChunk(msgspec.Struct):
    """One ``chat.completion.chunk``; ``usage`` is left out unless the client asked for it,
    and then it is ``null`` on every chunk but the last."""

    id: str
    object: str
    created: int
    model: str
    service_tier: str
    system_fingerprint: str
    choices: list[ChunkChoice]
    usage: Usage | None | UnsetType = UNSET
