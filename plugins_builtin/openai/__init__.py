"""The builtin OpenAI plugin (``builtin.openai``): chat, completions, embeddings, models and
the Responses API, one module each; :mod:`.wire` holds what they share, :mod:`.base` the
endpoint base (auth, decoding, strict mode, OpenAI's error envelope)."""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl

from .chat import Chat
from .completions import Completions
from .embeddings import Embeddings
from .models import Models
from .responses import Responses


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat", path="/v1/chat/completions", methods=["POST"])(Chat)
    registry.register("openai.completions", path="/v1/completions", methods=["POST"])(
        Completions)
    registry.register("openai.embeddings", path="/v1/embeddings", methods=["POST"])(Embeddings)
    registry.register("openai.responses", routes=[
        RouteSpec("/v1/responses", ("POST",)),
        RouteSpec("/v1/responses/{response_id}", ("GET", "DELETE")),
    ])(Responses)
    registry.register("openai.models", routes=[
        RouteSpec("/v1/models", ("GET",)), RouteSpec("/v1/models/{model:path}", ("GET",)),
    ])(Models)
