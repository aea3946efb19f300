"""The provider-neutral response engine: requests in, plans out."""

from mockllm.engine.engine import Engine
from mockllm.engine.plan import Choice, Plan, ToolCall
from mockllm.engine.request import Message, NeutralRequest, ToolDef

__all__ = ["Choice", "Engine", "Message", "NeutralRequest", "Plan", "ToolCall", "ToolDef"]
