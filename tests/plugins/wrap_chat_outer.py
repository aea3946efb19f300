"""Throwaway plugin: a tryfirst wrapper of openai.chat (outermost of all wrappers)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mockllm import Registry, hookimpl


class Outer:
    def __init__(self, context: Any, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, request: Request) -> Response:
        response: Response = await self.inner(request)
        seen = response.headers.get("x-wrapped", "")
        response.headers["x-wrapped"] = (seen + "," if seen else "") + "outer"
        return response


@hookimpl(tryfirst=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.wrap("openai.chat")(Outer)
