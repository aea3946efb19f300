"""The Responses body checked as strictly as the API checks it: ``tools``, ``tool_choice``,
``prompt``, ``text.verbosity`` and the other enums.

The tables restate OpenAI's published OpenAPI spec (``Tool``, ``ToolChoiceParam``,
``Prompt``, ``Verbosity``, ``ReasoningEffort``...); ``tests/test_responses_checks.py`` checks
them against the copy of those schemas in ``tests/data/openai_responses_schemas.json``.
A hosted tool's fields, a ``tool_choice`` object's and ``prompt``'s are then checked in
depth against the spec's own schemas (``tool_schema``). Function tools need only ``type``
and ``name`` here: the spec also lists ``strict`` and
``parameters`` as required, but that is the echoed object (the API defaults both on input).
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from . import tool_schema
from .errors import check_enum as _enum
from .errors import check_required as _required
from .errors import check_type as _type
from .errors import invalid
from .errors import listing as _listing
from .responses_schema import ResponsesRequest
from .tool_shapes import check_name

#: Each tool ``type`` and the fields the API requires with it.
TOOL_TYPES: dict[str, tuple[str, ...]] = {
    "function": ("name",),
    "file_search": ("vector_store_ids",),
    "computer": (),
    "computer_use_preview": ("environment", "display_width", "display_height"),
    "web_search": (), "web_search_2025_08_26": (),
    "mcp": ("server_label",),
    "code_interpreter": ("container",),
    "programmatic_tool_calling": (),
    "image_generation": (),
    "local_shell": (),
    "shell": (),
    "custom": ("name",),
    "namespace": ("name", "description", "tools"),
    "tool_search": (),
    "web_search_preview": (), "web_search_preview_2025_03_11": (),
    "apply_patch": (),
}
#: ``tool_choice`` object types and their required fields (``ToolChoiceParam``).
TOOL_CHOICE_TYPES: dict[str, tuple[str, ...]] = {
    "allowed_tools": ("mode", "tools"),
    "file_search": (), "web_search_preview": (), "computer": (), "computer_use_preview": (),
    "computer_use": (), "web_search_preview_2025_03_11": (), "image_generation": (),
    "code_interpreter": (),
    "function": ("name",),
    "mcp": ("server_label",),
    "custom": ("name",),
    "programmatic_tool_calling": (), "apply_patch": (), "shell": (),
}
TOOL_CHOICE_MODES = ("none", "auto", "required")
VERBOSITY = ("low", "medium", "high")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
REASONING_SUMMARIES = ("auto", "concise", "detailed")
TRUNCATION = ("auto", "disabled")

def check(req: ResponsesRequest) -> None:
    """Raise the API's 400 for a body the real API refuses; a valid body costs a few checks."""
    if req.tools:
        for i, tool in enumerate(req.tools):
            _tool(f"tools[{i}]", tool)
    if req.tool_choice is not UNSET:
        _tool_choice(req.tool_choice)
    if req.prompt is not None:
        _prompt(req.prompt)
    if req.text:
        _enum("text.verbosity", req.text.verbosity, VERBOSITY)
    if req.reasoning is not None:
        _enum("reasoning.effort", req.reasoning.effort, REASONING_EFFORTS)
        _enum("reasoning.summary", req.reasoning.summary, REASONING_SUMMARIES)
    _enum("truncation", req.truncation, TRUNCATION)


def _tool(where: str, tool: Any) -> None:
    _type(where, tool, dict, "an object")
    kind = tool.get("type")
    if kind is None:
        raise invalid(f"{where}.type", f"Missing required parameter: '{where}.type'.",
                      "missing_required_parameter")
    _type(f"{where}.type", kind, str, "a string")
    if kind not in TOOL_TYPES:
        raise invalid(f"{where}.type", f"Invalid value: '{kind}'. Supported values are: "
                                       f"{_listing(list(TOOL_TYPES))}.")
    _required(where, tool, TOOL_TYPES[kind])
    if kind in ("function", "custom"):
        name = tool["name"]
        _type(f"{where}.name", name, str, "a string")
        check_name(f"{where}.name", name)
    if kind == "function":
        for field, want, noun in (("parameters", dict, "an object"),
                                  ("description", str, "a string"),
                                  ("strict", bool, "a boolean")):
            if tool.get(field) is not None:
                _type(f"{where}.{field}", tool[field], want, noun)
    elif kind != "custom":
        # A hosted tool's every field, as the spec's schema for its type has it; function
        # and custom tools carry the user's own schema, checked above as far as the API does.
        tool_schema.check_tool(where, tool)


def _tool_choice(choice: Any) -> None:
    if isinstance(choice, str):
        _enum("tool_choice", choice, TOOL_CHOICE_MODES)
        return
    _type("tool_choice", choice, dict, "one of a string or an object")
    kind = choice.get("type")
    if kind is None:
        raise invalid("tool_choice.type", "Missing required parameter: 'tool_choice.type'.",
                      "missing_required_parameter")
    _type("tool_choice.type", kind, str, "a string")
    if kind not in TOOL_CHOICE_TYPES:
        raise invalid("tool_choice.type", f"Invalid value: '{kind}'. Supported values are: "
                                          f"{_listing(list(TOOL_CHOICE_TYPES))}.")
    _required("tool_choice", choice, TOOL_CHOICE_TYPES[kind])
    if kind == "allowed_tools":
        _enum("tool_choice.mode", choice["mode"], ("auto", "required"))
        _type("tool_choice.tools", choice["tools"], list, "an array")
    tool_schema.check_tool_choice(choice)


def _prompt(prompt: Any) -> None:
    _type("prompt", prompt, dict, "an object")
    _required("prompt", prompt, ("id",))
    _type("prompt.id", prompt["id"], str, "a string")
    if prompt.get("version") is not None:
        _type("prompt.version", prompt["version"], str, "a string")
    if prompt.get("variables") is not None:
        _type("prompt.variables", prompt["variables"], dict, "an object")
    # Each variable is a string or an input part (text, image, file), as the spec has it.
    tool_schema.check_prompt(prompt)
