"""A Gemini ``GenerateContentRequest`` to the engine's NeutralRequest, checked as the API does.

``generateContent``, ``streamGenerateContent`` and ``countTokens`` all build their
NeutralRequest here, so ``countTokens`` counts exactly what ``usageMetadata.promptTokenCount``
reports for the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from mockllm.engine.request import Message, NeutralRequest, ToolCallIn, ToolDef
from mockllm.errors import ApiError
from mockllm.provider import MALFORMED
from plugins_builtin.gemini.provider import GEMINI
from plugins_builtin.gemini.wire import (
    Content,
    FunctionCallingConfig,
    GenerateContentRequest,
    GenerationConfig,
    Part,
    encoder,
)

_MAX_CANDIDATES = 8
_MODES = ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED")


#: Values that are the caller's own JSON (arguments, schemas): their keys are not renamed.
_FREE_FORM = frozenset({
    "args", "response", "parameters", "parametersJsonSchema", "responseSchema",
    "responseJsonSchema", "response_schema", "response_json_schema", "parameters_json_schema",
    "labels", "metadata",
})
_generic = msgspec.json.Decoder()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _camelize(value: Any) -> Any:
    """Proto JSON accepts ``snake_case`` names too (google-genai sends ``thinkingConfig``'s
    fields that way): rename every structural key to the camelCase the Structs read."""
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = _camel(key) if "_" in key else key
        out[name] = item if key in _FREE_FORM else _camelize(item)
    return out


def decode(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    """Decode with a module-level decoder; errors are the strategy's 400s (Google's wording).

    A body with no ``_`` anywhere has no snake_case name and decodes straight into the
    Structs; otherwise its names are normalised first (a slower, generic decode).
    """
    try:
        if b"_" not in body:
            return decoder.decode(body)
        return msgspec.convert(_camelize(_generic.decode(body)), decoder.type)
    except (msgspec.ValidationError, *MALFORMED) as exc:
        raise GEMINI.decode_error(exc) from None


def to_neutral(
    req: GenerateContentRequest, endpoint: str, model: str, headers: Mapping[str, str],
    stream: bool = False,
) -> NeutralRequest:
    """The NeutralRequest of ``req``; raises 400s for shapes the API refuses."""
    if not req.contents:
        raise ApiError(400, "* GenerateContentRequest.contents: contents is not specified\n")
    cfg = req.generation_config or GenerationConfig()
    thinking, budget = _thinking(cfg)
    response_format, schema = _structured(cfg)
    n = cfg.candidate_count if cfg.candidate_count is not None else 1
    if not 1 <= n <= _MAX_CANDIDATES:
        raise ApiError(400, f"* GenerateContentRequest.generation_config.candidate_count: "
                            f"must be between 1 and {_MAX_CANDIDATES}, got {n}\n")
    if cfg.max_output_tokens is not None and cfg.max_output_tokens < 1:
        raise ApiError(400, "* GenerateContentRequest.generation_config.max_output_tokens: "
                            "max_output_tokens must be positive.\n")
    tools = _tools(req)
    mode, allowed = function_mode(req, tools)
    neutral = NeutralRequest(
        endpoint=endpoint,
        provider="gemini",
        model=model,
        messages=_messages(req),
        tools=tools,
        max_tokens=cfg.max_output_tokens,
        stop=[s for s in cfg.stop_sequences or () if s],
        n=n,
        seed=cfg.seed,
        stream=stream,
        response_format=response_format,
        json_schema=schema,
        thinking=thinking,
        thinking_budget=budget,
        reasoning_effort=_effort(cfg) if thinking else None,
        headers=dict(headers),
    )
    _tool_choice(neutral, mode, allowed)
    return neutral


def _tool_choice(neutral: NeutralRequest, mode: str, allowed: list[str]) -> None:
    """``NONE`` never calls; ``ANY`` always calls (one allowed name: that function; several:
    one of them); ``AUTO`` and ``VALIDATED`` leave it to the model (``defaults.tools``)."""
    if mode == "NONE":
        neutral.tool_choice = "none"
    elif mode == "ANY":
        if len(allowed) == 1:
            neutral.tool_name = allowed[0]
        else:
            neutral.tool_choice = "required"
            if allowed:
                # The allowed functions first, one call at a time: never a function the
                # request did not allow.
                neutral.tools.sort(key=lambda t: t.name not in allowed)
                neutral.parallel_tool_calls = False


def function_mode(
    req: GenerateContentRequest, tools: list[ToolDef]
) -> tuple[str, list[str]]:
    """``functionCallingConfig`` as (mode, allowed names), checked against the declarations."""
    fcc = (req.tool_config.function_calling_config if req.tool_config else None) or \
        FunctionCallingConfig()
    mode = (fcc.mode or "AUTO").upper()
    if mode not in _MODES:
        raise ApiError(400, "Invalid JSON payload received. Invalid value at "
                            f"'tool_config.function_calling_config.mode', \"{fcc.mode}\"")
    allowed = list(fcc.allowed_function_names or ())
    if allowed and mode not in ("ANY", "VALIDATED"):
        raise ApiError(400, "* GenerateContentRequest.tool_config.function_calling_config."
                            "allowed_function_names: allowed_function_names can only be set "
                            "when mode is ANY or VALIDATED.\n")
    declared = {t.name for t in tools}
    for name in allowed:
        if name not in declared:
            raise ApiError(400, f"* GenerateContentRequest.tool_config.function_calling_config"
                                f".allowed_function_names: function '{name}' is not declared "
                                "in tools.\n")
    return ("AUTO" if mode == "MODE_UNSPECIFIED" else mode), allowed


def _thinking(cfg: GenerationConfig) -> tuple[bool, int | None]:
    """Thoughts when ``thinkingConfig`` asks (the real 2.5+ models also think without it;
    here reasoning is given when asked, as everywhere). A budget of 0 turns it off, -1
    (dynamic) sets no budget."""
    t = cfg.thinking_config
    if t is None:
        return False, None
    if t.thinking_budget is None:
        return True, None
    if t.thinking_budget == 0:
        return False, None
    if t.thinking_budget < -1:
        raise ApiError(400, "* GenerateContentRequest.generation_config.thinking_config."
                            "thinking_budget: must be -1, 0 or positive.\n")
    return True, (t.thinking_budget if t.thinking_budget > 0 else None)


_LEVELS = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high"}


def _effort(cfg: GenerationConfig) -> str | None:
    """``thinkingLevel`` (Gemini 3) as the engine's reasoning effort."""
    t = cfg.thinking_config
    level = (t.thinking_level or "").lower() if t is not None else ""
    if level and level not in _LEVELS and level != "thinking_level_unspecified":
        raise ApiError(400, "Invalid JSON payload received. Invalid value at "
                            f"'generation_config.thinking_config.thinking_level', \"{level}\"")
    return _LEVELS.get(level)


def include_thoughts(req: GenerateContentRequest) -> bool:
    cfg = req.generation_config
    t = cfg.thinking_config if cfg is not None else None
    return bool(t is not None and t.include_thoughts)


def _structured(cfg: GenerationConfig) -> tuple[str | None, dict[str, Any] | None]:
    schema: dict[str, Any] | None = None
    if cfg.response_json_schema is not None:
        if not isinstance(cfg.response_json_schema, dict):
            raise ApiError(400, "* GenerateContentRequest.generation_config."
                                "response_json_schema: must be a JSON schema object.\n")
        schema = cfg.response_json_schema
    elif cfg.response_schema is not None:
        schema = openapi_to_json_schema(cfg.response_schema)
    mime = cfg.response_mime_type or "text/plain"
    if mime == "application/json":
        return ("json_schema", schema) if schema else ("json_object", None)
    if schema is not None and mime not in ("text/x.enum",):
        raise ApiError(400, "* GenerateContentRequest.generation_config.response_mime_type: "
                            "response_mime_type must be application/json or text/x.enum "
                            "when response_schema is set.\n")
    return None, None


def openapi_to_json_schema(schema: Any) -> Any:
    """Gemini's ``Schema`` (an OpenAPI 3.0 subset: ``type: OBJECT``, ``nullable``) as JSON
    Schema, so the engine's generator reads it."""
    if isinstance(schema, list):
        return [openapi_to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: openapi_to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "anyOf"):
            out[key] = openapi_to_json_schema(value)
        elif key in ("nullable", "propertyOrdering"):
            continue
        else:
            out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _tools(req: GenerateContentRequest) -> list[ToolDef]:
    out: list[ToolDef] = []
    for i, tool in enumerate(req.tools or ()):
        for j, fd in enumerate(tool.function_declarations or ()):
            if not fd.name:
                raise ApiError(400, f"* GenerateContentRequest.tools[{i}]."
                                    f"function_declarations[{j}].name: Name cannot be empty.\n")
            params = fd.parameters_json_schema
            if params is None and fd.parameters is not None:
                params = openapi_to_json_schema(fd.parameters)
            out.append(ToolDef(fd.name, fd.description, params if isinstance(params, dict)
                               else {}))
    return out


def _messages(req: GenerateContentRequest) -> list[Message]:
    out: list[Message] = []
    if req.system_instruction is not None:
        text = _text(req.system_instruction, "system_instruction")
        if text:
            out.append(Message("system", text))
    for i, content in enumerate(req.contents or ()):
        out.extend(_turn(content, i))
    return out


def _turn(content: Content, i: int) -> list[Message]:
    role = content.role or "user"
    if role not in ("user", "model", "function", "tool"):
        raise ApiError(400, "Please use a valid role: user, model.")
    where = f"contents[{i}]"
    if not content.parts:
        raise ApiError(400, f"* GenerateContentRequest.{where}.parts: contents.parts must "
                            "not be empty.\n")
    if role == "model":
        calls = []
        for j, part in enumerate(content.parts):
            _check_part(part, f"{where}.parts[{j}]")
            fc = part.function_call
            if fc is not None:
                args = encoder.encode(fc.args or {}).decode()
                calls.append(ToolCallIn(fc.id or fc.name, fc.name, args))
        texts = [p.text for p in content.parts if p.text and not p.thought]
        return [Message("assistant", "\n".join(texts), tool_calls=calls)]
    tools: list[Message] = []
    texts = []
    for j, part in enumerate(content.parts):
        _check_part(part, f"{where}.parts[{j}]")
        fr = part.function_response
        if fr is not None:
            tools.append(Message("tool", encoder.encode(fr.response).decode(),
                                 tool_call_id=fr.id or fr.name))
        elif part.text:
            texts.append(part.text)
    # Function responses after any text of the turn: rules see "the last message is a tool
    # result" for the whole turn.
    if texts or not tools:
        return [Message("user", "\n".join(texts)), *tools]
    return tools


_DATA_FIELDS = ("text", "inline_data", "file_data", "function_call", "function_response",
                "executable_code", "code_execution_result")


def _check_part(part: Part, where: str) -> None:
    if all(getattr(part, f) is None for f in _DATA_FIELDS):
        raise ApiError(400, f"* GenerateContentRequest.{where}.data: required oneof field "
                            "'data' must have one initialized field\n")


def _text(content: Content, where: str) -> str:
    parts = []
    for j, part in enumerate(content.parts):
        _check_part(part, f"{where}.parts[{j}]")
        if part.text:
            parts.append(part.text)
    return "\n".join(parts)


def content_texts(content: Content | None, where: str) -> str:
    """The text of one ``Content`` (embedding inputs)."""
    if content is None or not content.parts:
        raise ApiError(400, f"* {where}.content: content is not specified\n")
    return _text(content, where)
