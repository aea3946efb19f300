"""Throwaway plugin: wraps openai.chat (whatever implements it) and adds a header."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mockllm import Registry, hookimpl


class Stamped:
    def __init__(self, context: Any, inner: Any) -> None:
        self.context = context
        self.inner = inner

    async def __call__(self, request: Request) -> Response:
        response: Response = await self.inner(request)
        seen = response.headers.get("x-wrapped", "")
        response.headers["x-wrapped"] = (seen + "," if seen else "") + "wrap_chat"
        return response


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.wrap("openai.chat")(Stamped)
