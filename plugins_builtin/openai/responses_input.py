"""Responses API requests to neutral messages and tools, and answers back to turns (for a
later ``previous_response_id``)."""

from __future__ import annotations

from typing import Any

from msgspec import UnsetType

from mockllm.engine import Message, ToolDef
from mockllm.engine.plan import Choice
from mockllm.engine.request import ToolCallIn

from . import errors
from .responses_schema import (
    InputItem,
    InputPart,
)

# -- request -> neutral ----------------------------------------------------------------


#: Every input item ``type`` the API accepts (OpenAI's spec, ``InputItem``). Those mockllm
#: does not model (tool calls of hosted tools, MCP, compaction...) are accepted and carry
#: nothing a rule reads; any other type is the API's 400.
ITEM_TYPES = (
    "additional_tools", "apply_patch_call", "apply_patch_call_output", "code_interpreter_call",
    "compaction", "compaction_trigger", "computer_call", "computer_call_output",
    "custom_tool_call", "custom_tool_call_output", "file_search_call", "function_call",
    "function_call_output", "image_generation_call", "item_reference", "local_shell_call",
    "local_shell_call_output", "mcp_approval_request", "mcp_approval_response", "mcp_call",
    "mcp_list_tools", "message", "program", "program_output", "reasoning", "shell_call",
    "shell_call_output", "tool_search_call", "tool_search_output", "web_search_call",
)
_SUPPORTED_TYPES = ", ".join(f"'{t}'" for t in ITEM_TYPES[:-1]) + f", and '{ITEM_TYPES[-1]}'"


def text_of(content: str | list[InputPart] | None) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.text for p in content if p.text)


def _output_text(output: str | list[Any] | dict[str, Any] | None, param: str) -> str:
    """A function call's output: text, or input content parts (their text joined)."""
    if output is None or isinstance(output, str):
        return output or ""
    if isinstance(output, dict):
        raise errors.invalid(param, f"Invalid type for '{param}': expected one of a string or "
                                    "array of input content parts, but got an object "
                                    "instead.", "invalid_type")
    return "".join(p["text"] for p in output
                   if isinstance(p, dict) and isinstance(p.get("text"), str))


def input_messages(value: str | list[InputItem] | None, param: str = "input") -> list[Message]:
    """The conversation turns of ``input`` (or a list ``instructions``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [Message("user", value)]
    out: list[Message] = []
    for i, item in enumerate(value):
        kind = item.type
        if kind is None:  # an easy message, or an item reference (whose type is optional)
            kind = "item_reference" if item.role is None and item.id is not None else "message"
        if kind == "message":
            if item.role is None:
                raise errors.invalid(f"{param}[{i}].role", "Missing required parameter: "
                                     f"'{param}[{i}].role'.", "missing_required_parameter")
            if item.role not in ("user", "assistant", "system", "developer"):
                raise errors.invalid(f"{param}[{i}].role", f"Invalid value: '{item.role}'. "
                                     "Supported values are: 'assistant', 'system', "
                                     "'developer', and 'user'.")
            out.append(Message(item.role, text_of(item.content)))
        elif kind == "function_call":
            call = ToolCallIn(item.call_id or "", item.name or "", item.arguments or "")
            if out and out[-1].role == "assistant" and not out[-1].text:
                out[-1].tool_calls.append(call)  # parallel calls are one assistant turn
            else:
                out.append(Message("assistant", "", [call]))
        elif kind == "function_call_output":
            if not item.call_id:
                raise errors.invalid(f"{param}[{i}].call_id", "Missing required parameter: "
                                     f"'{param}[{i}].call_id'.", "missing_required_parameter")
            out.append(Message("tool", _output_text(item.output, f"{param}[{i}].output"),
                               tool_call_id=item.call_id))
        elif kind not in ITEM_TYPES:
            raise errors.invalid(f"{param}[{i}].type", f"Invalid value: '{kind}'. Supported "
                                 f"values are: {_SUPPORTED_TYPES}.")
    return out


def tools_of(tools: list[dict[str, Any]] | UnsetType) -> list[ToolDef]:
    out = []
    for t in tools or ():
        if t.get("type") == "function" and isinstance(t.get("name"), str):
            params = t.get("parameters")
            out.append(ToolDef(t["name"], str(t.get("description") or ""),
                               params if isinstance(params, dict) else {}))
    return out


#: The ``include`` value that asks for output text logprobs.
LOGPROBS = "message.output_text.logprobs"


def echo_tools(tools: list[dict[str, Any]] | UnsetType) -> list[dict[str, Any]]:
    """The request's tools as the Response echoes them: a function tool always carries
    ``description``, ``parameters`` (null when not given) and ``strict``, which defaults to
    true in the Responses API (the spec's FunctionTool requires ``strict`` and ``parameters``).
    Other tool types go back as sent."""
    out = []
    for t in tools or ():
        if t.get("type") == "function":
            t = {"type": "function", "description": t.get("description"), "name": t.get("name"),
                 "parameters": t.get("parameters"),
                 "strict": t["strict"] if t.get("strict") is not None else True,
                 **{k: v for k, v in t.items() if k not in _FUNCTION_ECHO}}
        out.append(t)
    return out


_FUNCTION_ECHO = frozenset({"type", "description", "name", "parameters", "strict"})


def output_messages(choice: Choice) -> list[Message]:
    """The answer as conversation turns, for a later ``previous_response_id``."""
    calls = [ToolCallIn(tc.id, tc.name, tc.arguments) for tc in choice.tool_calls]
    return [Message("assistant", choice.text, calls)] if choice.pieces or calls else []
