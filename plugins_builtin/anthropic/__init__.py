"""Anthropic's API (``builtin.anthropic``): Messages, count_tokens and the model list.

One plugin, so ``--disable-plugin builtin.anthropic`` removes all three and any plugin can
override one key alone.
"""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl
from plugins_builtin.anthropic.endpoints import CountTokens, Messages, Models


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("anthropic.messages", path="/v1/messages", methods=["POST"])(Messages)
    registry.register(
        "anthropic.count_tokens", path="/v1/messages/count_tokens", methods=["POST"]
    )(CountTokens)
    # Same paths as openai.models; a request with ``anthropic-version`` is routed here.
    registry.register("anthropic.models", routes=[
        RouteSpec("/v1/models", ("GET",), when_header="anthropic-version"),
        RouteSpec("/v1/models/{model:path}", ("GET",), when_header="anthropic-version"),
    ])(Models)
