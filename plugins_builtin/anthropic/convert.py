"""An Anthropic Messages request to the engine's NeutralRequest, checked the way the API is.

``/v1/messages`` and ``/v1/messages/count_tokens`` both build their NeutralRequest here, so
``count_tokens`` counts exactly what ``usage.input_tokens`` reports for the same request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockllm.engine.models import ModelRegistry
from mockllm.engine.request import Message, NeutralRequest, ToolCallIn, ToolDef
from mockllm.engine.schema import ModelConfig
from mockllm.errors import ApiError
from plugins_builtin.anthropic.usage import messages_bill
from plugins_builtin.anthropic.wire import Block, MessagesRequest, encoder

#: Block types the API accepts in requests; the ones that carry no text are accepted and
#: contribute nothing to the prompt text.
_KNOWN_BLOCKS = frozenset({
    "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
    "search_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "container_upload", "mcp_tool_use", "mcp_tool_result",
})
_MIN_THINKING_BUDGET = 1024


#: Top-level fields of ``/v1/messages`` (``server.strict`` refuses any other, as the API
#: does); ``count_tokens`` takes the ones that do not shape the output.
MESSAGES_FIELDS = frozenset({
    "model", "messages", "max_tokens", "system", "stop_sequences", "stream", "tools",
    "tool_choice", "thinking", "temperature", "top_p", "top_k", "metadata", "service_tier",
    "container", "mcp_servers", "context_management", "output_config", "cache_control",
    "diagnostics", "inference_geo", "speed", "user_profile_id", "workspace_id",
    "output_format",
})
COUNT_FIELDS = frozenset({
    "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers",
    "context_management", "output_config", "cache_control", "speed", "user_profile_id",
    "workspace_id",
})


def require_model(models: ModelRegistry, name: str) -> ModelConfig:
    """The model for ``name`` or Anthropic's 404 (``model: NAME``)."""
    model = models.get(name)
    if model is None:
        raise ApiError(404, f"model: {name}")
    return model


def check_generation(req: MessagesRequest) -> int:
    """The checks only ``/v1/messages`` makes; returns ``max_tokens``. (The engine refuses
    ``max_tokens`` above the model's limit, in Anthropic's words.)"""
    if req.max_tokens is None:
        raise ApiError(400, "max_tokens: Field required")
    if req.max_tokens < 1:
        raise ApiError(400, "max_tokens: Input should be greater than or equal to 1")
    t = req.thinking
    if t is not None and t.type == "enabled" and t.budget_tokens is not None:
        if t.budget_tokens >= req.max_tokens:
            raise ApiError(
                400, "`max_tokens` must be greater than `thinking.budget_tokens`. Please "
                "consult our documentation at https://docs.claude.com/en/docs/build-with-"
                "claude/extended-thinking#max-tokens-and-context-window-size",
            )
    return req.max_tokens


def to_neutral(
    req: MessagesRequest, endpoint: str, headers: Mapping[str, str], max_tokens: int | None
) -> NeutralRequest:
    """The NeutralRequest of ``req``; raises 400s for shapes the API refuses."""
    if not req.messages:
        raise ApiError(400, "messages: at least one message is required")
    thinking, budget = _thinking(req)
    neutral = NeutralRequest(
        endpoint=endpoint,
        provider="anthropic",
        model=req.model,
        messages=_messages(req),
        # Guarded, so a request without tools or stop sequences runs no comprehension.
        tools=[ToolDef(t.name, t.description, t.input_schema) for t in req.tools]
        if req.tools else [],
        max_tokens=max_tokens,
        min_tokens=req.min_tokens,
        ignore_eos=req.ignore_eos,
        stop=[s for s in req.stop_sequences if s] if req.stop_sequences else [],
        stream=req.stream,
        thinking=thinking,
        thinking_budget=budget,
        # The request's own dict, as chat passes it (a copy only of some other mapping).
        headers=headers if isinstance(headers, dict) else dict(headers),
    )
    if req.tool_choice is not None:
        _tool_choice(neutral, req.tool_choice)
    fmt = req.output_config.format if req.output_config is not None else None
    fmt = fmt or req.output_format
    if fmt is not None:
        if fmt.type != "json_schema":
            raise ApiError(400, f"output_config.format: Input tag '{fmt.type}' found using "
                                "'type' does not match any of the expected tags: 'json_schema'")
        if fmt.schema is None:
            raise ApiError(400, "output_config.format.schema: Field required")
        neutral.response_format, neutral.json_schema = "json_schema", fmt.schema
    if thinking and req.output_config is not None and req.output_config.effort is not None:
        neutral.reasoning_effort = req.output_config.effort
    neutral.billed = messages_bill(req)
    return neutral


_TOOL_CHOICES = frozenset({"auto", "any", "tool", "none"})


def _tool_choice(neutral: NeutralRequest, choice: dict[str, Any]) -> None:
    """``tool_choice``: ``auto``, ``any`` (some tool), ``tool`` (that one), ``none``."""
    kind = choice.get("type")
    if kind not in _TOOL_CHOICES:
        raise ApiError(400, f"tool_choice: Input tag '{kind}' found using 'type' does not match "
                            "any of the expected tags: 'auto', 'any', 'tool', 'none'")
    neutral.parallel_tool_calls = not choice.get("disable_parallel_tool_use")
    if kind in ("any", "tool") and neutral.thinking:
        raise ApiError(400, "Thinking may not be enabled when tool_choice forces tool use.")
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str):
            raise ApiError(400, "tool_choice.tool.name: Field required")
        if not any(t.name == name for t in neutral.tools):
            raise ApiError(400, f"tool_choice.name: tool '{name}' was not found in tools")
        neutral.tool_choice, neutral.tool_name = "required", name
    else:
        neutral.tool_choice = "required" if kind == "any" else kind


def _thinking(req: MessagesRequest) -> tuple[bool, int | None]:
    t = req.thinking
    if t is None or t.type == "disabled":
        return False, None
    if t.type in ("adaptive", "between_tools"):
        return True, None
    if t.type == "enabled":
        if t.budget_tokens is None:
            raise ApiError(400, "thinking.enabled.budget_tokens: Field required")
        if t.budget_tokens < _MIN_THINKING_BUDGET:
            raise ApiError(
                400, "thinking.enabled.budget_tokens: Input should be greater than or equal "
                f"to {_MIN_THINKING_BUDGET}",
            )
        return True, t.budget_tokens
    raise ApiError(
        400, f"thinking: Input tag '{t.type}' found using 'type' does not match any of the "
        "expected tags: 'adaptive', 'between_tools', 'disabled', 'enabled'",
    )


def _messages(req: MessagesRequest) -> list[Message]:
    out: list[Message] = []
    if req.system is not None:
        text = req.system if isinstance(req.system, str) else _join_text(req.system, "system")
        if text:
            out.append(Message("system", text))
    for i, m in enumerate(req.messages):
        if m.role not in ("user", "assistant"):
            raise ApiError(
                400, f"messages.{i}.role: Input should be 'user' or 'assistant'"
            )
        if isinstance(m.content, str):  # the usual turn: no error path to name
            out.append(Message(m.role, m.content))
        elif m.role == "assistant":
            out.append(_assistant(m.content, f"messages.{i}"))
        else:
            out.extend(_user(m.content, f"messages.{i}"))
    return out


def _assistant(blocks: list[Block], where: str) -> Message:
    calls = []
    for j, b in enumerate(blocks):
        _check_block(b, f"{where}.content.{j}")
        if b.type == "tool_use":
            if b.id is None or b.name is None:
                raise ApiError(400, f"{where}.content.{j}.tool_use: id and name are required")
            calls.append(ToolCallIn(b.id, b.name, encoder.encode(b.input or {}).decode()))
    return Message("assistant", _join_text(blocks, where), tool_calls=calls)


def _user(blocks: list[Block], where: str) -> list[Message]:
    """Tool results become ``tool`` messages, after any text the turn carries beside them,
    so rules see "the last message is a tool result" for the whole turn."""
    tools: list[Message] = []
    texts: list[str] = []
    for j, b in enumerate(blocks):
        _check_block(b, f"{where}.content.{j}")
        if b.type == "tool_result":
            if b.tool_use_id is None:
                raise ApiError(400, f"{where}.content.{j}.tool_result.tool_use_id: Field "
                                    "required")
            tools.append(Message("tool", _result_text(b.content), tool_call_id=b.tool_use_id))
        elif b.type == "text" and b.text:
            texts.append(b.text)
    if texts or not tools:
        return [Message("user", "\n".join(texts)), *tools]
    return tools


def _result_text(content: str | list[Block] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "\n".join(b.text for b in content if b.type == "text" and b.text)


def _join_text(blocks: list[Block], where: str) -> str:
    parts = []
    for j, b in enumerate(blocks):
        _check_block(b, f"{where}.{j}" if where == "system" else f"{where}.content.{j}")
        if b.type == "text" and b.text:
            parts.append(b.text)
    return "\n".join(parts)


def _check_block(b: Block, where: str) -> None:
    if b.type not in _KNOWN_BLOCKS:
        raise ApiError(
            400, f"{where}: Input tag '{b.type}' found using 'type' does not match any of the "
            "expected tags",
        )
    if b.type == "text" and b.text is None:
        raise ApiError(400, f"{where}.text.text: Field required")
