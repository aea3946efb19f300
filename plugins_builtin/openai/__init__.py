"""The builtin OpenAI plugin (``builtin.openai``): chat, completions, embeddings, models and
the Responses API, one module each; :mod:`.wire` holds what they share."""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl

from .chat import Chat
from .models import Models


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat", path="/v1/chat/completions", methods=["POST"])(Chat)
    registry.register("openai.models", routes=[
        RouteSpec("/v1/models", ("GET",)), RouteSpec("/v1/models/{model:path}", ("GET",)),
    ])(Models)
