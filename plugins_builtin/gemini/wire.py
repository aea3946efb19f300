"""Gemini API wire types (``generativelanguage``): camelCase request and response Structs.

Requests decode with the module-level decoders into Structs that ignore unknown fields (the
API and google-genai grow new ones often); parts share one permissive ``Part`` Struct, checked
by ``convert``. Responses leave out what the API leaves out (``UNSET``), so a stream chunk
before the last has no ``finishReason``, as on the real wire.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


class _Camel(msgspec.Struct, rename="camel"):
    """Gemini's JSON names are the proto fields in lowerCamelCase."""


# -- requests ---------------------------------------------------------------------------


class FunctionCall(_Camel):
    name: str = ""
    args: dict[str, Any] | None = None
    id: str | None = None


class FunctionResponse(_Camel):
    name: str = ""
    response: Any = None
    id: str | None = None


class Part(_Camel):
    """Any part a request may carry; exactly one data field is set (``convert`` checks)."""

    text: str | None = None
    inline_data: dict[str, Any] | None = None
    file_data: dict[str, Any] | None = None
    function_call: FunctionCall | None = None
    function_response: FunctionResponse | None = None
    executable_code: dict[str, Any] | None = None
    code_execution_result: dict[str, Any] | None = None
    thought: bool | None = None
    thought_signature: str | None = None


class Content(_Camel):
    parts: list[Part] = []
    role: str | None = None


class FunctionDeclaration(_Camel):
    name: str = ""
    description: str = ""
    parameters: dict[str, Any] | None = None
    parameters_json_schema: Any = None


class Tool(_Camel):
    function_declarations: list[FunctionDeclaration] | None = None
    google_search: dict[str, Any] | None = None
    code_execution: dict[str, Any] | None = None
    url_context: dict[str, Any] | None = None


class FunctionCallingConfig(_Camel):
    mode: str | None = None  # AUTO | ANY | NONE | VALIDATED
    allowed_function_names: list[str] | None = None


class ToolConfig(_Camel):
    function_calling_config: FunctionCallingConfig | None = None


class ThinkingConfig(_Camel):
    include_thoughts: bool | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None


class GenerationConfig(_Camel):
    stop_sequences: list[str] | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: Any = None
    candidate_count: int | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: float | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None
    thinking_config: ThinkingConfig | None = None
    response_modalities: list[str] | None = None


class GenerateContentRequest(_Camel):
    """``models/{model}:generateContent`` and ``:streamGenerateContent`` (and the
    ``generateContentRequest`` of ``:countTokens``)."""

    contents: list[Content] | None = None
    system_instruction: Content | None = None
    tools: list[Tool] | None = None
    tool_config: ToolConfig | None = None
    generation_config: GenerationConfig | None = None
    safety_settings: list[dict[str, Any]] | None = None
    cached_content: str | None = None
    model: str | None = None


class CountTokensRequest(_Camel):
    contents: list[Content] | None = None
    generate_content_request: GenerateContentRequest | None = None


class EmbedContentRequest(_Camel):
    content: Content | None = None
    model: str | None = None
    task_type: str | None = None
    title: str | None = None
    output_dimensionality: int | None = None


class BatchEmbedRequest(_Camel):
    requests: list[EmbedContentRequest] | None = None


generate_decoder = msgspec.json.Decoder(GenerateContentRequest)
count_decoder = msgspec.json.Decoder(CountTokensRequest)
embed_decoder = msgspec.json.Decoder(EmbedContentRequest)
batch_embed_decoder = msgspec.json.Decoder(BatchEmbedRequest)
encoder = msgspec.json.Encoder()

# -- responses --------------------------------------------------------------------------


class OutFunctionCall(_Camel):
    name: str
    args: Any


class OutPart(_Camel):
    text: str | UnsetType = UNSET
    thought: bool | UnsetType = UNSET
    function_call: OutFunctionCall | UnsetType = UNSET


class OutContent(_Camel):
    parts: list[OutPart]
    role: str = "model"


class Candidate(_Camel):
    content: OutContent
    finish_reason: str | UnsetType = UNSET
    index: int = 0


class ModalityCount(_Camel):
    modality: str
    token_count: int


class UsageMetadata(_Camel):
    """``candidatesTokenCount`` excludes thoughts; ``totalTokenCount`` counts them."""

    prompt_token_count: int
    candidates_token_count: int | UnsetType = UNSET
    total_token_count: int = 0
    prompt_tokens_details: list[ModalityCount] | UnsetType = UNSET
    thoughts_token_count: int | UnsetType = UNSET


class GenerateContentResponse(_Camel):
    candidates: list[Candidate]
    usage_metadata: UsageMetadata
    model_version: str
    response_id: str


class TokenCount(_Camel):
    total_tokens: int
    prompt_tokens_details: list[ModalityCount] | UnsetType = UNSET


class Embedding(_Camel):
    values: list[float]


class EmbedResponse(_Camel):
    embedding: Embedding


class BatchEmbedResponse(_Camel):
    embeddings: list[Embedding]


class ModelInfo(_Camel):
    name: str
    version: str
    display_name: str
    description: str
    input_token_limit: int
    output_token_limit: int
    supported_generation_methods: list[str]
    temperature: float | UnsetType = UNSET
    top_p: float | UnsetType = UNSET
    top_k: int | UnsetType = UNSET
    max_temperature: float | UnsetType = UNSET
    thinking: bool | UnsetType = UNSET


class ModelList(_Camel):
    models: list[ModelInfo]
    next_page_token: str | UnsetType = UNSET
