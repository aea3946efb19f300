"""Throwaway plugin: an implementation that does not subclass Endpoint and raises."""

from typing import Any

from mockllm import Registry, hookimpl


class Raising:
    def __init__(self, context: Any) -> None:
        self.context = context

    async def __call__(self, request: Any) -> Any:
        raise RuntimeError("plugin bug")


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(Raising)
