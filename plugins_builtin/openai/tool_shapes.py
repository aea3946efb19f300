"""Chat completions ``tools`` checked as the API checks them (``ChatCompletionTool`` and
``CustomToolChatCompletions`` in OpenAI's spec): ``type`` is ``function`` or ``custom``, a
function tool carries ``function`` with a ``name`` of at most 64 letters, digits, ``_`` or
``-``, and ``parameters`` is an object."""

from __future__ import annotations

import re

from .chat_schema import Tool
from .errors import invalid

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
MAX_NAME = 64


def check_name(where: str, name: str) -> None:
    if len(name) > MAX_NAME:
        raise invalid(where, f"Invalid '{where}': string too long. Expected a string with "
                             f"maximum length {MAX_NAME}, but got a string with length "
                             f"{len(name)} instead.", "string_above_max_length")
    if not _NAME.match(name):
        raise invalid(where, f"Invalid '{where}': string does not match pattern. Expected a "
                             "string that matches the pattern '^[a-zA-Z0-9_-]+$'.")


def check_chat_tools(tools: list[Tool]) -> None:
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        if tool.type not in ("function", "custom"):
            raise invalid(f"{where}.type", f"Invalid value: '{tool.type}'. Supported values "
                                           "are: 'function' and 'custom'.")
        if tool.type == "custom":
            if not isinstance(tool.custom, dict) or not isinstance(tool.custom.get("name"),
                                                                   str):
                raise invalid(f"{where}.custom.name", "Missing required parameter: "
                              f"'{where}.custom.name'.", "missing_required_parameter")
            continue
        fn = tool.function
        if fn is None:
            raise invalid(f"{where}.function", f"Missing required parameter: "
                                               f"'{where}.function'.",
                          "missing_required_parameter")
        check_name(f"{where}.function.name", fn.name)
