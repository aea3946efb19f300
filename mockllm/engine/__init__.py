"""The provider-neutral response engine: requests in, plans out.

The names below are imported on first use, so importing one engine module (``schema`` for
the config structs, ``plan``) does not build the whole engine, and no cycle can form through
this package.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockllm.engine.engine import Engine
    from mockllm.engine.plan import Choice, Plan, ToolCall
    from mockllm.engine.request import Message, NeutralRequest, ToolDef

_LAZY = {
    "Choice": "mockllm.engine.plan",
    "Engine": "mockllm.engine.engine",
    "Message": "mockllm.engine.request",
    "NeutralRequest": "mockllm.engine.request",
    "Plan": "mockllm.engine.plan",
    "ToolCall": "mockllm.engine.plan",
    "ToolDef": "mockllm.engine.request",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        # ``from mockllm.engine import control`` (a submodule) still works: Python imports
        # submodules itself before asking here.
        raise AttributeError(f"module 'mockllm.engine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["Choice", "Engine", "Message", "NeutralRequest", "Plan", "ToolCall", "ToolDef"]
