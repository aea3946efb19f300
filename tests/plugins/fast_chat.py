"""Throwaway plugin: a tryfirst override of openai.chat."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockllm import Endpoint, Registry, hookimpl


class FastChat(Endpoint):
    async def handle(self, request: Request) -> Response:
        return JSONResponse({"by": "fast"})


@hookimpl(tryfirst=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("openai.chat")(FastChat)
