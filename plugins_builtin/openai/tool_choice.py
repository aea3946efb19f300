"""OpenAI's ``tool_choice`` and ``parallel_tool_calls``, for chat and the Responses API.

The two APIs spell a named tool differently (chat: ``{"type": "function", "function":
{"name": N}}``, Responses: ``{"type": "function", "name": N}``, both with an
``allowed_tools`` form); both end up as the engine's ``tool_choice`` / ``tool_name``. A
choice the API would refuse is its 400: a ``tool_choice`` without ``tools``, an unknown
mode, or a name that is not among the offered tools.
"""

from __future__ import annotations

from typing import Any, Literal

from mockllm.engine.request import NeutralRequest

from . import errors

_MODES = frozenset({"none", "auto", "required"})

Api = Literal["chat", "responses"]


def apply(neutral: NeutralRequest, choice: Any, parallel: bool | None, api: Api) -> None:
    """Set ``neutral``'s tool fields from the request's ``tool_choice``/``parallel_tool_calls``
    (``neutral.tools`` already holds the offered function tools)."""
    neutral.parallel_tool_calls = parallel is not False
    if choice is None:
        return
    if not neutral.tools and api == "chat":
        raise errors.invalid("tool_choice", "Invalid value for 'tool_choice': 'tool_choice' is "
                             "only allowed when 'tools' are specified.", None)
    if isinstance(choice, str):
        if choice not in _MODES:
            raise errors.invalid("tool_choice", f"Invalid value: '{choice}'. Supported values "
                                 "are: 'none', 'auto', and 'required'.")
        neutral.tool_choice = choice
        return
    if not isinstance(choice, dict):
        raise errors.invalid("tool_choice", "Invalid type for 'tool_choice': expected one of a "
                             "string or an object, but got another type instead.",
                             "invalid_type")
    kind = choice.get("type")
    if kind == "allowed_tools":
        _allowed(neutral, choice.get("allowed_tools") if api == "chat" else choice, api)
        return
    if kind in ("function", "custom"):
        name = _name(choice, kind, api)
        _require_offered(neutral, name, api)
        neutral.tool_choice, neutral.tool_name = "required", name
        return
    if api == "responses" and isinstance(kind, str):
        # A hosted tool (web_search, file_search, mcp, ...): mockllm runs none of them, so
        # the model answers in text, as it would after the hosted call.
        neutral.tool_choice = "none"
        return
    raise errors.invalid("tool_choice.type", f"Invalid value: '{kind}'. Supported values are: "
                         "'function', 'allowed_tools', and 'custom'.")


def _name(choice: dict[str, Any], kind: str, api: Api) -> str:
    inner = choice.get(kind) if api == "chat" else choice
    name = inner.get("name") if isinstance(inner, dict) else None
    if not isinstance(name, str):
        where = f"tool_choice.{kind}.name" if api == "chat" else "tool_choice.name"
        raise errors.invalid(where, f"Missing required parameter: '{where}'.",
                             "missing_required_parameter")
    return name


def _require_offered(neutral: NeutralRequest, name: str, api: Api) -> None:
    if any(t.name == name for t in neutral.tools):
        return
    if api == "responses":
        raise errors.invalid("tool_choice", "Tool choice 'function' not found in 'tools' "
                             "parameter.")
    raise errors.invalid("tool_choice", f"Invalid value for 'tool_choice': function '{name}' "
                         "is not in 'tools'.")


def _allowed(neutral: NeutralRequest, spec: Any, api: Api) -> None:
    """``allowed_tools``: the offered tools narrowed to a list, in ``auto`` or ``required``."""
    if not isinstance(spec, dict):
        raise errors.invalid("tool_choice.allowed_tools", "Missing required parameter: "
                             "'tool_choice.allowed_tools'.", "missing_required_parameter")
    mode = spec.get("mode")
    if mode not in ("auto", "required"):
        raise errors.invalid("tool_choice.allowed_tools.mode", f"Invalid value: '{mode}'. "
                             "Supported values are: 'auto' and 'required'.")
    names = []
    for t in spec.get("tools") or ():
        if isinstance(t, dict):
            inner = t.get("function") if api == "chat" else t
            if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                names.append(inner["name"])
    for name in names:
        _require_offered(neutral, name, api)
    neutral.tools = [t for t in neutral.tools if t.name in names]
    neutral.tool_choice = mode
