"""Ollama wire types: request Structs in, response Structs out.

Field order and omission follow Ollama's Go structs (``omitempty`` fields are ``UNSET``
until set), so the NDJSON lines look like the real server's.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

# -- requests ---------------------------------------------------------------------------


class Function(msgspec.Struct):
    name: str
    arguments: dict[str, Any] | str = {}


class ToolCallIn(msgspec.Struct):
    function: Function
    id: str | None = None


class MessageIn(msgspec.Struct):
    role: str
    content: str = ""
    images: list[str] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_name: str | None = None
    thinking: str | None = None


class ToolFunction(msgspec.Struct):
    name: str
    description: str = ""
    parameters: dict[str, Any] = {}


class Tool(msgspec.Struct):
    function: ToolFunction
    type: str = "function"


class Options(msgspec.Struct):
    """The options a mock honours; Ollama has many more, all accepted and ignored."""

    num_predict: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    num_ctx: int | None = None


class ChatRequest(msgspec.Struct):
    model: str = ""
    messages: list[MessageIn] = []
    tools: list[Tool] | None = None
    format: str | dict[str, Any] | None = None
    options: Options | None = None
    stream: bool = True
    think: bool | str | None = None
    keep_alive: str | int | float | None = None


class GenerateRequest(msgspec.Struct):
    model: str = ""
    prompt: str = ""
    suffix: str = ""
    system: str = ""
    images: list[str] | None = None
    format: str | dict[str, Any] | None = None
    options: Options | None = None
    stream: bool = True
    raw: bool = False
    think: bool | str | None = None
    keep_alive: str | int | float | None = None


class EmbedRequest(msgspec.Struct):
    model: str = ""
    input: str | list[str] = []
    truncate: bool = True
    dimensions: int | None = None
    options: Options | None = None
    keep_alive: str | int | float | None = None


class LegacyEmbedRequest(msgspec.Struct):
    """``/api/embeddings`` (deprecated, still used by older clients): one prompt."""

    model: str = ""
    prompt: str = ""
    options: Options | None = None
    keep_alive: str | int | float | None = None


class ShowRequest(msgspec.Struct):
    model: str = ""
    name: str = ""  # the deprecated spelling
    verbose: bool = False


chat_decoder = msgspec.json.Decoder(ChatRequest)
generate_decoder = msgspec.json.Decoder(GenerateRequest)
embed_decoder = msgspec.json.Decoder(EmbedRequest)
legacy_embed_decoder = msgspec.json.Decoder(LegacyEmbedRequest)
show_decoder = msgspec.json.Decoder(ShowRequest)
encoder = msgspec.json.Encoder()

# -- responses --------------------------------------------------------------------------


class FunctionOut(msgspec.Struct):
    index: int
    name: str
    arguments: Any


class ToolCallOut(msgspec.Struct):
    id: str
    function: FunctionOut


class MessageOut(msgspec.Struct, omit_defaults=True):
    role: str
    content: str
    thinking: str | UnsetType = UNSET
    tool_calls: list[ToolCallOut] | UnsetType = UNSET


class Metrics(msgspec.Struct):
    """Durations in nanoseconds, as Ollama reports them."""

    total_duration: int
    load_duration: int
    prompt_eval_count: int
    prompt_eval_duration: int
    eval_count: int
    eval_duration: int


class ChatChunk(msgspec.Struct, omit_defaults=True, kw_only=True):
    model: str
    created_at: str
    message: MessageOut
    done_reason: str | UnsetType = UNSET
    done: bool


class GenerateChunk(msgspec.Struct, omit_defaults=True, kw_only=True):
    model: str
    created_at: str
    response: str
    thinking: str | UnsetType = UNSET
    done: bool
    done_reason: str | UnsetType = UNSET


class Details(msgspec.Struct):
    parent_model: str
    format: str
    family: str
    families: list[str]
    parameter_size: str
    quantization_level: str


class ModelEntry(msgspec.Struct):
    name: str
    model: str
    modified_at: str
    size: int
    digest: str
    details: Details


class Tags(msgspec.Struct):
    models: list[ModelEntry]


class Show(msgspec.Struct, omit_defaults=True, kw_only=True):
    license: str | UnsetType = UNSET
    modelfile: str
    parameters: str
    template: str
    details: Details
    model_info: dict[str, Any]
    capabilities: list[str]
    modified_at: str


class RunningModel(msgspec.Struct):
    name: str
    model: str
    size: int
    digest: str
    details: Details
    expires_at: str
    size_vram: int
    context_length: int


class Running(msgspec.Struct):
    models: list[RunningModel]


class Embeddings(msgspec.Struct):
    model: str
    embeddings: list[list[float]]
    total_duration: int
    load_duration: int
    prompt_eval_count: int


class LegacyEmbedding(msgspec.Struct):
    embedding: list[float]


class Version(msgspec.Struct):
    version: str


def final_line(chunk: ChatChunk | GenerateChunk, metrics: Metrics) -> bytes:
    """A ``done`` object: the chunk's fields, then the metrics (Go's embedded struct)."""
    head = encoder.encode(chunk)
    return head[:-1] + b"," + encoder.encode(metrics)[1:]


_second: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def timestamp(ns: int | None = None) -> str:
    """RFC 3339 with nanoseconds, trailing zeros trimmed, as Go's ``time.RFC3339Nano``.

    Every streamed object carries one; the date part is formatted once per second.
    """
    ns = time.time_ns() if ns is None else ns
    seconds, frac = divmod(ns, 1_000_000_000)
    cached = _second
    if cached[0] != seconds:
        cached[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        cached[0] = seconds
    text: str = cached[1]
    digits = f"{frac:09d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"
