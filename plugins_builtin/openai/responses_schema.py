"""The Responses API's wire types: the request, the Response object and its output items,
and the typed stream events, each in the field order the API sends."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

# -- request --------------------------------------------------------------------------


class InputPart(msgspec.Struct, omit_defaults=True):
    type: str
    text: str | None = None


class InputItem(msgspec.Struct, omit_defaults=True):
    """A message, a function call, a function call's output, or a reasoning item.

    Unknown fields are ignored, so every item type the API accepts decodes; only text and
    tool calls matter to the rules.
    """

    type: str | None = None
    role: str | None = None
    content: str | list[InputPart] | None = None
    id: str | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    # A function call's output is text or content parts; other item types (a computer
    # call's screenshot, a shell call's results) carry objects here, read by no rule.
    output: str | list[Any] | dict[str, Any] | None = None


class TextFormat(msgspec.Struct):
    # Required: a ``format`` without its ``type`` is the API's 400, not plain text.
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextConfig(msgspec.Struct):
    # Unset, not None (here and for ``text``): the spec types both as non-nullable, so an
    # explicit null is the API's 400, as tests/fuzz's negative cases check.
    format: TextFormat | msgspec.UnsetType = msgspec.UNSET
    verbosity: str | None = None


class ReasoningConfig(msgspec.Struct):
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponsesRequest(msgspec.Struct):
    """OpenAI's CreateResponse body, plus vLLM's ``ignore_eos``/``min_tokens``."""

    model: str
    input: str | list[InputItem] | None = None
    instructions: str | list[InputItem] | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: Any = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    # Unset, not None: ``tools: null`` is the API's 400 (the spec's ``tools`` is not nullable).
    tools: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    # Unset when absent: an explicit null is the API's 400 (the spec's is not nullable).
    tool_choice: Any = msgspec.UNSET
    parallel_tool_calls: bool | None = None
    text: TextConfig | msgspec.UnsetType = msgspec.UNSET
    reasoning: ReasoningConfig | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_logprobs: int | None = None
    metadata: dict[str, str] | None = None
    truncation: str | None = None
    user: str | None = None
    include: list[str] | None = None
    background: bool | None = None
    prompt: Any = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    prompt_cache_options: Any = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    conversation: Any = None
    context_management: Any = None
    moderation: Any = None
    ignore_eos: bool = False
    min_tokens: int = 0



# -- response -------------------------------------------------------------------------


class OutputText(msgspec.Struct, kw_only=True):
    type: str = "output_text"
    annotations: list[Any] = []
    logprobs: list[Any] = []
    text: str


class MessageItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    status: str
    content: list[OutputText]
    role: str = "assistant"


class FunctionCallItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "function_call"
    status: str
    arguments: str
    call_id: str
    name: str


class ReasoningText(msgspec.Struct, kw_only=True):
    type: str = "reasoning_text"
    text: str


class SummaryText(msgspec.Struct, kw_only=True):
    type: str = "summary_text"
    text: str


class ReasoningItem(msgspec.Struct, kw_only=True):
    id: str
    type: str = "reasoning"
    summary: list[Any]
    content: list[ReasoningText] | UnsetType = UNSET
    #: With ``include: ["reasoning.encrypted_content"]``: the reasoning, opaque, for a
    #: client that keeps the conversation itself (``store: false``) to send back.
    encrypted_content: str | UnsetType = UNSET


class InputTokensDetails(msgspec.Struct):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(msgspec.Struct):
    reasoning_tokens: int = 0


class ResponseUsage(msgspec.Struct):
    input_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens: int
    output_tokens_details: OutputTokensDetails
    total_tokens: int


class IncompleteDetails(msgspec.Struct):
    reason: str


class ReasoningEcho(msgspec.Struct):
    effort: str | None = None
    summary: str | None = None


class FormatEcho(msgspec.Struct, omit_defaults=True):
    type: str
    name: str | None = None
    schema: dict[str, Any] | None = None
    description: str | None = None
    strict: bool | None = None


class TextEcho(msgspec.Struct):
    format: FormatEcho
    verbosity: str = "medium"


class ResponseObject(msgspec.Struct, kw_only=True):
    """The Response object, in the API's field order; every field it always sends is here,
    null or not."""

    id: str
    object: str = "response"
    created_at: int
    status: str
    background: bool = False
    completed_at: int | None = None
    error: None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | list[InputItem] | None
    max_output_tokens: int | None
    max_tool_calls: int | None = None
    model: str
    output: list[Any]
    parallel_tool_calls: bool = True
    previous_response_id: str | None
    prompt_cache_key: str | None = None
    reasoning: ReasoningEcho
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool
    temperature: float = 1.0
    text: TextEcho
    tool_choice: Any
    tools: list[dict[str, Any]]
    top_logprobs: int = 0
    top_p: float = 1.0
    truncation: str = "disabled"
    usage: ResponseUsage | None
    user: str | None = None
    metadata: dict[str, str] = {}


class Deleted(msgspec.Struct):
    id: str
    object: str = "response.deleted"
    deleted: bool = True


# -- stream events (field order as the API sends them) ---------------------------------


class LifecycleEvent(msgspec.Struct):
    type: str
    sequence_number: int
    response: ResponseObject


class ItemEvent(msgspec.Struct):
    type: str
    sequence_number: int
    output_index: int
    item: Any


class PartEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    part: Any


class TextDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str
    logprobs: list[Any] = []


class TextDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str
    logprobs: list[Any] = []


class SummaryPartEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    part: SummaryText


class SummaryDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    delta: str


class SummaryDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    summary_index: int
    text: str


class ReasoningDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    delta: str


class ReasoningDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    content_index: int
    text: str


class ArgumentsDeltaEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    delta: str


class ArgumentsDoneEvent(msgspec.Struct):
    type: str
    sequence_number: int
    item_id: str
    output_index: int
    name: str
    arguments: str


class ErrorEvent(msgspec.Struct):
    """``event: error``: a failure inside a Responses stream (the spec's ResponseErrorEvent)."""

    type: str
    code: str | None
    message: str
    param: str | None
    sequence_number: int
